"""Stage 2 entry: each closed landing hour loaded into the DuckDB raw tables (one op, eight tables and
the fills view over trades, nine assets)."""


import dagster as dg
from dagster_duckdb import DuckDBResource

from hypertrack_pipeline.defs.partitions import hourly_partitions, hours_in
from hypertrack_pipeline.defs.resources import WAREHOUSE_POOL, HypertrackSettings
from hypertrack_pipeline.warehouse import RAW_TABLE_DESCRIPTIONS, ensure_schema, load_hours

RAW_TABLES: tuple[str, ...] = tuple(RAW_TABLE_DESCRIPTIONS)


@dg.multi_asset(
    specs=[
        dg.AssetSpec(name, description=desc, group_name="warehouse_raw", kinds={"duckdb"})
        for name, desc in RAW_TABLE_DESCRIPTIONS.items()
    ],
    partitions_def=hourly_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),  # a backfilled range loads in one process
    pool=WAREHOUSE_POOL,
)
def raw_hour_tables(
    context: dg.AssetExecutionContext, hypertrack: HypertrackSettings, duckdb: DuckDBResource
):
    """Replace the rows of the partition's hour(s) in every raw table from the landing Parquet."""
    settings = hypertrack.get()
    hours = hours_in(context.partition_time_window)
    with duckdb.get_connection() as con:
        ensure_schema(con)
        loaded = load_hours(con, settings.raw_dir, [h.start for h in hours])
        totals = {t: con.execute(f"select count(*) from {t}").fetchall()[0][0] for t in RAW_TABLES}
    context.log.info(f"loaded {len(hours)} hour(s): {loaded}")
    for table in RAW_TABLES:
        yield dg.MaterializeResult(
            asset_key=table,
            metadata={
                "rows_loaded": dg.MetadataValue.int(int(loaded.get(table, 0))),
                "table_rows": dg.MetadataValue.int(int(totals[table])),
                "hours": dg.MetadataValue.text(f"{hours[0].key} … {hours[-1].key}" if len(hours) > 1
                                               else hours[0].key),
            },
        )
