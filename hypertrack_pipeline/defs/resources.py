"""Resources: the settings of one data directory and the DuckDB warehouse connection."""

from __future__ import annotations

import dagster as dg
from dagster_duckdb import DuckDBResource

from hypertrack_pipeline.config import Settings, load_settings

# Every asset and check that opens the warehouse runs in this pool (limit 1 in dagster.yaml):
# DuckDB allows a single writer process.
WAREHOUSE_POOL = "duckdb_warehouse"


class HypertrackSettings(dg.ConfigurableResource):
    """Points the pipeline at one data directory; everything else derives from load_settings()."""

    data_dir: str

    def get(self) -> Settings:
        return load_settings(self.data_dir)


def build_resources(settings: Settings) -> dict[str, object]:
    return {
        "hypertrack": HypertrackSettings(data_dir=str(settings.data_dir)),
        "duckdb": DuckDBResource(database=str(settings.warehouse_path)),
    }
