"""Stage 3 presentation: the offline wallet dashboard (one self-contained HTML file).

Light on import: the heavy modules (duckdb, jinja2, markdown) load only when a function is called.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["build_dashboard_payload", "render_dashboard", "write_dashboard", "open_in_browser"]


def build_dashboard_payload(con: Any, model_info: dict | None = None, **kwargs: Any) -> dict:
    """See :func:`hypertrack_pipeline.dashboard.payload.build_dashboard_payload`."""
    from hypertrack_pipeline.dashboard.payload import build_dashboard_payload as build

    return build(con, model_info, **kwargs)


def render_dashboard(payload: dict, readme_markdown: str, out_path: Path) -> dict:
    """See :func:`hypertrack_pipeline.dashboard.render.render_dashboard`."""
    from hypertrack_pipeline.dashboard.render import render_dashboard as render

    return render(payload, readme_markdown, out_path)


def write_dashboard(
    con: Any, out_path: Path, readme_path: Path | None, model_info: dict | None = None
) -> dict:
    """See :func:`hypertrack_pipeline.dashboard.render.write_dashboard`."""
    from hypertrack_pipeline.dashboard.render import write_dashboard as write

    return write(con, out_path, readme_path, model_info)


def open_in_browser(path: Path) -> bool:
    """See :func:`hypertrack_pipeline.dashboard.render.open_in_browser`."""
    from hypertrack_pipeline.dashboard.render import open_in_browser as open_

    return open_(path)
