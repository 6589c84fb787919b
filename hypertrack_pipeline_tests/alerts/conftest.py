"""Alert fixtures: warehouse tables filled through their declarations, and a real local webhook server."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import duckdb
import pytest

from hypertrack_pipeline.catalog import Table
from hypertrack_pipeline.config import Settings

W1, W2, W3 = "0x" + "1" * 40, "0x" + "2" * 40, "0x" + "3" * 40
H0 = datetime(2026, 3, 2, 10)  # a data hour (UTC, naive as DuckDB TIMESTAMP)
_DEFAULTS = {"VARCHAR": "", "DOUBLE": 0.0, "BIGINT": 0, "INTEGER": 0, "BOOLEAN": False, "TIMESTAMP": H0}


def fill(con: duckdb.DuckDBPyConnection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Replace ``table`` (created from its declaration) with ``rows``; NOT NULL columns a row leaves out get
    a neutral value, so a test names only what the rule reads — and a misspelt column fails."""
    con.execute(f"DROP TABLE IF EXISTS {table.name}")
    con.execute(table.ddl())
    names = table.column_names()
    for row in rows:
        unknown = set(row) - set(names)
        assert not unknown, f"{table.name} has no column(s) {unknown}"
        values = [row.get(c.name, _DEFAULTS[c.base_type] if "NOT NULL" in c.type else None) for c in table.columns]
        con.execute(f"INSERT INTO {table.name} VALUES ({', '.join('?' * len(values))})", values)


def set_positions(con: duckdb.DuckDBPyConnection, hour: datetime, rows: list[tuple[str, str, float, float]]) -> None:
    """wallet_positions as of the end of ``hour`` ((wallet, coin, signed size, mark) rows) and the hourly curve
    whose newest hour is ``hour``."""
    from hypertrack_pipeline.warehouse.pnl import PNL_HOURLY_TABLE, POSITIONS_TABLE

    fill(con, POSITIONS_TABLE, [{"wallet": w, "coin": c, "position": s, "avg_cost": m, "last_mid": m}
                                for w, c, s, m in rows])
    fill(con, PNL_HOURLY_TABLE, [{"wallet": W1, "hour": hour}])


def set_categories(con: duckdb.DuckDBPyConnection, rows: dict[str, list[tuple[str, float]]]) -> None:
    from hypertrack_pipeline.classification.store import CATEGORIES_TABLE

    fill(con, CATEGORIES_TABLE, [{"wallet": w, "categories": json.dumps([list(c) for c in cats])}
                                 for w, cats in rows.items()])


class Hook:
    """What the local webhook received, and the answers it gives first (then 200 to everything)."""

    def __init__(self) -> None:
        self.script: list[tuple[int, dict[str, str]] | tuple[int, dict[str, str], bytes]] = []
        self.requests = 0
        self.accepted: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.url = ""

    def ids(self) -> list[str]:
        return [b["hypertrack"]["alert_id"] for b in self.accepted]


@pytest.fixture
def hook() -> Iterator[Hook]:
    """A real HTTP server on 127.0.0.1 in a thread, speaking like a Slack incoming webhook."""
    state = Hook()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with state.lock:
                state.requests += 1
                status, headers, *rest = state.script.pop(0) if state.script else (200, {})
                if status < 300:
                    state.accepted.append(json.loads(body))
            answer = rest[0] if rest else b"ok" if status < 300 else b"server says no"
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/services/T0/B0/secret-token"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def dead_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/services/T0/B0/secret-token"


def hours(n: int) -> timedelta:
    return timedelta(hours=n)


BIG = [(W1, "BTC", 30.0, 60_000.0), (W2, "ETH", -500.0, 3_000.0), (W3, "SOL", 10_000.0, 150.0)]


def refresh(settings: Settings, hour: datetime, positions: list[tuple[str, str, float, float]]) -> None:
    """One refresh as the pipeline does it: the alerts step on the warehouse, then the snapshot published."""
    from hypertrack_pipeline.alerts.rules import AlertThresholds, evaluate_alerts
    from hypertrack_pipeline.warehouse.query import publish_snapshot

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(settings.warehouse_path))
    try:
        set_positions(con, hour, positions)
        set_categories(con, {})
        evaluate_alerts(con, AlertThresholds())
        publish_snapshot(settings.warehouse_path, settings.snapshot_path, con=con)
    finally:
        con.close()
