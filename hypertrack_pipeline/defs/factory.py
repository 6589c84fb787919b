"""Assets from declarations: a domain :class:`~hypertrack_pipeline.catalog.Step` becomes an asset (or a
multi-asset) whose dependencies are the step's declared reads, whose column schema is the declared
table, and whose body opens one short warehouse connection, calls the step and reports metadata.
Nothing here names a table: the domain modules do."""


from collections.abc import Iterator, Mapping
from typing import Any

import dagster as dg
from dagster_duckdb import DuckDBResource

from hypertrack_pipeline.catalog import Step, StepContext, Table
from hypertrack_pipeline.defs.automation import planned_refresh
from hypertrack_pipeline.defs.metadata import to_metadata
from hypertrack_pipeline.defs.resources import WAREHOUSE_POOL, HypertrackSettings


def column_schema(table: Table) -> dg.TableSchema:
    """The declared columns as Dagster's column schema (shown on the asset page)."""
    return dg.TableSchema(columns=[
        dg.TableColumn(c.name, c.base_type, description=c.doc or None) for c in table.columns
    ])


def table_spec_metadata(table: Table) -> dict[str, Any]:
    return {"dagster/column_schema": column_schema(table)}


def _specs(step: Step) -> list[dg.AssetSpec]:
    deps = [dg.AssetKey(r) for r in step.reads]
    kinds = set(step.kinds)
    if step.asset_tables:
        return [dg.AssetSpec(t.name, deps=deps, description=t.description, group_name=step.group, kinds=kinds,
                             metadata=table_spec_metadata(t), automation_condition=planned_refresh())
                for t in step.asset_tables]
    return [dg.AssetSpec(step.outputs[0], deps=deps, description=step.description, group_name=step.group,
                         kinds=kinds, automation_condition=planned_refresh())]


def _row_count(con: Any, table: str) -> int:
    return int(con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0])


def step_asset(step: Step) -> dg.AssetsDefinition:
    """The asset(s) of one step, in the single-writer warehouse pool."""

    @dg.multi_asset(name=step.name, specs=_specs(step), pool=WAREHOUSE_POOL, description=step.description)
    def _asset(context: dg.AssetExecutionContext, hypertrack: HypertrackSettings,
               duckdb: DuckDBResource) -> Iterator[dg.MaterializeResult]:
        ctx = StepContext(settings=hypertrack.get(), log=context.log.info)
        with duckdb.get_connection() as con:
            info: Mapping[str, Any] = step.run(con, ctx)
            counts = {t.name: _row_count(con, t.name) for t in step.asset_tables}
        meta = to_metadata(info)
        for out in step.outputs:
            extra = {"dagster/row_count": dg.MetadataValue.int(counts[out])} if out in counts else {}
            if "path" in info:
                extra["path"] = dg.MetadataValue.path(str(info["path"]))
            yield dg.MaterializeResult(asset_key=out, metadata={**meta, **extra})

    return _asset
