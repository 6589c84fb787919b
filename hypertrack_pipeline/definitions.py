"""The one Definitions object: everything in ``defs/`` (loaded from the folder, so a scaffolded
``dg scaffold defs dagster.asset x.py`` appears without editing a list), bound to the resources of one
data directory. `dg dev` / `dagster dev` load ``defs``; `hypertrack materialize` builds the same graph
for another data directory through :func:`build_definitions`.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg

import hypertrack_pipeline.defs
from hypertrack_pipeline.config import Settings, load_settings
from hypertrack_pipeline.defs.resources import build_resources


def build_definitions(settings: Settings | None = None) -> dg.Definitions:
    settings = settings or load_settings()
    return dg.Definitions.merge(
        # project_root given explicitly: an installed package (pip install .) has no pyproject.toml to find
        dg.load_defs(defs_root=hypertrack_pipeline.defs, project_root=Path(hypertrack_pipeline.__file__).parents[1]),
        dg.Definitions(resources=build_resources(settings)),
    )


defs = build_definitions()
