"""The query path while the pipeline runs (SPEC §6).

DuckDB allows one writing process per file, and a read-only open fails while a writer holds it.
So the writer publishes a snapshot: it copies the database through ``COPY FROM DATABASE`` into a
temporary file next to the snapshot (one statement: a consistent view) and renames it over the
snapshot. Readers open the snapshot read-only with short-lived connections and never block a run.
"""

from __future__ import annotations

import csv
import io
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from hypertrack_pipeline.errors import UserError


def _quote(path: Path | str) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def publish_snapshot(db_path: Path | str, snapshot_path: Path | str,
                     con: duckdb.DuckDBPyConnection | None = None) -> dict:
    """Atomically replace ``snapshot_path`` with a consistent copy of the warehouse at ``db_path``.

    Pass the writer's open connection as ``con`` when called from inside a run; otherwise the file
    is opened (read-only) for the copy. Returns metadata: path, size_bytes, tables, seconds.
    """
    t0 = time.perf_counter()
    snapshot = Path(snapshot_path)
    snapshot.parent.mkdir(parents=True, exist_ok=True)
    tmp = snapshot.with_name(f".{snapshot.name}.{os.getpid()}.tmp")
    for leftover in (tmp, Path(f"{tmp}.wal")):
        leftover.unlink(missing_ok=True)
    own = con is None
    if own:
        if not Path(db_path).exists():
            raise UserError(f"warehouse {db_path} does not exist")
        con = duckdb.connect()  # in-memory host: the warehouse attached read-only, the copy writable
        try:
            con.execute(f"ATTACH {_quote(db_path)} AS hypertrack_source (READ_ONLY)")
        except duckdb.Error as exc:
            con.close()
            raise UserError(f"cannot open {db_path} ({exc}); publish from the writer's connection") from exc
    try:
        source = "hypertrack_source" if own else con.execute("SELECT current_database()").fetchall()[0][0]
        con.execute(f"ATTACH {_quote(tmp)} AS hypertrack_snapshot")
        try:
            con.execute(f'COPY FROM DATABASE "{source}" TO hypertrack_snapshot')
            tables = con.execute(  # tables and views (fills is a view)
                "SELECT (SELECT count(*) FROM duckdb_tables() WHERE database_name = 'hypertrack_snapshot') + "
                "(SELECT count(*) FROM duckdb_views() WHERE database_name = 'hypertrack_snapshot' AND NOT internal)"
            ).fetchall()[0][0]
        finally:
            con.execute("DETACH hypertrack_snapshot")
    finally:
        if own:
            con.close()
    os.replace(tmp, snapshot)
    return {"path": str(snapshot), "size_bytes": snapshot.stat().st_size, "tables": int(tables),
            "seconds": round(time.perf_counter() - t0, 3)}


def run_query(path: Path | str, sql: str, max_rows: int | None = None) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Run ``sql`` on a read-only connection to ``path`` (a snapshot or an idle warehouse).

    Returns (column names, rows); at most ``max_rows`` rows when given. Bad SQL, a missing file or a
    write attempt raise UserError with DuckDB's message.
    """
    if not Path(path).exists():
        raise UserError(f"database {path} does not exist")
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        raise UserError(f"cannot open {path} read-only ({exc}); query the published snapshot instead") from exc
    try:
        cur = con.execute(sql)
        if cur.description is None:
            return [], []
        columns = [d[0] for d in cur.description]
        rows = cur.fetchmany(max_rows) if max_rows is not None else cur.fetchall()
        return columns, rows
    except duckdb.Error as exc:
        raise UserError(str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)) from exc
    finally:
        con.close()


def query_warehouse(settings: Any, sql: str, max_rows: int | None = None) -> tuple[list[str], list[tuple[Any, ...]]]:
    """``hypertrack sql``: query the published snapshot when there is one, else the warehouse file
    (read-only either way). ``settings`` has ``snapshot_path`` and ``warehouse_path``."""
    for path in (Path(settings.snapshot_path), Path(settings.warehouse_path)):
        if path.exists():
            return run_query(path, sql, max_rows=max_rows)
    raise UserError(f"no warehouse at {settings.warehouse_path} yet (load some data first)")


def format_table(columns: list[str], rows: list[tuple[Any, ...]], fmt: str = "table") -> str:
    """Render a query result as an aligned text table, CSV or JSON (a list of objects)."""
    if fmt == "json":
        return json.dumps([dict(zip(columns, r, strict=True)) for r in rows], default=str, indent=1)
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(rows)
        return buf.getvalue().rstrip("\n")
    if fmt != "table":
        raise UserError(f"unknown format {fmt!r}: use table, csv or json")
    cells = [[_cell(v) for v in r] for r in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    line = "  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(v.rjust(w) if _numeric(r0) else v.ljust(w) for v, w, r0 in zip(r, widths, raw, strict=True))
            for r, raw in zip(cells, rows, strict=True)]
    out.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(out)


def _numeric(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _cell(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


@contextmanager
def open_for_reading(settings: Any) -> Iterator[duckdb.DuckDBPyConnection]:
    """A short-lived read-only connection to the snapshot (else the warehouse) for CLI commands."""
    for path in (Path(settings.snapshot_path), Path(settings.warehouse_path)):
        if path.exists():
            try:
                con = duckdb.connect(str(path), read_only=True)
            except duckdb.Error as exc:
                raise UserError(f"cannot open {path}: {str(exc).splitlines()[0]}") from None
            try:
                yield con
            finally:
                con.close()
            return
    raise UserError(f"no warehouse at {settings.warehouse_path} yet (load some data first)")
