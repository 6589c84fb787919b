"""Stage 3 outputs: the text report, the HTML dashboard and the read-only query snapshot."""

from hypertrack_pipeline import publish
from hypertrack_pipeline.defs.factory import step_asset

final_report = step_asset(publish.REPORT_STEP)
wallet_dashboard = step_asset(publish.DASHBOARD_STEP)
warehouse_snapshot = step_asset(publish.SNAPSHOT_STEP)
