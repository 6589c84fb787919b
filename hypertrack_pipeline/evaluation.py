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
# Budgets over a set of seeds (SPEC §12 and issue 14): median and worst-seed Spearman, top decile,
# AUC of the skill confidence for the planted informed wallets, macro-F1.
BUDGETS = {"spearman_median": 0.30, "spearman_min": 0.20, "top_decile_next_pnl_min": 0.0, "skill_auc": 0.90,
           "macro_f1": 0.90}
SKILLED_ARCHETYPES = frozenset({"informed"})


def roc_auc(scores: Any, positive: Any) -> float:
    """Area under the ROC curve: the probability that a random positive scores above a random negative
    (ties count half), from the Mann–Whitney rank sum. NaN without both classes."""
    import numpy as np

    from hypertrack_pipeline.ml.metrics import average_ranks

    y = np.asarray(positive, dtype=bool)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = average_ranks(np.asarray(scores, dtype=np.float64))
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def skill_auc(con: duckdb.DuckDBPyConnection, truth: dict[str, set[str]]) -> dict[str, Any]:
    """ROC AUC of wallet_features.skill_confidence for the wallets planted with a skilled archetype
    (informed, as primary or secondary behaviour) against every other wallet with a fill."""
    rows = con.execute("SELECT wallet, skill_confidence FROM wallet_features WHERE has_fills").fetchall()
    positive = [bool(truth.get(w, set()) & SKILLED_ARCHETYPES) for w, _ in rows]
    return {"skill_auc": roc_auc([c for _, c in rows], positive), "skilled_wallets": int(sum(positive)),
            "wallets": len(rows)}


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
        skill = skill_auc(con, truth)
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
        "spearman_held_out_wallets": metrics.get("spearman_profitability_next_pnl_held_out_wallets"),
        "walk_forward_wallets": metrics.get("walk_forward_wallets"),
        "top_decile_next_pnl_per_notional": metrics.get("top_decile_next_pnl_per_notional"),
        "top_decile_next_total_pnl": metrics.get("top_decile_next_total_pnl"),
        **skill,
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


def parse_seeds(text: str) -> list[int]:
    """'1-10' or '1,3,5' or '2-4,9' → the seeds in order (a user error for anything else)."""
    from hypertrack_pipeline.errors import UserError

    seeds: list[int] = []
    try:
        for part in text.split(","):
            part = part.strip()
            if "-" in part:
                lo, hi = (int(x) for x in part.split("-", 1))
                if hi < lo:
                    raise ValueError
                seeds.extend(range(lo, hi + 1))
            elif part:
                seeds.append(int(part))
    except ValueError:
        raise UserError(f"--seeds must look like 1-10 or 1,3,5, got {text!r}") from None
    if not seeds:
        raise UserError("--seeds names no seed")
    return seeds


_COLUMNS = (("seed", "seed", "{:d}"), ("macro-F1", "macro_f1", "{:.3f}"), ("Spearman", "spearman", "{:+.3f}"),
            ("top-decile PnL/notional", "top_decile", "{:+.5f}"), ("skill AUC", "skill_auc", "{:.3f}"),
            *((f"skill {h}", f"skill_{h}", "{:+.3f}") for h in
              ("profitability", "influence", "bot", "risk", "sophistication", "style")),
            ("seconds", "seconds", "{:.0f}"))


def table_row(result: dict[str, Any]) -> dict[str, float]:
    """The figures of one seed's evaluation that the multi-seed table shows."""
    heads = result.get("heads_vs_baseline") or {}
    row = {"seed": result["seed"], "macro_f1": result["categories"]["macro_f1"],
           "spearman": result.get("spearman_profitability_next_window_pnl"),
           "top_decile": result.get("top_decile_next_pnl_per_notional"), "skill_auc": result.get("skill_auc"),
           "seconds": result.get("seconds")}
    for h in ("profitability", "influence", "bot", "risk", "sophistication", "style"):
        row[f"skill_{h}"] = (heads.get(h) or {}).get("skill")
    return {k: (float("nan") if v is None else v) for k, v in row.items()}


def budget_verdicts(rows: list[dict[str, float]]) -> dict[str, bool]:
    """Which BUDGETS hold over the seeds' rows (NaN figures fail)."""
    import numpy as np

    sp = np.array([r["spearman"] for r in rows], dtype=float)
    top = np.array([r["top_decile"] for r in rows], dtype=float)
    auc = np.array([r["skill_auc"] for r in rows], dtype=float)
    f1 = np.array([r["macro_f1"] for r in rows], dtype=float)
    prof = np.array([r["skill_profitability"] for r in rows], dtype=float)
    ok = all(np.isfinite(a).all() for a in (sp, top, auc, f1, prof))
    return {
        "spearman median >= 0.30": ok and float(np.median(sp)) >= BUDGETS["spearman_median"],
        "spearman every seed >= 0.20": ok and float(sp.min()) >= BUDGETS["spearman_min"],
        "top decile next PnL > 0 every seed": ok and float(top.min()) > BUDGETS["top_decile_next_pnl_min"],
        "skill AUC >= 0.90 every seed": ok and float(auc.min()) >= BUDGETS["skill_auc"],
        "macro-F1 >= 0.90 every seed": ok and float(f1.min()) >= BUDGETS["macro_f1"],
        "profitability head beats the mean every seed": ok and float(prof.min()) > 0,
    }


def format_table(rows: list[dict[str, float]]) -> str:
    """A Markdown table: one row per seed, then the median of every column."""
    import numpy as np

    head = "| " + " | ".join(c[0] for c in _COLUMNS) + " |"
    sep = "|" + "|".join("---" for _ in _COLUMNS) + "|"
    lines = [head, sep]
    for r in rows:
        lines.append("| " + " | ".join(fmt.format(int(r[k]) if k == "seed" else r[k]) for _, k, fmt in _COLUMNS) + " |")
    if rows:
        med = ["**median**"] + [fmt.format(float(np.median([r[k] for r in rows]))) for _, k, fmt in _COLUMNS[1:]]
        lines.append("| " + " | ".join(med) + " |")
    return "\n".join(lines)
