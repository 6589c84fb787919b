"""The whole chain on a small simulated market: landing zone → Dagster → DuckDB → model → outputs.

One market is simulated and materialized once per module (in a temp dir, through the same runner as
`hypertrack materialize`); the tests then check row counts, idempotency, the report layout, the
dashboard, the query path and the README's data dictionary against what was built.
"""

from __future__ import annotations

import re
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from hypertrack_pipeline.cli import main as cli_main
from hypertrack_pipeline.config import load_settings
from hypertrack_pipeline.definitions import build_definitions
from hypertrack_pipeline.defs.runner import instance_for, materialize
from hypertrack_pipeline.landing.zone import closed_hours
from hypertrack_pipeline.simulator import SimConfig, simulate

REPO = Path(__file__).resolve().parents[1]
RAW_TABLES = ["trades", "fills", "bbo", "l2_snapshots", "candles", "evm_blocks", "evm_transactions",
              "evm_token_transfers", "gaps"]


def _counts(path: Path, tables: list[str]) -> dict[str, int]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {t: con.execute(f"select count(*) from {t}").fetchall()[0][0] for t in tables}
    finally:
        con.close()


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    data = tmp_path_factory.mktemp("e2e") / "data"
    simulate(data, SimConfig(seed=5, wallets=160, days=1, coins=4, prehistory_days=0))
    settings = load_settings(data)
    summary = materialize(settings, say=lambda _m: None)
    return settings, summary


def test_every_closed_hour_is_loaded(built):
    settings, summary = built
    assert summary.downstream_ran
    assert sorted(summary.hours_loaded) == [h.key for h in closed_hours(settings.raw_dir)]
    c = _counts(settings.warehouse_path, RAW_TABLES)
    assert c["trades"] > 1000 and c["fills"] == 2 * c["trades"]
    assert c["bbo"] > 0 and c["candles"] > 0 and c["l2_snapshots"] > 0 and c["evm_blocks"] > 0


def test_one_feature_row_per_wallet_that_traded(built):
    settings, _ = built
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        traded = con.execute("select count(distinct wallet) from fills").fetchall()[0][0]
        with_fills = con.execute("select count(*) from wallet_features where has_fills").fetchall()[0][0]
        dupes = con.execute("select count(*) - count(distinct wallet) from wallet_features").fetchall()[0][0]
        scored = con.execute("select count(*) from wallet_scores").fetchall()[0][0]
        cats = con.execute("select count(*) from wallet_categories").fetchall()[0][0]
        total = con.execute("select count(*) from wallet_features").fetchall()[0][0]
    finally:
        con.close()
    assert traded == with_fills and dupes == 0
    assert scored == total and cats > 0
    assert list(settings.models_dir.glob("v*")), "a model checkpoint under data/models/"


def test_report_has_the_spec_layout(built):
    settings, _ = built
    lines = (settings.reports_dir / "final_report.txt").read_text().splitlines()
    assert lines[0] == "=" * 80 and lines[1] == "WALLET PROFILING REPORT" and lines[2] == "=" * 80
    assert re.fullmatch(r"Generated: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", lines[3])
    n = int(re.fullmatch(r"Total wallets analyzed: (\d+)", lines[4]).group(1))
    assert n > 100
    assert lines[6].startswith("Wallet #1: 0x") and len(lines[6]) == len("Wallet #1: 0x") + 40
    assert lines[7] == "-" * 80
    assert lines[8].startswith("Categories: ")
    assert re.fullmatch(r"Trading Style Score \(6D vector\): \[('-?\d\.\d{4}', ){5}'-?\d\.\d{4}'\]", lines[9])
    for i, label in enumerate(["Risk Score", "Profitability Score", "Bot Probability", "Influence Score",
                               "Sophistication Score"], start=10):
        assert re.fullmatch(rf"{label}: -?\d+\.\d{{4}}", lines[i]), lines[i]
    assert re.fullmatch(r"Transaction Count: \d+", lines[15])
    assert re.fullmatch(r"Age \(days\): \d+\.\d\d", lines[16])


def test_dashboard_and_snapshot_written(built):
    settings, _ = built
    html = (settings.reports_dir / "wallet_dashboard.html").read_text()
    assert "<script" in html and "http://" not in html.split("<body", 1)[1][:2000]
    assert settings.snapshot_path.exists()


def test_materialize_again_changes_nothing(built):
    settings, _ = built
    before = _counts(settings.warehouse_path, RAW_TABLES + ["wallet_features"])
    again = materialize(settings, say=lambda _m: None)
    assert again.hours_loaded == [] and not again.downstream_ran
    assert _counts(settings.warehouse_path, RAW_TABLES + ["wallet_features"]) == before


def test_rematerializing_an_hour_keeps_row_counts(built):
    settings, _ = built
    before = _counts(settings.warehouse_path, RAW_TABLES)
    hour = closed_hours(settings.raw_dir)[3].key
    instance = instance_for(settings)
    job = build_definitions(settings).resolve_job_def("load_landed_hours")
    for _ in range(2):
        assert job.execute_in_process(partition_key=hour, instance=instance).success
    assert _counts(settings.warehouse_path, RAW_TABLES) == before
    checks = instance.get_latest_materialization_event(dg.AssetKey("fills"))
    assert checks is not None


def test_sql_command_reads_the_snapshot(built, capsys):
    settings, _ = built
    assert cli_main(["sql", "--data-dir", str(settings.data_dir), "select count(*) as n from fills"]) == 0
    assert re.search(r"\d+", capsys.readouterr().out)
    assert cli_main(["sql", "--data-dir", str(settings.data_dir), "select * from no_such_table"]) == 2
    err = capsys.readouterr().err
    assert "no_such_table" in err and "Traceback" not in err


def test_every_table_and_view_is_an_asset_or_documented_internal(built):
    """Nothing in the warehouse lives off the graph: each table/view is an asset, or an internal
    bookkeeping table the dictionary says is internal; its columns are exactly the declared ones."""
    from hypertrack_pipeline.graph import table

    settings, _ = built
    defs = build_definitions(settings)
    assets = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    readme = (REPO / "README.md").read_text()
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        names = [r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_schema = 'main'").fetchall()]
        assert "wallet_features_early" in names and "wallet_pnl_late" in names
        for name in names:
            declared = table(name)  # KeyError: an undeclared table
            assert name in assets or declared.internal, f"{name} is neither an asset nor internal"
            marker = f"| **{name}** (internal) |" if declared.internal else f"| **{name}**"
            assert marker in readme, f"README data dictionary lacks {name}"
            cols = [r[0] for r in con.execute(
                "select column_name from information_schema.columns where table_name = ? order by ordinal_position",
                [name]).fetchall()]
            assert cols == list(declared.column_names()), name
    finally:
        con.close()


def test_readme_dictionary_is_the_generated_one():
    from hypertrack_pipeline.warehouse.dictionary import full_data_dictionary

    assert full_data_dictionary() in (REPO / "README.md").read_text(), (
        "regenerate: python -m hypertrack_pipeline.warehouse.dictionary")
