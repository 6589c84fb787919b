"""Turn what a domain function returns into Dagster metadata (scalars kept, tables as markdown)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg

from hypertrack_pipeline.warehouse.checks import markdown_table


def to_metadata(values: Mapping[str, Any] | None) -> dict[str, dg.MetadataValue]:
    out: dict[str, dg.MetadataValue] = {}
    for key, value in (values or {}).items():
        if isinstance(value, bool):
            out[key] = dg.MetadataValue.bool(value)
        elif isinstance(value, int):
            out[key] = dg.MetadataValue.int(value)
        elif isinstance(value, float):
            out[key] = dg.MetadataValue.float(value)
        elif isinstance(value, str):
            is_md = value.lstrip().startswith("|") or "\n" in value
            out[key] = dg.MetadataValue.md(value) if is_md else dg.MetadataValue.text(value)
        elif isinstance(value, Mapping | list | tuple):
            out[key] = dg.MetadataValue.json(value)
        elif value is not None:
            out[key] = dg.MetadataValue.text(str(value))
    return out


def preview(con, table: str, limit: int = 10) -> dg.MetadataValue:
    """First rows of a table as a markdown table (the asset page's preview)."""
    return dg.MetadataValue.md(markdown_table(con, f"select * from {table} limit {int(limit)}"))
