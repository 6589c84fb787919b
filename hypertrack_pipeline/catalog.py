"""The warehouse catalog: every DuckDB table and view, and every build step that writes them.

Domain modules declare, next to the code that reads and writes the data:

- a :class:`Table` for each table or view they write (columns with type and meaning: the data
  dictionary is generated from these declarations, and every asset reports them as its column
  schema), and
- a :class:`Step` saying which tables the step reads and which it writes.

The Dagster layer derives its assets and their dependencies from the steps (nothing hand-types a
table name twice), and a test runs each step on a warehouse holding only the tables it declares,
so a declaration cannot drift from the SQL. No Dagster here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import duckdb

    from hypertrack_pipeline.config import Settings


@dataclass(frozen=True)
class Column:
    """One column: DuckDB type (with constraints, as in DDL) and what it means for a reader."""

    name: str
    type: str
    doc: str = ""
    expr: str | None = None  # raw tables: the SQL expression over the landed Parquet columns

    @property
    def base_type(self) -> str:
        """The type without NOT NULL / storage hints (what information_schema reports)."""
        return self.type.split(" NOT NULL")[0].split(" USING ")[0].strip()


@dataclass(frozen=True)
class Table:
    """A table or view of the warehouse. ``internal`` tables are bookkeeping, not user data."""

    name: str
    description: str
    columns: tuple[Column, ...]
    view_sql: str | None = None  # a view: its SELECT (columns are documented, types bound by DuckDB)
    internal: bool = False

    @property
    def is_view(self) -> bool:
        return self.view_sql is not None

    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def ddl(self) -> str:
        """CREATE … IF NOT EXISTS for this table or view (idempotent)."""
        if self.view_sql is not None:
            return f"CREATE VIEW IF NOT EXISTS {self.name} AS\n{self.view_sql.strip()};"
        cols = ",\n".join(f"    {c.name} {c.type}" for c in self.columns)
        return f"CREATE TABLE IF NOT EXISTS {self.name} (\n{cols}\n);"


@dataclass(frozen=True)
class StepContext:
    """What a step may use besides its warehouse connection: the data directory's settings and a
    progress logger (the Dagster layer passes the run's logger, the CLI prints)."""

    settings: Settings
    log: Callable[[str], None] = print
    options: Mapping[str, Any] = field(default_factory=dict)  # run configuration (e.g. retrain epochs)


StepFn = Callable[["duckdb.DuckDBPyConnection", StepContext], Mapping[str, Any]]


@dataclass(frozen=True)
class Step:
    """One build: reads ``reads`` (tables, or non-table assets such as ``wallet_model``), writes the
    tables in ``writes`` (or, when ``asset`` is set, a non-table artefact of that name), returns
    metadata. ``run`` is the domain function; it opens nothing itself."""

    name: str
    description: str
    reads: tuple[str, ...]
    run: StepFn
    writes: tuple[Table, ...] = ()
    asset: str | None = None  # a non-table output (the model checkpoint, a report file)
    group: str = "wallets"
    kinds: tuple[str, ...] = ("duckdb",)
    uses_warehouse: bool = True
    training: bool = False  # part of the (re)training chain: refreshed by the retrain, not every hour

    @property
    def outputs(self) -> tuple[str, ...]:
        """Asset names this step materializes."""
        return tuple(t.name for t in self.asset_tables) or ((self.asset,) if self.asset else (self.name,))

    @property
    def asset_tables(self) -> tuple[Table, ...]:
        """The tables that are assets: every write but internal bookkeeping (e.g. a rule's baseline)."""
        return tuple(t for t in self.writes if not t.internal)
