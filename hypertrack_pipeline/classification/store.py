"""DuckDB side of classification: build ``wallet_categories`` and read rows for the report.

``wallet_categories`` (one row per wallet of ``wallet_features``):
  wallet VARCHAR, categories VARCHAR — JSON text ``[["Bot",0.85],["Scalper",0.72]]`` sorted by
  confidence (SPEC §10 categories only, exactly ``classify_wallet``'s output; ``[]`` for wallets
  skipped by TX_COUNT_THRESHOLD), primary_category VARCHAR (NULL when none), primary_confidence DOUBLE,
  n_categories INTEGER, kirilenko_class VARCHAR (Market Maker | HFT | Fundamental | Small |
  Opportunistic), kirilenko_end_ratio DOUBLE, kirilenko_intraday_ratio DOUBLE, wash_trade_flag BOOLEAN,
  wash_trade_count BIGINT, self_trade_count BIGINT, size_cohort VARCHAR, peak_position_usd DOUBLE,
  size_basis VARCHAR, equity_usd DOUBLE, pnl_cohort VARCHAR (on net PnL; NULL without ``wallet_pnl``),
  total_pnl DOUBLE, net_pnl DOUBLE.
Size cohorts use the public trackers' dollar ladder (SPEC §10) on what the trackers rank by, the account
equity, where the recorder polled it (latest ``account_state.account_value``); the other wallets fall back
to the proxy the trade stream allows, their peak position value. ``size_basis`` says which, so a user
never compares the two unknowingly.
The Kirilenko class and the wash flag are extra columns rather than entries of ``categories`` so the
report keeps the SPEC §10 semantics (e.g. Occasional Trader = no other §10 category);
``labels_by_wallet`` merges them for evaluation against ground truth.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from hypertrack_pipeline.catalog import Column, Step, StepContext, Table
from hypertrack_pipeline.classification.activity import wallet_minutes_sql
from hypertrack_pipeline.classification.cohorts import cohort_case_sql, size_cohort_sql
from hypertrack_pipeline.classification.kirilenko import kirilenko_sql
from hypertrack_pipeline.classification.report import ReportRow, render_final_report
from hypertrack_pipeline.classification.rules import CATEGORY_NAMES, DEFAULT_THRESHOLDS
from hypertrack_pipeline.classification.rules_vectorized import (
    FEATURES_USED,
    SCORE_COLUMNS,
    STYLE_COLUMNS,
    categories_json,
    classify_arrays,
)
from hypertrack_pipeline.classification.thresholds import Thresholds
from hypertrack_pipeline.classification.wash import wash_sql, washing_pairs_sql
from hypertrack_pipeline.errors import UserError

if TYPE_CHECKING:
    import duckdb

WASH_TRADER = "Wash Trader"

CATEGORIES_TABLE = Table(
    "wallet_categories",
    "One row per wallet: SPEC §10 categories, Kirilenko class, wash-trade flags, size and PnL cohorts.",
    (
        Column("wallet", "VARCHAR", "address, lowercase hex"),
        Column("categories", "VARCHAR", 'JSON [["Bot", 0.85], …]: every SPEC §10 category that holds, by confidence'),
        Column("primary_category", "VARCHAR", "the most confident category (null when none)"),
        Column("primary_confidence", "DOUBLE", "its confidence"),
        Column("n_categories", "INTEGER", "number of categories"),
        Column("kirilenko_class", "VARCHAR",
               "Market Maker / HFT / Fundamental Buyer / Fundamental Seller / Small / Opportunistic"),
        Column("kirilenko_end_ratio", "DOUBLE", "mean |end-of-day net position| / daily volume"),
        Column("kirilenko_intraday_ratio", "DOUBLE", "intraday position deviation / daily volume"),
        Column("wash_trade_flag", "BOOLEAN", "self-trades or tight two-wallet cycles"),
        Column("wash_trade_count", "BIGINT", "trades in wash cycles"),
        Column("self_trade_count", "BIGINT", "trades with itself (buyer = seller)"),
        Column("size_cohort", "VARCHAR", "trackers' ladder (Shrimp < $250 … Leviathan ≥ $5M) on the latest account "
               "equity where the recorder polled it, else on peak position value (size_basis says which)"),
        Column("peak_position_usd", "DOUBLE", "peak open-position value at minute ends, USD"),
        Column("size_basis", "VARCHAR", "what size_cohort is measured on: equity (account_state) or peak_position"),
        Column("equity_usd", "DOUBLE", "latest account value from account_state, USD (null: never polled)"),
        Column("pnl_cohort", "VARCHAR", "PnL ladder (Giga-Rekt … Money Printer) on net_pnl"),
        Column("total_pnl", "DOUBLE", "from wallet_pnl, USD, before fees"),
        Column("net_pnl", "DOUBLE", "from wallet_pnl, USD, after fees (= total_pnl where no fee is known)"),
    ),
)
_PAIRS = "_classification_wash_pairs"
_MINUTES = "_classification_wallet_minutes"


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    rows = con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [table]
    ).fetchall()
    return {r[0] for r in rows}


def _score_select(con: duckdb.DuckDBPyConnection, has_scores: bool) -> str:
    """Score columns (coalesced to 0, as a wallet without a model score has no ML evidence)."""
    wanted = SCORE_COLUMNS + STYLE_COLUMNS
    present = _columns(con, "wallet_scores") if has_scores else set()
    return ", ".join(
        f"coalesce(CAST(s.{c} AS DOUBLE), 0.0) AS {c}" if c in present else f"0.0 AS {c}" for c in wanted
    )


def _extras_sql(con: duckdb.DuckDBPyConnection, t: Thresholds) -> tuple[str, str]:
    """(FROM-clause joins, SELECT list) of the beyond-prototype columns, degrading to NULL without inputs."""
    tables = _tables(con)
    joins: list[str] = []
    if "fills" in tables:
        # Washing pairs and the per-minute activity are computed once and shared.
        con.execute(f"CREATE OR REPLACE TEMP TABLE {_PAIRS} AS {washing_pairs_sql(t)}")
        con.execute(f"CREATE OR REPLACE TEMP TABLE {_MINUTES} AS {wallet_minutes_sql(_PAIRS)}")
        joins.append(f"LEFT JOIN ({kirilenko_sql(t, _MINUTES)}) k USING (wallet)")
        joins.append(f"LEFT JOIN ({wash_sql(t, _PAIRS)}) w USING (wallet)")
        joins.append(f"LEFT JOIN ({size_cohort_sql(t, _MINUTES)}) c USING (wallet)")
        fills_cols = (
            "coalesce(k.kirilenko_class, 'Small') AS kirilenko_class, "
            "k.kirilenko_end_ratio, k.kirilenko_intraday_ratio, "
            "coalesce(w.wash_trade_flag, false) AS wash_trade_flag, "
            "coalesce(w.wash_trade_count, 0)::BIGINT AS wash_trade_count, "
            "coalesce(w.self_trade_count, 0)::BIGINT AS self_trade_count"
        )
        peak = "coalesce(c.peak_position_usd, 0.0)"
    else:
        fills_cols = (
            "NULL::VARCHAR AS kirilenko_class, NULL::DOUBLE AS kirilenko_end_ratio, "
            "NULL::DOUBLE AS kirilenko_intraday_ratio, NULL::BOOLEAN AS wash_trade_flag, "
            "NULL::BIGINT AS wash_trade_count, NULL::BIGINT AS self_trade_count"
        )
        peak = "NULL::DOUBLE"
    if "account_state" in tables:
        joins.append("LEFT JOIN (SELECT wallet, arg_max(account_value, time_ms) AS equity_usd "
                     "FROM account_state GROUP BY wallet) e USING (wallet)")
        equity = "e.equity_usd"
    else:
        equity = "NULL::DOUBLE"
    basis = f"coalesce({equity}, {peak})"
    fills_cols += (
        f", {cohort_case_sql(basis, t.SIZE_COHORTS)} AS size_cohort, {peak} AS peak_position_usd, "
        f"CASE WHEN {equity} IS NOT NULL THEN 'equity' WHEN {peak} IS NOT NULL THEN 'peak_position' END AS size_basis, "
        f"{equity} AS equity_usd"
    )
    if "wallet_pnl" in tables:
        joins.append("LEFT JOIN (SELECT wallet, total_pnl, net_pnl FROM wallet_pnl) p USING (wallet)")
        pnl_cols = (f"{cohort_case_sql('p.net_pnl', t.PNL_COHORTS)} AS pnl_cohort, p.total_pnl AS total_pnl, "
                    "p.net_pnl AS net_pnl")
    else:
        pnl_cols = "NULL::VARCHAR AS pnl_cohort, NULL::DOUBLE AS total_pnl, NULL::DOUBLE AS net_pnl"
    return " ".join(joins), f"{fills_cols}, {pnl_cols}"


def categorize_wallets(con: duckdb.DuckDBPyConnection, thresholds: Thresholds = DEFAULT_THRESHOLDS) -> dict[str, Any]:
    """(Re)build ``wallet_categories``; returns metadata (row and per-category/class/cohort counts, seconds)."""
    import pyarrow as pa

    started = time.perf_counter()
    tables = _tables(con)
    if "wallet_features" not in tables:
        raise UserError("wallet_features does not exist yet: build the features before categorizing wallets")
    has_scores = "wallet_scores" in tables
    feature_select = ", ".join(f"coalesce(CAST(f.{c} AS DOUBLE), 0.0) AS {c}" for c in FEATURES_USED)
    score_join = "LEFT JOIN wallet_scores s USING (wallet)" if has_scores else ""
    data = con.execute(
        f"SELECT f.wallet, {feature_select}, {_score_select(con, has_scores)} "
        f"FROM wallet_features f {score_join} ORDER BY f.wallet"
    ).fetchnumpy()
    wallets = [str(w) for w in np.asarray(data["wallet"]).tolist()]
    arrays = {k: np.asarray(v, dtype=np.float64) for k, v in data.items() if k != "wallet"}
    conf = classify_arrays(arrays, arrays, thresholds)
    assigned = ~np.isnan(conf)
    n_categories = assigned.sum(axis=1)
    top = np.where(n_categories > 0, np.nanmax(np.where(assigned, conf, -np.inf), axis=1), np.nan)
    # First column holding the top confidence = the first category in sorted order (ties: table order).
    top_col = np.argmax(assigned & (conf == top[:, None]), axis=1)
    primary = np.where(n_categories > 0, np.asarray(CATEGORY_NAMES, dtype=object)[top_col], None)

    rules = pa.table(
        {
            "wallet": pa.array(wallets, pa.string()),
            "categories": pa.array(categories_json(conf), pa.string()),
            "primary_category": pa.array(primary.tolist(), pa.string()),
            "primary_confidence": pa.array(top, pa.float64(), from_pandas=True),
            "n_categories": pa.array(n_categories, pa.int32()),
        }
    )
    joins, extra_cols = _extras_sql(con, thresholds)
    con.register("_wallet_category_rules", rules)
    try:
        con.execute(
            "CREATE OR REPLACE TABLE wallet_categories AS "
            "SELECT r.wallet, r.categories, r.primary_category, r.primary_confidence, r.n_categories, "
            f"{extra_cols} FROM _wallet_category_rules r {joins} ORDER BY r.wallet"
        )
    finally:
        con.unregister("_wallet_category_rules")
        con.execute(f"DROP TABLE IF EXISTS {_PAIRS}")
        con.execute(f"DROP TABLE IF EXISTS {_MINUTES}")

    per_category = assigned.sum(axis=0)
    category_counts = {CATEGORY_NAMES[j]: int(per_category[j]) for j in np.argsort(-per_category, kind="stable")}
    summary = {
        "rows": len(wallets),
        "wallets_with_categories": int((n_categories > 0).sum()),
        "category_counts": {k: v for k, v in category_counts.items() if v},
        "scores_available": has_scores,
    }
    for column in ("kirilenko_class", "size_cohort", "size_basis", "pnl_cohort"):
        counts = con.execute(
            f"SELECT {column}, count(*) FROM wallet_categories WHERE {column} IS NOT NULL GROUP BY 1 ORDER BY 2 DESC"
        ).fetchall()
        summary[f"{column}_counts"] = {str(k): int(n) for k, n in counts}
    summary["wash_trade_wallets"] = int(
        con.execute("SELECT count(*) FROM wallet_categories WHERE wash_trade_flag").fetchone()[0]  # type: ignore[index]
    )
    summary["seconds"] = round(time.perf_counter() - started, 3)
    return summary


def report_rows(con: duckdb.DuckDBPyConnection, thresholds: Thresholds = DEFAULT_THRESHOLDS) -> list[ReportRow]:
    """Rows for ``render_final_report``: wallets with tx_count ≥ TX_COUNT_THRESHOLD, with scores and categories."""
    tables = _tables(con)
    missing = {"wallet_features", "wallet_categories"} - tables
    if missing:
        raise UserError(f"cannot write the report: missing table(s) {', '.join(sorted(missing))}")
    has_scores = "wallet_scores" in tables
    score_join = "LEFT JOIN wallet_scores s USING (wallet)" if has_scores else ""
    result = con.execute(
        f"SELECT f.wallet, c.categories, coalesce(f.tx_count, 0) AS tx_count, coalesce(f.age_days, 0) AS age_days, "
        f"{_score_select(con, has_scores)} "
        f"FROM wallet_features f JOIN wallet_categories c USING (wallet) {score_join} "
        f"WHERE coalesce(f.tx_count, 0) >= ? ORDER BY f.wallet",
        [float(thresholds.TX_COUNT_THRESHOLD)],
    ).fetchall()
    rows: list[ReportRow] = []
    for rec in result:
        wallet, categories, tx_count, age_days = rec[:4]
        risk, profit, bot, influence, soph = rec[4:9]
        rows.append(
            ReportRow(
                wallet=wallet,
                categories=tuple((str(n), float(c)) for n, c in json.loads(categories or "[]")),
                trading_style=tuple(float(v) for v in rec[9:15]),
                risk_score=float(risk),
                profitability_score=float(profit),
                bot_probability=float(bot),
                influence_score=float(influence),
                sophistication_score=float(soph),
                tx_count=int(round(float(tx_count))),
                age_days=float(age_days),
            )
        )
    return rows


def write_final_report(
    con: duckdb.DuckDBPyConnection,
    path: str | Path,
    generated_at: datetime | None = None,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> dict[str, Any]:
    """Write ``final_report.txt`` atomically (temp file + rename); returns path and counts."""
    rows = report_rows(con, thresholds)
    text = render_final_report(rows, generated_at or datetime.now(UTC), thresholds.SHOW_NO_CATEGORIES)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(target)
    shown = len(rows) if thresholds.SHOW_NO_CATEGORIES else sum(1 for r in rows if r.categories)
    return {"path": str(target), "wallets_analyzed": len(rows), "wallets_listed": shown, "bytes": len(text.encode())}


def labels_by_wallet(con: duckdb.DuckDBPyConnection) -> dict[str, set[str]]:
    """wallet → every label for evaluation: §10 category names, the Kirilenko class, and "Wash Trader"."""
    out: dict[str, set[str]] = {}
    for wallet, categories, kclass, wash in con.execute(
        "SELECT wallet, categories, kirilenko_class, wash_trade_flag FROM wallet_categories"
    ).fetchall():
        labels = {str(n) for n, _ in json.loads(categories or "[]")}
        if kclass:
            labels.add(str(kclass))
        if wash:
            labels.add(WASH_TRADER)
        out[wallet] = labels
    return out


def _run(con: duckdb.DuckDBPyConnection, ctx: StepContext) -> dict[str, Any]:
    """Categorize, and on simulated data measure the categories against the planted archetypes
    (evaluation.json beside the report; the F1 figures go into the metadata)."""
    from hypertrack_pipeline.evaluation import category_metrics, ground_truth_archetypes, write_evaluation

    info: dict[str, Any] = dict(categorize_wallets(con))
    truth = ground_truth_archetypes(ctx.settings.data_dir)
    if truth:
        evaluation = category_metrics(con, truth)
        write_evaluation(ctx.settings, evaluation)
        info["eval.macro_f1"] = float(evaluation["macro_f1"])
        info.update({f"eval.f1.{a}": float(m["f1"]) for a, m in evaluation["per_archetype"].items()})
    return info


STEP = Step(
    name="wallet_categories",
    description="SPEC §10 categories with confidences, Kirilenko classes, wash-trade flags and cohorts; on simulated "
                "data also their precision / recall / F1 against the planted archetypes.",
    reads=("wallet_features", "wallet_scores", "wallet_pnl", "fills", "account_state"), writes=(CATEGORIES_TABLE,),
    run=_run,
)
