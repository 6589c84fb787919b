"""Stage 3 outputs: the text report, the HTML dashboard and the read-only query snapshot."""


from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from hypertrack_pipeline.defs.metadata import to_metadata
from hypertrack_pipeline.defs.resources import WAREHOUSE_POOL, HypertrackSettings

GROUP = "outputs"
README = Path(__file__).resolve().parents[2] / "README.md"


@dg.asset(deps=["wallet_categories", "wallet_scores", "wallet_features"], group_name=GROUP,
          kinds={"text"}, pool=WAREHOUSE_POOL)
def final_report(hypertrack: HypertrackSettings, duckdb: DuckDBResource) -> dg.MaterializeResult:
    """data/reports/final_report.txt in the SPEC §11 layout."""
    from hypertrack_pipeline.classification import write_final_report

    settings = hypertrack.get()
    path = settings.reports_dir / "final_report.txt"
    with duckdb.get_connection() as con:
        info = write_final_report(con, path, generated_at=datetime.now(UTC))
    head = "\n".join(path.read_text().splitlines()[:20])
    return dg.MaterializeResult(
        metadata={**to_metadata(info), "path": dg.MetadataValue.path(str(path)),
                  "head": dg.MetadataValue.md(f"```\n{head}\n```")}
    )


@dg.asset(deps=["wallet_categories", "wallet_scores", "wallet_pnl", "wallet_pnl_hourly", "wallet_positions",
                "wallet_features", "wallet_model"], group_name=GROUP, kinds={"html"}, pool=WAREHOUSE_POOL)
def wallet_dashboard(hypertrack: HypertrackSettings, duckdb: DuckDBResource) -> dg.MaterializeResult:
    """data/reports/wallet_dashboard.html: one self-contained offline page."""
    from hypertrack_pipeline.dashboard import write_dashboard
    from hypertrack_pipeline.evaluation import model_summary

    settings = hypertrack.get()
    path = settings.reports_dir / "wallet_dashboard.html"
    with duckdb.get_connection() as con:
        info = write_dashboard(con, path, README, model_info=model_summary(settings))
    return dg.MaterializeResult(metadata={**to_metadata(info), "path": dg.MetadataValue.path(str(path))})


@dg.asset(deps=["final_report", "wallet_dashboard"], group_name=GROUP, kinds={"duckdb"}, pool=WAREHOUSE_POOL)
def warehouse_snapshot(hypertrack: HypertrackSettings) -> dg.MaterializeResult:
    """Publish a consistent read-only copy of the warehouse for `hypertrack sql` and notebooks,
    so a reader never blocks or breaks a run and never sees half a partition."""
    from hypertrack_pipeline.warehouse import publish_snapshot

    settings = hypertrack.get()
    info = publish_snapshot(settings.warehouse_path, settings.snapshot_path)
    return dg.MaterializeResult(metadata={**to_metadata(info), "path": dg.MetadataValue.path(
        str(settings.snapshot_path))})
