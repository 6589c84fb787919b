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
import math
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import ROUND_HALF_EVEN, Context, Decimal
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


# ``hypertrack sql`` runs whatever the user typed, so its connection is sandboxed by DuckDB itself:
# no file or network access beyond the database file (COPY TO, EXPORT, read_csv, ATTACH, httpfs…),
# no extension installs or autoloads, and the configuration locked so the query cannot SET it back.
# Given at connect time: DuckDB applies them before any statement and they cannot be changed later.
SANDBOX_CONFIG: dict[str, bool] = {
    "enable_external_access": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "allow_community_extensions": False,
    "lock_configuration": True,
}
SANDBOX_REFUSAL = "hypertrack sql is read-only and sandboxed: no file access, ATTACH, extensions or network"
# DuckDB errors that mean "the sandbox or read-only mode said no", not "your SQL is wrong"
_REFUSED_MARKERS = ("configuration has been locked", "read-only mode", "disabled by configuration",
                    "disabled through configuration")


def _no_warehouse(settings: Any) -> UserError:
    if Path(settings.warehouse_path).exists():  # the first build is still running: its snapshot comes at the end
        return UserError(f"the warehouse {settings.warehouse_path} has no published snapshot yet (the first build "
                         "is still running, or stopped before its end): queries read the snapshot, so they never "
                         "block or break a run; try again when `hypertrack materialize` has finished")
    return UserError(f"no warehouse at {settings.warehouse_path} yet: run `hypertrack demo` (simulated market) "
                     "or `hypertrack record` then `hypertrack materialize`")


def _connect_sandboxed(path: Path | str) -> duckdb.DuckDBPyConnection:
    """Open ``path`` read-only with :data:`SANDBOX_CONFIG`; one-line UserError when it cannot be opened."""
    try:
        return duckdb.connect(str(path), read_only=True, config=dict(SANDBOX_CONFIG))
    except duckdb.Error as exc:
        raise UserError(f"cannot open {path} read-only ({_first_line(exc)}); query the published snapshot "
                        "instead") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else repr(exc)


def _query_error(exc: duckdb.Error) -> UserError:
    """One line: ``refused: …`` when the sandbox or read-only mode blocked it, else DuckDB's message."""
    line = _first_line(exc)
    if isinstance(exc, duckdb.PermissionException) or any(m in line for m in _REFUSED_MARKERS):
        return UserError(f"refused: {SANDBOX_REFUSAL} ({line})")
    return UserError(line)


def run_query(path: Path | str, sql: str, max_rows: int | None = None) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Run the user's ``sql`` on a sandboxed read-only connection to ``path`` (a snapshot or an idle
    warehouse).

    Returns (column names, rows); at most ``max_rows`` rows when given. Bad SQL and a missing file
    raise UserError with DuckDB's message; a write, file, ATTACH, extension or network attempt
    raises UserError starting with ``refused:``.
    """
    if not Path(path).exists():
        raise UserError(f"database {path} does not exist")
    con = _connect_sandboxed(path)
    try:
        cur = con.execute(sql)
        if cur.description is None:
            return [], []
        columns = [d[0] for d in cur.description]
        rows = cur.fetchmany(max_rows) if max_rows is not None else cur.fetchall()
        return columns, rows
    except duckdb.Error as exc:
        raise _query_error(exc) from exc
    finally:
        con.close()


def query_warehouse(settings: Any, sql: str, max_rows: int | None = None) -> tuple[list[str], list[tuple[Any, ...]]]:
    """``hypertrack sql``: query the published snapshot (read-only and sandboxed). Never the warehouse file
    itself: even a read-only open takes a lock that makes the next run's writer fail, so a query could break
    a run. ``settings`` has ``snapshot_path`` and ``warehouse_path``."""
    path = Path(settings.snapshot_path)
    if not path.exists():
        raise _no_warehouse(settings)
    return run_query(path, sql, max_rows=max_rows)


# Table cells: floats keep this many significant digits (below 1) and at least two decimals (money);
# past MAX_PLACES decimals a value is float noise and shows as 0. CSV and JSON keep full precision.
SIGNIFICANT_DIGITS = 6
MAX_PLACES = 15
_WIDE = Context(prec=400)  # room for every digit of the largest double (1.8e308)


def format_table(columns: list[str], rows: list[tuple[Any, ...]], fmt: str = "table") -> str:
    """Render a query result as an aligned text table, CSV or JSON (a list of objects).

    The table is for reading: numbers right-aligned with thousands separators, never in scientific
    notation. CSV and JSON are for programs: full precision, no separators (NaN/inf become JSON null,
    which JSON has no literal for).
    """
    if fmt == "json":
        return json.dumps([{c: _json_value(v) for c, v in zip(columns, r, strict=True)} for r in rows],
                          default=str, indent=1, allow_nan=False)
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


def _json_value(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else value


def _numeric(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def _cell(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return format_float(value)
    if isinstance(value, Decimal):  # DuckDB DECIMAL: exact, keeps its own scale
        return f"{value:,f}" if value.is_finite() else str(value)
    return str(value)


def format_float(value: float) -> str:
    """A float for people: ``1,217,060.53``, ``3.14159``, ``0.000123``; never ``1.21706e+06``.

    Digits come from the shortest repr (no binary-expansion noise); values of 1 and more keep at least
    two decimals, smaller ones ``SIGNIFICANT_DIGITS`` significant digits; trailing zeros are dropped.
    """
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    exact = Decimal(repr(value))
    if exact == 0:
        return "0"
    top = exact.adjusted()  # the power of ten of the leading digit
    places = max(2, SIGNIFICANT_DIGITS - 1 - top) if top >= 0 else min(SIGNIFICANT_DIGITS - 1 - top, MAX_PLACES)
    rounded = exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN, context=_WIDE)
    if rounded == 0:
        return "0"
    text = f"{rounded:,f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


@contextmanager
def open_for_reading(settings: Any) -> Iterator[duckdb.DuckDBPyConnection]:
    """A short-lived read-only, sandboxed connection to the published snapshot for CLI commands: the same
    guarantees as ``hypertrack sql`` wherever a CLI command reads the warehouse (never the live file)."""
    path = Path(settings.snapshot_path)
    if not path.exists():
        raise _no_warehouse(settings)
    con = _connect_sandboxed(path)
    try:
        yield con
    finally:
        con.close()
