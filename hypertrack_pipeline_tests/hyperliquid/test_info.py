"""The Info client against a local HTTP server answering with the real captured responses."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from hypertrack_pipeline.errors import UserError
from hypertrack_pipeline.hyperliquid.info import InfoClient


@pytest.fixture
def info_server(hl_fixtures: Path) -> Iterator[tuple[str, list[dict]]]:
    meta = json.loads((hl_fixtures / "info" / "test_get_info__meta.json").read_text())["response"]
    meta["universe"].append({"name": "DEAD", "szDecimals": 1, "maxLeverage": 3, "isDelisted": True})
    candles = json.loads((hl_fixtures / "info" / "test_get_candles_snapshot__candleSnapshot.json").read_text())
    seen: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            seen.append(body)
            answer = meta if body.get("type") == "meta" else candles["response"]
            raw = json.dumps(answer).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/info", seen
    server.shutdown()


def test_perp_coins_skip_delisted(info_server: tuple[str, list[dict]]) -> None:
    url, seen = info_server
    coins = InfoClient(url).perp_coins()
    assert coins[:3] == ["BTC", "ETH", "ATOM"] and "kPEPE" in coins
    assert "DEAD" not in coins and len(coins) == 28
    assert seen == [{"type": "meta"}]


def test_candle_snapshot_request_shape(info_server: tuple[str, list[dict]]) -> None:
    url, seen = info_server
    out = InfoClient(url).candle_snapshot("kPEPE", "1h", 1684702007000, 1684784807000)
    assert out and out[0]["s"] == "kPEPE"
    assert seen[-1] == {"type": "candleSnapshot", "req": {"coin": "kPEPE", "interval": "1h",
                                                           "startTime": 1684702007000, "endTime": 1684784807000}}


def test_unreachable_endpoint_is_a_user_error_with_masked_url() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/info/abcdefghijklmnopqrstuvwxyz123456"
    with pytest.raises(UserError) as info:
        InfoClient(url, timeout_s=2).perp_coins()
    assert "cannot reach info endpoint" in str(info.value)
    assert "abcdefghijklmnop" not in str(info.value)
