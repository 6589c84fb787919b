"""`hypertrack evaluate`: measure the whole chain against a simulated market's ground truth.

The CLI simulates a market with the given seed into a temporary data directory and runs the pipeline
through Dagster exactly as `hypertrack materialize` does; :func:`summarize` then reports: per-head error of the model against a
predict-the-mean baseline on held-out wallets, per-archetype precision / recall / F1 of the matching
categories with their macro-F1, and the Spearman correlation of predicted profitability with the
next window's PnL. The same function feeds the model asset's metadata when ground truth is present.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq

TARGETS = {"macro_f1": 0.90, "spearman": 0.30}


def ground_truth_archetypes(data_dir: Path) -> dict[str, set[str]] | None:
    """wallet → planted archetypes, or None when the data is not simulated."""
    path = Path(data_dir) / "ground_truth" / "wallets.parquet"
    if not path.exists():
        return None
    table = pq.read_table(path, columns=["wallet", "archetypes"]).to_pydict()
    return {w: set(a) for w, a in zip(table["wallet"], table["archetypes"], strict=True)}


def category_metrics(con: duckdb.DuckDBPyConnection, truth: dict[str, set[str]]) -> dict[str, Any]:
    """Per-archetype precision / recall / F1 of the categories in the warehouse vs the ground truth."""
    from hypertrack_pipeline.classification import (
        ARCHETYPE_CATEGORIES,
        UNSCORED_ARCHETYPES,
        archetype_predictions,
        labels_by_wallet,
    )
    from hypertrack_pipeline.ml import classification_report

    scored = [a for a in ARCHETYPE_CATEGORIES if a not in UNSCORED_ARCHETYPES]
    by_archetype = archetype_predictions(labels_by_wallet(con))
    predicted: dict[str, set[str]] = {}
    for archetype, wallets in by_archetype.items():
        if archetype in scored:
            for w in wallets:
                predicted.setdefault(w, set()).add(archetype)
    truth_scored = {w: {a for a in arch if a in scored} for w, arch in truth.items()}
    report = classification_report(truth_scored, predicted, scored)
    return {
        "macro_f1": report["macro_f1"],
        "macro_precision": report["macro_precision"],
        "macro_recall": report["macro_recall"],
        "per_archetype": {
            a: {k: round(v, 4) for k, v in m.items() if k in ("precision", "recall", "f1", "support")}
            for a, m in report["labels"].items()
        },
        "unscored_archetypes": sorted(UNSCORED_ARCHETYPES),
    }


def write_evaluation(settings: Any, categories: dict[str, Any]) -> Path:
    """Write data/reports/evaluation.json: category metrics vs ground truth plus the model's held-out
    metrics (final_report.txt keeps exactly the SPEC §11 layout, so the figures live beside it; the
    dashboard shows them with the model version)."""
    import orjson

    from hypertrack_pipeline.ml import latest_model_info

    model = latest_model_info(settings.models_dir) or {}
    metrics = model.get("metrics") or {}
    body = {
        "model_version": model.get("version"),
        "heads_vs_baseline": metrics.get("heads"),
        "spearman_profitability_next_window_pnl": metrics.get("spearman_profitability_next_pnl"),
        "categories": categories,
    }
    path = Path(settings.reports_dir) / "evaluation.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_bytes(orjson.dumps(body, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY))
    tmp.replace(path)
    return path


def summarize(settings: Any, seed: int, wallets: int, days: float, fills: int, seconds: float) -> dict[str, Any]:
    """The evaluation of a data directory the pipeline has built from a simulated market: per-head skill
    against the mean baseline, category F1 against the planted archetypes, Spearman, targets met."""
    from hypertrack_pipeline.ml import latest_model_info

    truth = ground_truth_archetypes(settings.data_dir) or {}
    model = latest_model_info(settings.models_dir) or {}
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        categories = category_metrics(con, truth)
    finally:
        con.close()
    metrics = model.get("metrics", {})
    heads = metrics.get("heads", {})
    result = {
        "seed": seed,
        "wallets": wallets,
        "days": days,
        "fills": fills,
        "model_version": model.get("version"),
        "heads_vs_baseline": heads,
        "every_head_beats_baseline": bool(heads) and all(h.get("beats_baseline") for h in heads.values()),
        "spearman_profitability_next_window_pnl": metrics.get("spearman_profitability_next_pnl"),
        "profitability_target_window": metrics.get("profitability_window"),
        "categories": categories,
        "targets": TARGETS,
        "seconds": round(seconds, 1),
    }
    sp = result["spearman_profitability_next_window_pnl"]
    result["meets_targets"] = bool(
        result["every_head_beats_baseline"]
        and categories["macro_f1"] >= TARGETS["macro_f1"]
        and sp is not None and sp >= TARGETS["spearman"]
    )
    return result


def model_summary(settings: Any) -> dict[str, Any] | None:
    """What the dashboard shows about the model: version, training window, held-out skill per head,
    Spearman, and — on simulated data — the category macro-F1 (from evaluation.json)."""
    import json

    from hypertrack_pipeline.ml import latest_model_info

    info = latest_model_info(settings.models_dir)
    if info is None:
        return None
    metrics = info.get("metrics") or {}
    out: dict[str, Any] = {
        "version": info.get("version"),
        "created_at": info.get("created_at"),
        "versions": len(info.get("versions") or []),
        "data_window": info.get("data_window"),
        "skill_vs_mean_baseline": {h: round(float(m.get("skill", float("nan"))), 3)
                                   for h, m in (metrics.get("heads") or {}).items()},
        "spearman_profitability_next_window_pnl": metrics.get("spearman_profitability_next_pnl"),
    }
    path = Path(settings.reports_dir) / "evaluation.json"
    if path.exists():
        categories = json.loads(path.read_text()).get("categories") or {}
        out["ground_truth_macro_f1"] = categories.get("macro_f1")
        out["ground_truth_f1"] = {a: m.get("f1") for a, m in (categories.get("per_archetype") or {}).items()}
    return out
