"""Stage 2 entry: closed landing hours loaded into the DuckDB raw tables (one op, the tables and views of
the dataset registry as assets, one partition per closed hour). A run loads its whole partition range
in one transaction and reports each hour's rows and the fingerprint of its markers as the partition's
data version, which is how the plan knows what the warehouse holds."""


from collections.abc import Iterator

import dagster as dg
from dagster_duckdb import DuckDBResource

from hypertrack_pipeline import objectstore
from hypertrack_pipeline.datasets import RAW_TABLES
from hypertrack_pipeline.defs.factory import table_spec_metadata
from hypertrack_pipeline.defs.metadata import to_metadata
from hypertrack_pipeline.defs.partitions import hours_of, landing_hours
from hypertrack_pipeline.defs.resources import WAREHOUSE_POOL, HypertrackSettings
from hypertrack_pipeline.landing.zone import hour_fingerprint
from hypertrack_pipeline.warehouse import checks as wh
from hypertrack_pipeline.warehouse import ensure_schema, load_hours
from hypertrack_pipeline.warehouse.schema import RAW_TABLES as RAW_TABLE_NAMES

# The raw tables' checks, run by the load on its own connection right after the hours are loaded (checks
# in separate ops would be skipped: the load reports per-hour materializations instead of one output).
RAW_CHECKS = {
    "landing_files_ok": ("trades", "every landing part of the loaded hours was readable and matches its _SUCCESS "
                         "marker (missing parts, row counts); quarantined files listed", wh.check_landing_files, ()),
    "trades_unique_ids": ("trades", "(coin, time_ms, tid) is unique", wh.check_unique_trade_ids, ()),
    "raw_schema": ("trades", "every raw table has the declared columns and types", wh.check_schema,
                   (list(RAW_TABLE_NAMES),)),
    "fills_two_per_trade": ("fills", "count(fills) = 2 × count(trades)", wh.check_fills_match_trades, ()),
    "no_null_keys": ("fills", "no NULL key in any raw table", wh.check_no_null_keys, ()),
    "candle_coverage": ("candles", "share of fills whose minute has a completed candle (≥ 90%)",
                        wh.check_candle_coverage, ()),
    "gaps_reported": ("gaps", "recorded gaps per stream; fails when one covers > 5% of the time span",
                      wh.check_gaps, ()),
}

RAW_GROUP = "warehouse_raw"


@dg.multi_asset(
    specs=[dg.AssetSpec(t.name, description=t.description, group_name=RAW_GROUP, kinds={"duckdb"},
                        metadata=table_spec_metadata(t), skippable=True) for t in RAW_TABLES],
    check_specs=[dg.AssetCheckSpec(name, asset=asset, description=desc)
                 for name, (asset, desc, _fn, _args) in RAW_CHECKS.items()],
    partitions_def=landing_hours,
    backfill_policy=dg.BackfillPolicy.single_run(),  # a range of hours loads in one process
    pool=WAREHOUSE_POOL,
)
def raw_hour_tables(context: dg.AssetExecutionContext, hypertrack: HypertrackSettings,
                    duckdb: DuckDBResource) -> Iterator[dg.AssetMaterialization | dg.AssetCheckResult]:
    """Replace the rows of the run's hours in every raw table from the landing Parquet."""
    settings = hypertrack.get()
    hours = hours_of(context)
    prints = {h.key: fp for h in hours if (fp := hour_fingerprint(settings.landing_location, h)) is not None}
    context.log.info(f"loading {len(hours)} hour(s): {hours[0].key} … {hours[-1].key}")
    with duckdb.get_connection() as con:
        ensure_schema(con)
        objectstore.attach(con, settings.landing_location)  # s3:// landing (cluster mode): read through s3fs
        problems: list = []
        loaded = load_hours(con, settings.landing_location, hours, fingerprints=prints, problems=problems)
        per_hour = {t.name: dict(con.execute(
            f"SELECT strftime(hour, '%Y-%m-%d-%H:00'), count(*) FROM {t.name} "
            f"WHERE hour BETWEEN ?::TIMESTAMP AND ?::TIMESTAMP GROUP BY 1",
            [hours[0].start.replace(tzinfo=None), hours[-1].start.replace(tzinfo=None)]).fetchall())
            for t in RAW_TABLES}
        results = {name: fn(con, *args) for name, (_a, _d, fn, args) in RAW_CHECKS.items()}
    for p in problems:  # one line each, naming the file; every other part and hour still loaded
        context.log.warning(f"landing problem: {p.line()} ({p.path})")
    context.log.info(f"loaded {sum(loaded.values()):,} rows: " + ", ".join(f"{k} {v:,}" for k, v in loaded.items()))
    for h in hours:
        for t in RAW_TABLES:
            yield dg.AssetMaterialization(
                asset_key=t.name, partition=h.key,
                metadata={"dagster/row_count": dg.MetadataValue.int(int(per_hour[t.name].get(h.key, 0)))},
                tags={"dagster/data_version": prints.get(h.key, "")},
            )
    for name, (passed, meta) in results.items():
        yield dg.AssetCheckResult(asset_key=RAW_CHECKS[name][0], check_name=name, passed=bool(passed),
                                  metadata=to_metadata(meta))
