"""The analysis window shared by PnL and features: [start_ms, end_ms) in exchange epoch ms."""

from __future__ import annotations

from hypertrack_pipeline.errors import UserError


def window_sql(start_ms: int | None, end_ms: int | None, column: str = "time_ms") -> str:
    """A SQL predicate on ``column`` (always valid SQL; ``TRUE`` for the default all-data window)."""
    if start_ms is not None and end_ms is not None and end_ms <= start_ms:
        raise UserError(f"empty window: end_ms {end_ms} <= start_ms {start_ms}")
    parts = []
    if start_ms is not None:
        parts.append(f"{column} >= {int(start_ms)}")
    if end_ms is not None:
        parts.append(f"{column} < {int(end_ms)}")
    return " AND ".join(parts) if parts else "TRUE"


def check_identifier(name: str) -> str:
    """Table names/prefixes are spliced into SQL: allow only plain identifiers."""
    if name and not name.replace("_", "").isalnum():
        raise UserError(f"invalid table name or prefix {name!r}: use letters, digits and _")
    return name


def feature_window(con, hours: float | None) -> tuple[int | None, int | None]:
    """(start_ms, end_ms) of the last ``hours`` of recorded fills; (None, None) = all data when
    ``hours`` is 0/None or nothing is loaded. ``con`` is a DuckDB connection."""
    if not hours or hours <= 0:
        return None, None
    last = con.execute("SELECT max(time_ms) FROM trades").fetchall()[0][0]
    if last is None:
        return None, None
    end = int(last) + 1
    return end - int(round(hours * 3_600_000)), end
