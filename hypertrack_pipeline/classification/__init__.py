"""Wallet classification: SPEC §10 rules, Kirilenko classes, wash trades, cohorts, and the report text.

Light to import (no torch, no DuckDB at import time): DuckDB is only used through a connection the
caller passes in.
"""

from hypertrack_pipeline.classification.archetypes import (
    ARCHETYPE_CATEGORIES,
    ARCHETYPE_EXCLUSIONS,
    UNSCORED_ARCHETYPES,
    archetype_predictions,
)
from hypertrack_pipeline.classification.report import ReportRow, render_final_report
from hypertrack_pipeline.classification.rules import CATEGORY_NAMES, classify_wallet
from hypertrack_pipeline.classification.store import (
    categorize_wallets,
    labels_by_wallet,
    report_rows,
    write_final_report,
)
from hypertrack_pipeline.classification.thresholds import Thresholds

__all__ = [
    "ARCHETYPE_CATEGORIES",
    "ARCHETYPE_EXCLUSIONS",
    "CATEGORY_NAMES",
    "UNSCORED_ARCHETYPES",
    "ReportRow",
    "Thresholds",
    "archetype_predictions",
    "categorize_wallets",
    "classify_wallet",
    "labels_by_wallet",
    "render_final_report",
    "report_rows",
    "write_final_report",
]
