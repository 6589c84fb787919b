"""Stage 2 entry: closed landing hours loaded into the DuckDB raw tables (one op, the tables and views of
the dataset registry as assets, one partition per closed hour). A run loads its whole partition range
in one transaction and reports each hour's rows and the fingerprint of its markers as the partition's
data version, which is how the plan knows what the warehouse holds."""


from collections.abc import Iterator

import dagster as dg
from dagster_duckdb import DuckDBResource

from hypertrack_pipeline.datasets import RAW_TABLES
from hypertrack_pipeline.defs.factory import table_spec_metadata
from hypertrack_pipeline.defs.partitions import hours_of, landing_hours
from hypertrack_pipeline.defs.resources import WAREHOUSE_POOL, HypertrackSettings
from hypertrack_pipeline.landing.zone import closed_hour_fingerprints
from hypertrack_pipeline.warehouse import ensure_schema, load_hours

RAW_GROUP = "warehouse_raw"


@dg.multi_asset(
    specs=[dg.AssetSpec(t.name, description=t.description, group_name=RAW_GROUP, kinds={"duckdb"},
                        metadata=table_spec_metadata(t), skippable=True) for t in RAW_TABLES],
    partitions_def=landing_hours,
    backfill_policy=dg.BackfillPolicy.single_run(),  # a range of hours loads in one process
    pool=WAREHOUSE_POOL,
)
def raw_hour_tables(context: dg.AssetExecutionContext, hypertrack: HypertrackSettings,
                    duckdb: DuckDBResource) -> Iterator[dg.AssetMaterialization]:
    """Replace the rows of the run's hours in every raw table from the landing Parquet."""
    settings = hypertrack.get()
    hours = hours_of(context)
    prints = {h.key: fp for h, fp in closed_hour_fingerprints(settings.raw_dir).items()}
    context.log.info(f"loading {len(hours)} hour(s): {hours[0].key} … {hours[-1].key}")
    with duckdb.get_connection() as con:
        ensure_schema(con)
        loaded = load_hours(con, settings.raw_dir, hours, fingerprints=prints)
        per_hour = {t.name: dict(con.execute(
            f"SELECT strftime(hour, '%Y-%m-%d-%H:00'), count(*) FROM {t.name} "
            f"WHERE hour BETWEEN ?::TIMESTAMP AND ?::TIMESTAMP GROUP BY 1",
            [hours[0].start.replace(tzinfo=None), hours[-1].start.replace(tzinfo=None)]).fetchall())
            for t in RAW_TABLES}
    context.log.info(f"loaded {sum(loaded.values()):,} rows: " + ", ".join(f"{k} {v:,}" for k, v in loaded.items()))
    for h in hours:
        for t in RAW_TABLES:
            yield dg.AssetMaterialization(
                asset_key=t.name, partition=h.key,
                metadata={"dagster/row_count": dg.MetadataValue.int(int(per_hour[t.name].get(h.key, 0)))},
                tags={"dagster/data_version": prints.get(h.key, "")},
            )
