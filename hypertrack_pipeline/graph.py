"""The pipeline as data: every warehouse table and every step, collected from the domain modules that
declare them. The Dagster layer builds its assets from ``STEPS`` and ``RAW_TABLES``; the plan sees
``plan_nodes()``; the data dictionary is ``all_tables()``. No Dagster here.
"""

from __future__ import annotations

from hypertrack_pipeline import publish
from hypertrack_pipeline.alerts import rules as alerts
from hypertrack_pipeline.catalog import Step, Table
from hypertrack_pipeline.classification import store as categories
from hypertrack_pipeline.datasets import RAW_TABLES
from hypertrack_pipeline.ml import steps as ml_steps
from hypertrack_pipeline.ml import targets, windows
from hypertrack_pipeline.plan import Node
from hypertrack_pipeline.warehouse import partials, pnl, reconcile, tracked, trader_views
from hypertrack_pipeline.warehouse.schema import INTERNAL_TABLES

# In dependency order (the plan sorts anyway): hourly analysis, the retrain chain, scoring, outputs.
STEPS: tuple[Step, ...] = (
    pnl.STEP,
    reconcile.STEP,
    partials.STEP,
    windows.WINDOW_STEP,
    windows.EARLY_STEP,
    windows.LATE_STEP,
    targets.STEP,
    ml_steps.MODEL_STEP,
    ml_steps.SCORES_STEP,
    categories.STEP,
    trader_views.STEP,
    tracked.STEP,
    alerts.STEP,
    publish.REPORT_STEP,
    publish.DASHBOARD_STEP,
    publish.SNAPSHOT_STEP,
)

RAW_ASSETS: tuple[str, ...] = tuple(t.name for t in RAW_TABLES)


def all_tables() -> tuple[Table, ...]:
    """Every table and view a full run leaves in the warehouse (raw, derived, internal)."""
    return (*RAW_TABLES, *(t for s in STEPS for t in s.writes), *INTERNAL_TABLES)


def table(name: str) -> Table:
    for t in all_tables():
        if t.name == name:
            return t
    raise KeyError(name)


def producer(asset: str) -> Step | None:
    """The step that materializes ``asset`` (None for raw tables, which the hourly loads write)."""
    for s in STEPS:
        if asset in s.outputs:
            return s
    return None


def plan_nodes() -> list[Node]:
    """One plan node per asset: raw tables (loaded per hour) and every step output with its inputs."""
    nodes = [Node(name, (), raw=True) for name in RAW_ASSETS]
    for s in STEPS:
        for out in s.outputs:
            nodes.append(Node(out, s.reads, training=s.training))
    return nodes


def check_graph() -> None:
    """Every step reads only assets that exist (raw tables or another step's outputs)."""
    known = set(RAW_ASSETS) | {o for s in STEPS for o in s.outputs}
    for s in STEPS:
        unknown = [r for r in s.reads if r not in known]
        if unknown:
            raise ValueError(f"step {s.name} reads unknown asset(s) {unknown}")
