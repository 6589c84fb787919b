"""Evaluation metrics (SPEC §9): head errors vs a predict-the-mean baseline, Spearman, and
per-label precision/recall/F1 for category matching. Pure functions over numpy / sets."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np


def average_ranks(values: Iterable[float] | np.ndarray) -> np.ndarray:
    """1-based ranks where ties share the mean of the ranks they span (scipy's ``rankdata``
    ``method="average"``), in numpy so a plain install needs no scipy. Any NaN makes every rank
    NaN, as scipy's default does: a NaN has no place in an order."""
    x = np.asarray(values if isinstance(values, np.ndarray) else list(values), dtype=np.float64).ravel()
    n = len(x)
    if n == 0:
        return np.zeros(0, dtype=np.float64)
    if np.isnan(x).any():
        return np.full(n, np.nan)
    order = np.argsort(x, kind="mergesort")
    sorted_x = x[order]
    starts = np.flatnonzero(np.r_[True, sorted_x[1:] != sorted_x[:-1]])  # first index of each tie group
    ends = np.r_[starts[1:], n]  # one past its last index
    ranks = np.empty(n, dtype=np.float64)
    ranks[order] = np.repeat((starts + 1 + ends) / 2.0, ends - starts)  # mean of ranks starts+1 … ends
    return ranks


def head_errors_vs_baseline(
    predictions: Mapping[str, np.ndarray],
    targets: Mapping[str, np.ndarray],
    baseline_means: Mapping[str, float | np.ndarray | list[float]],
) -> dict[str, dict[str, float | bool]]:
    """Per head: MSE and MAE of the model and of a constant baseline that always predicts the
    training-set mean, on the same (held-out) rows. ``skill = 1 − mse / baseline_mse`` (> 0 means
    the model beats the baseline). Multi-dimensional heads average over all entries."""
    out: dict[str, dict[str, float | bool]] = {}
    for head, target in targets.items():
        t = np.asarray(target, dtype=np.float64)
        p = np.asarray(predictions[head], dtype=np.float64).reshape(t.shape)
        base = np.broadcast_to(np.asarray(baseline_means[head], dtype=np.float64), t.shape)
        if t.size == 0:
            out[head] = {"mse": math.nan, "baseline_mse": math.nan, "mae": math.nan,
                         "baseline_mae": math.nan, "skill": math.nan, "beats_baseline": False}
            continue
        mse = float(np.mean((p - t) ** 2))
        b_mse = float(np.mean((base - t) ** 2))
        skill = 1.0 - mse / b_mse if b_mse > 0 else (0.0 if mse == 0 else -math.inf)
        out[head] = {
            "mse": mse,
            "baseline_mse": b_mse,
            "mae": float(np.mean(np.abs(p - t))),
            "baseline_mae": float(np.mean(np.abs(base - t))),
            "skill": float(skill),
            "beats_baseline": bool(mse < b_mse),
        }
    return out


def spearman(a: Iterable[float], b: Iterable[float]) -> float:
    """Spearman rank correlation (ties get average ranks); NaN pairs are dropped; NaN when fewer
    than 2 pairs remain or either side is constant."""
    x = np.asarray(list(a) if not isinstance(a, np.ndarray) else a, dtype=np.float64)
    y = np.asarray(list(b) if not isinstance(b, np.ndarray) else b, dtype=np.float64)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if len(x) < 2:
        return math.nan
    rx, ry = average_ranks(x) - (len(x) + 1) / 2.0, average_ranks(y) - (len(y) + 1) / 2.0
    denom = math.sqrt(float(np.sum(rx * rx)) * float(np.sum(ry * ry)))
    return float(np.sum(rx * ry) / denom) if denom > 0 else math.nan


def classification_report(
    truth: Mapping[str, set[str]],
    predicted: Mapping[str, set[str]],
    labels: Iterable[str],
) -> dict[str, Any]:
    """Multi-label precision / recall / F1 per label, plus macro averages.

    A wallet may carry several labels on either side. For label L: TP = wallets with L in both,
    FP = predicted L but not true, FN = true L but not predicted (wallets missing from one mapping
    have no labels there). Zero denominators give 0. The macro averages are over the labels that
    occur in ``truth`` (support > 0): a label nobody carries cannot be recalled and would only
    dilute the average; labels without support are still reported.
    """
    wallets = set(truth) | set(predicted)
    per_label: dict[str, dict[str, float]] = {}
    for label in labels:
        true_set = {w for w in wallets if label in truth.get(w, ())}
        pred_set = {w for w in wallets if label in predicted.get(w, ())}
        tp = len(true_set & pred_set)
        fp = len(pred_set - true_set)
        fn = len(true_set - pred_set)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_label[label] = {
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "support": float(len(true_set)),
            "predicted": float(len(pred_set)),
            "tp": float(tp),
        }
    scored = [m for m in per_label.values() if m["support"] > 0]
    macro = {
        k: (sum(m[k] for m in scored) / len(scored) if scored else math.nan)
        for k in ("precision", "recall", "f1")
    }
    return {
        "labels": per_label,
        "macro_precision": macro["precision"],
        "macro_recall": macro["recall"],
        "macro_f1": macro["f1"],
        "wallets": float(len(wallets)),
    }


def archetype_report(
    truth_archetypes: Mapping[str, Iterable[str]],
    labels_by_wallet: Mapping[str, Iterable[str]],
    archetype_categories: Mapping[str, set[str]],
    unscored: Iterable[str] = (),
) -> dict[str, Any]:
    """Per-archetype precision / recall / F1 of detected categories against simulator ground truth.

    A wallet is predicted as archetype A when any of its labels is in ``archetype_categories[A]``;
    archetypes in ``unscored`` (or mapped to no label) are left out. Wallets absent from
    ``labels_by_wallet`` count as predicted nothing; those absent from the truth as no archetype.
    """
    skip = set(unscored) | {a for a, cats in archetype_categories.items() if not cats}
    scored = [a for a in archetype_categories if a not in skip]
    truth = {w: {a for a in archs if a in scored} for w, archs in truth_archetypes.items()}
    predicted = {
        w: {a for a in scored if set(labels) & archetype_categories[a]} for w, labels in labels_by_wallet.items()
    }
    return classification_report(truth, predicted, scored)


def metrics_metadata(metrics: Mapping[str, Any], prefix: str = "") -> dict[str, float | str]:
    """Flatten nested metric dicts to ``{"a.b.c": value}`` with float or str values only
    (bools and ints become floats, lists become comma-joined strings) — Dagster metadata friendly."""
    flat: dict[str, float | str] = {}
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(metrics_metadata(value, prefix=f"{name}."))
        elif isinstance(value, bool | int | float | np.floating | np.integer):
            flat[name] = float(value)
        elif value is None:
            flat[name] = ""
        elif isinstance(value, list | tuple | np.ndarray):
            flat[name] = ", ".join(f"{v:.6g}" if isinstance(v, float) else str(v) for v in value)
        else:
            flat[name] = str(value)
    return flat
