"""The one Definitions object: everything in ``defs/`` (loaded from the folder, so a scaffolded
``dg scaffold defs dagster.asset x.py`` appears without editing a list), bound to the resources of one
data directory. `dg dev` / `dagster dev` load ``defs``; `hypertrack materialize` builds the same graph
for another data directory through :func:`build_definitions`.
"""

from __future__ import annotations

import dagster as dg

import hypertrack_pipeline.defs
from hypertrack_pipeline.config import Settings, load_settings
from hypertrack_pipeline.defs.resources import build_resources


def build_definitions(settings: Settings | None = None) -> dg.Definitions:
    settings = settings or load_settings()
    return dg.Definitions.merge(
        dg.load_defs(defs_root=hypertrack_pipeline.defs),
        dg.Definitions(resources=build_resources(settings)),
    )


defs = build_definitions()
