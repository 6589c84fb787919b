"""Stage 3 steps: the text report, the HTML dashboard and the read-only query snapshot.

Declared like every other step (what each reads, what it writes) so the Dagster layer derives their
assets; the work itself is in ``classification`` (report), ``dashboard`` and ``warehouse.query``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hypertrack_pipeline.catalog import Step, StepContext

if TYPE_CHECKING:
    import duckdb

README = Path(__file__).resolve().parents[1] / "README.md"


def _report(con: duckdb.DuckDBPyConnection, ctx: StepContext) -> dict[str, Any]:
    from hypertrack_pipeline.classification import write_final_report

    path = ctx.settings.reports_dir / "final_report.txt"
    info = dict(write_final_report(con, path, generated_at=datetime.now(UTC)))
    head = "\n".join(path.read_text().splitlines()[:20])
    return {**info, "head": f"```\n{head}\n```"}


def _dashboard(con: duckdb.DuckDBPyConnection, ctx: StepContext) -> dict[str, Any]:
    from hypertrack_pipeline.dashboard import write_dashboard
    from hypertrack_pipeline.evaluation import model_summary

    path = ctx.settings.reports_dir / "wallet_dashboard.html"
    return {**write_dashboard(con, path, README, model_info=model_summary(ctx.settings)), "path": str(path)}


def _snapshot(con: duckdb.DuckDBPyConnection, ctx: StepContext) -> dict[str, Any]:
    from hypertrack_pipeline.warehouse import publish_snapshot

    return publish_snapshot(ctx.settings.warehouse_path, ctx.settings.snapshot_path, con=con)


REPORT_STEP = Step(
    name="final_report", asset="final_report", group="outputs", kinds=("text",), run=_report,
    description="data/reports/final_report.txt in the SPEC §11 layout.",
    reads=("wallet_features", "wallet_categories", "wallet_scores"),
)
DASHBOARD_STEP = Step(
    name="wallet_dashboard", asset="wallet_dashboard", group="outputs", kinds=("html",), run=_dashboard,
    description="data/reports/wallet_dashboard.html: one self-contained offline page (wallets, leaderboards, "
                "positioning by cohort, holders per coin).",
    reads=("wallet_categories", "wallet_scores", "wallet_pnl", "wallet_pnl_hourly", "wallet_positions",
           "wallet_features", "wallet_model", "leaderboards", "coin_positioning", "coin_holders"),
)
SNAPSHOT_STEP = Step(
    name="warehouse_snapshot", asset="warehouse_snapshot", group="outputs", kinds=("duckdb",), run=_snapshot,
    description="A consistent read-only copy of the warehouse for `hypertrack sql` and notebooks, published after "
                "the report and the dashboard, so a reader never blocks or breaks a run and never sees half a "
                "partition (the alert sensor reads the alerts from it too).",
    reads=("final_report", "wallet_dashboard", "alerts"),
)
