"""`hypertrack sql` runs the user's SQL in DuckDB's sandbox: no file, ATTACH, extension or network escape.

Each escape runs against a real small warehouse file and must give one ``refused:`` line and leave
nothing behind (the file it would have written does not exist afterwards).
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import duckdb
import pytest

from hypertrack_pipeline.errors import UserError
from hypertrack_pipeline.warehouse.query import open_for_reading, query_warehouse, run_query


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    db = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE trades (coin VARCHAR, px DOUBLE, sz DOUBLE)")
    con.execute("INSERT INTO trades VALUES ('BTC', 97000.5, 0.01), ('ETH', 3400.25, 1.5)")
    con.execute("CREATE VIEW big AS SELECT * FROM trades WHERE px > 10000")
    con.close()
    return db


def refused(db: Path, sql: str) -> str:
    with pytest.raises(UserError) as info:
        run_query(db, sql)
    message = str(info.value)
    assert message.startswith("refused: ") and "\n" not in message, message
    return message


@pytest.mark.parametrize(
    "target",
    ["out.csv", "out.parquet"],
)
def test_copy_to_a_file_is_refused(warehouse: Path, tmp_path: Path, target: str) -> None:
    out = tmp_path / target
    assert "sandboxed" in refused(warehouse, f"COPY (SELECT 1) TO '{out}'")
    refused(warehouse, f"COPY trades TO '{out}'")
    assert not out.exists()


def test_export_database_is_refused(warehouse: Path, tmp_path: Path) -> None:
    out = tmp_path / "export"
    refused(warehouse, f"EXPORT DATABASE '{out}'")
    assert not out.exists()


def test_reading_files_outside_the_warehouse_is_refused(warehouse: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.csv"
    secret.write_text("user,password\nalice,hunter2\n")
    for sql in (
        "SELECT * FROM read_csv('/etc/passwd')",
        f"SELECT * FROM read_csv('{secret}')",
        f"SELECT * FROM '{secret}'",
        f"SELECT * FROM read_text('{secret}')",
        f"SELECT * FROM read_blob('{secret}')",
        f"SELECT * FROM glob('{tmp_path}/*')",
        f"IMPORT DATABASE '{tmp_path}'",
    ):
        assert "hunter2" not in refused(warehouse, sql)


def test_attach_is_refused(warehouse: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.duckdb"
    duckdb.connect(str(other)).execute("CREATE TABLE secrets AS SELECT 42 AS x").close()
    refused(warehouse, f"ATTACH '{other}' AS other")
    new = tmp_path / "new.duckdb"
    refused(warehouse, f"ATTACH '{new}'")
    assert not new.exists()
    refused(warehouse, "ATTACH ':memory:' AS scratch")


def test_extensions_and_network_are_refused(warehouse: Path) -> None:
    for sql in ("INSTALL httpfs", "FORCE INSTALL httpfs", "LOAD httpfs",
                "SELECT * FROM read_parquet('https://example.com/x.parquet')",
                "SELECT * FROM 'https://example.com/x.csv'"):
        refused(warehouse, sql)


def test_settings_cannot_be_changed_back(warehouse: Path, tmp_path: Path) -> None:
    for sql in ("SET enable_external_access = true", "RESET enable_external_access",
                "SET lock_configuration = false", "SET autoload_known_extensions = true",
                "SET allowed_directories = ['/']", f"SET temp_directory = '{tmp_path / 'spill'}'"):
        assert "locked" in refused(warehouse, sql)
    profile = tmp_path / "profile.json"
    refused(warehouse, "PRAGMA enable_profiling = 'json'")
    refused(warehouse, f"SET profiling_output = '{profile}'")
    refused(warehouse, f"SET log_query_path = '{tmp_path / 'log.txt'}'")
    assert not profile.exists() and not (tmp_path / "log.txt").exists()


def test_writes_are_refused_by_the_read_only_connection(warehouse: Path) -> None:
    for sql in ("CREATE TABLE t2 (a INTEGER)", "DELETE FROM trades", "INSERT INTO trades VALUES ('X', 1, 1)",
                "DROP VIEW big"):
        assert "read-only" in refused(warehouse, sql)
    assert run_query(warehouse, "SELECT count(*) FROM trades")[1] == [(2,)]


def test_the_whole_multi_statement_query_is_sandboxed(warehouse: Path, tmp_path: Path) -> None:
    out = tmp_path / "x.csv"
    refused(warehouse, f"SELECT 1; COPY (SELECT 1) TO '{out}'")
    assert not out.exists()


def test_normal_queries_still_work(warehouse: Path) -> None:
    assert run_query(warehouse, "SELECT coin, px FROM trades ORDER BY coin") == (
        ["coin", "px"], [("BTC", 97000.5), ("ETH", 3400.25)]
    )
    assert run_query(warehouse, "SELECT * FROM big")[1] == [("BTC", 97000.5, 0.01)]
    assert sorted(r[0] for r in run_query(warehouse, "SHOW TABLES")[1]) == ["big", "trades"]
    assert [r[0] for r in run_query(warehouse, "DESCRIBE trades")[1]] == ["coin", "px", "sz"]
    cols, rows = run_query(warehouse, "SUMMARIZE trades")
    assert cols[0] == "column_name" and len(rows) == 3


def test_sql_errors_are_not_called_refusals(warehouse: Path) -> None:
    with pytest.raises(UserError) as info:
        run_query(warehouse, "SELEC 1")
    assert not str(info.value).startswith("refused")


def test_open_for_reading_is_sandboxed_too(warehouse: Path, tmp_path: Path) -> None:
    settings = SimpleNamespace(warehouse_path=tmp_path / "live.duckdb", snapshot_path=warehouse)
    out = tmp_path / "x.csv"
    with open_for_reading(settings) as con:
        assert con.execute("SELECT count(*) FROM trades").fetchall() == [(2,)]
        with pytest.raises(duckdb.PermissionException):
            con.execute(f"COPY trades TO '{out}'")
    assert not out.exists()


def test_no_warehouse_says_how_to_make_one(tmp_path: Path) -> None:
    settings = SimpleNamespace(warehouse_path=tmp_path / "w.duckdb", snapshot_path=tmp_path / "s.duckdb")
    expected = f"no warehouse at {settings.warehouse_path} yet: run `hypertrack demo`"
    with pytest.raises(UserError, match="hypertrack record` then `hypertrack materialize`") as info:
        query_warehouse(settings, "SELECT 1")
    assert str(info.value).startswith(expected)
    with pytest.raises(UserError, match="hypertrack demo"), open_for_reading(settings):
        pass
