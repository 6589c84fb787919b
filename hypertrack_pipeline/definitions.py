"""The one Definitions object: every asset, check, job, sensor and schedule, bound to resources.

`dagster dev` / `dg dev` load ``defs``; `hypertrack materialize` builds the same graph for another
data directory through :func:`build_definitions`.
"""

from __future__ import annotations

import dagster as dg

from hypertrack_pipeline.config import Settings, load_settings
from hypertrack_pipeline.defs import automation, checks, outputs, raw, wallets
from hypertrack_pipeline.defs.resources import build_resources


def build_definitions(settings: Settings | None = None) -> dg.Definitions:
    settings = settings or load_settings()
    return dg.Definitions(
        assets=dg.load_assets_from_modules([raw, wallets, outputs]),
        asset_checks=dg.load_asset_checks_from_modules([checks]),
        jobs=[automation.load_landed_hours, automation.analyze_wallets, automation.retrain_and_report,
              automation.materialize_all],
        sensors=[automation.landing_sensor, automation.analysis_sensor],
        schedules=[automation.daily_retrain],
        resources=build_resources(settings),
    )


defs = build_definitions()
