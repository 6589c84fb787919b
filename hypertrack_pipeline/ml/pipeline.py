"""Warehouse-facing ML steps: train from ``wallet_training_targets``, score ``wallet_features``
into ``wallet_scores``, and compare two model versions on the same wallets."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from hypertrack_pipeline.errors import UserError
from hypertrack_pipeline.feature_names import FEATURE_NAMES
from hypertrack_pipeline.ml.checkpoints import load_checkpoint, save_checkpoint
from hypertrack_pipeline.ml.metrics import head_errors_vs_baseline, spearman
from hypertrack_pipeline.ml.model import HEADS
from hypertrack_pipeline.ml.tables import SCORE_COLUMNS as SCORE_COLUMNS  # re-exported
from hypertrack_pipeline.ml.tables import SCORES_TABLE as SCORES_TABLE_DEF
from hypertrack_pipeline.ml.targets import TARGETS_TABLE, _table_exists, read_window
from hypertrack_pipeline.ml.training import TrainConfig, predict, train_model

SCORES_TABLE = SCORES_TABLE_DEF.name
TARGET_COLUMNS: dict[str, tuple[str, ...]] = {
    "style": tuple(f"t_style_{j}" for j in range(6)),
    "risk": ("t_risk",),
    "profitability": ("t_profitability",),
    "bot": ("t_bot",),
    "influence": ("t_influence",),
    "sophistication": ("t_sophistication",),
}


def _columns(table: pa.Table, names: tuple[str, ...]) -> np.ndarray:
    return np.column_stack([table.column(c).to_numpy(zero_copy_only=False).astype(np.float64) for c in names])


def _head_targets(table: pa.Table) -> dict[str, np.ndarray]:
    out = {}
    for head, cols in TARGET_COLUMNS.items():
        arr = _columns(table, cols)
        out[head] = arr if len(cols) > 1 else arr[:, 0]
    return out


def read_feature_matrix(
    con: duckdb.DuckDBPyConnection, table: str = "wallet_features", names: tuple[str, ...] = FEATURE_NAMES
) -> tuple[np.ndarray, np.ndarray]:
    """(wallets, n×len(names) float64 matrix) from a feature table, ordered by wallet; nulls → 0."""
    if not _table_exists(con, table):
        raise UserError(f"table {table} does not exist yet (build the wallet features first)")
    cols = ", ".join(f'coalesce("{c}", 0)::DOUBLE AS "{c}"' for c in names)
    data = con.sql(f"SELECT wallet, {cols} FROM {table} ORDER BY wallet").to_arrow_table()
    wallets = np.asarray(data.column("wallet").to_pylist(), dtype=object)
    return wallets, _columns(data, names) if data.num_rows else np.zeros((0, len(names)))


def _subset(arrays: Mapping[str, np.ndarray], rows: np.ndarray) -> dict[str, np.ndarray]:
    return {k: v[rows] for k, v in arrays.items()}


def _has_next(data: pa.Table) -> bool:
    return data.num_rows > 0 and str(data.column("profitability_window")[0]) == "next"


def _walk_forward_labels(data: pa.Table) -> tuple[np.ndarray, np.ndarray, int]:
    """Per row: 'train' / 'val' / 'test' / 'unused', the fold, and the test fold.

    Walk-forward ('next'): training and early stopping use the folds before the last, on the wallets
    the hash split puts in train / val; the held-out test rows are the test-split wallets of the last
    fold (never trained on, in any fold, and their target window lies after every training target).
    Same-window fallback: the hash split alone. Tiny data: train on everything rather than refuse.
    """
    split = np.asarray(data.column("split").to_pylist(), dtype=object).astype(str)
    fold = data.column("fold").to_numpy(zero_copy_only=False).astype(np.int64)
    last = int(fold.max()) if len(fold) else 0
    labels = split.copy()
    if _has_next(data) and last > 0:
        labels = np.where(fold < last, np.where(split == "test", "unused", split),
                          np.where(split == "test", "test", "unused"))
    if (labels == "train").sum() < 2:
        labels = np.where(labels == "test", "test", "train")
    return labels, fold, last


def top_decile(pred: np.ndarray, next_pnl_per_notional: np.ndarray, next_total: np.ndarray) -> dict[str, float]:
    """Mean next-window PnL per notional and total PnL (USD) of the wallets in the top predicted tenth
    (at least one wallet): what following the score's best picks would have earned."""
    n = len(pred)
    if n == 0:
        return {"top_decile_next_pnl_per_notional": float("nan"), "top_decile_next_total_pnl": float("nan"),
                "top_decile_wallets": 0}
    k = max(1, n // 10)
    top = np.argsort(-np.asarray(pred, dtype=np.float64), kind="stable")[:k]
    return {"top_decile_next_pnl_per_notional": float(np.mean(next_pnl_per_notional[top])),
            "top_decile_next_total_pnl": float(np.mean(next_total[top])), "top_decile_wallets": int(k)}


def train_from_warehouse(
    con: duckdb.DuckDBPyConnection, models_dir: Path | str, config: TrainConfig | None = None
) -> dict[str, Any]:
    """Train on ``wallet_training_targets``, evaluate on the held-out test wallets, save a new
    checkpoint version; return version, checkpoint path and metrics. The targets are their own step:
    a missing table is a user error here, never a hidden rebuild."""
    config = config or TrainConfig()
    if not _table_exists(con, TARGETS_TABLE):
        raise UserError(f"table {TARGETS_TABLE} does not exist yet (build {TARGETS_TABLE} first)")
    data = con.sql(f"SELECT * FROM {TARGETS_TABLE} ORDER BY fold, wallet").to_arrow_table()
    if data.num_rows < 2:
        raise UserError(f"{TARGETS_TABLE} has {data.num_rows} wallets: too few to train a model")
    features = _columns(data, FEATURE_NAMES)
    targets = _head_targets(data)
    labels, fold, last = _walk_forward_labels(data)
    result = train_model(features, targets, config, labels)

    held_out = np.flatnonzero(labels == "test")
    evaluated_on = "test"
    if not len(held_out):
        held_out, evaluated_on = np.flatnonzero(labels == "val"), "val"
    if not len(held_out):
        held_out, evaluated_on = np.flatnonzero(labels == "train"), "train (no held-out wallets)"
    pred_all = predict(result.model, result.normalizer.transform(features))
    # influence is judged as it is trained, on log1p(‰): in raw ‰ a single whale's error would decide it
    log_pred, log_t = dict(pred_all), dict(targets)
    log_pred["influence"], log_t["influence"] = np.log1p(pred_all["influence"]), np.log1p(targets["influence"])
    means = {**result.train_means, "influence": float(np.mean(log_t["influence"][labels == "train"]))}
    head_metrics = head_errors_vs_baseline(_subset(log_pred, held_out), _subset(log_t, held_out), means)
    next_pnl = data.column("next_pnl_per_notional").to_numpy(zero_copy_only=False).astype(np.float64)
    next_total = data.column("next_total_pnl").to_numpy(zero_copy_only=False).astype(np.float64)
    # out of time: every wallet of the test fold (its target window was never trained on); in the
    # same-window fallback there is no later window, so the held-out wallets are all there is
    oot = np.flatnonzero(fold == last) if _has_next(data) else held_out
    window = read_window(con)
    metrics: dict[str, Any] = {
        "heads": head_metrics,
        "all_heads_beat_baseline": all(bool(m["beats_baseline"]) for m in head_metrics.values()),
        "spearman_profitability_next_pnl": spearman(pred_all["profitability"][oot], next_pnl[oot]),
        "spearman_profitability_next_total_pnl": spearman(pred_all["profitability"][oot], next_total[oot]),
        "spearman_profitability_next_pnl_held_out_wallets": spearman(pred_all["profitability"][held_out],
                                                                     next_pnl[held_out]),
        "spearman_influence": spearman(pred_all["influence"][held_out], targets["influence"][held_out]),
        **top_decile(pred_all["profitability"][oot], next_pnl[oot], next_total[oot]),
        "walk_forward_wallets": int(len(oot)),
        "test_fold": int(last),
        "profitability_window": str(window.get("profitability_window") or data.column("profitability_window")[0]),
        "evaluated_on": evaluated_on,
        "wallets_train": int((labels == "train").sum()),
        "wallets_val": int((labels == "val").sum()),
        "wallets_test": int((labels == "test").sum()),
        "epochs_run": result.epochs_run,
        "best_epoch": result.best_epoch,
        "best_val_loss": result.best_val_loss,
        "stopped_early": result.stopped_early,
        "validated_on": result.validated_on,
        "batch_size": result.batch_size,
        "device": result.device,
        "train_seconds": result.seconds,
    }
    metadata = {
        "config": config.to_dict(),
        "data_window": window,
        "metrics": metrics,
        "history": result.history,
        "train_means": result.train_means,
    }
    version, path = save_checkpoint(models_dir, result.model, result.normalizer, metadata)
    return {"version": version, "checkpoint_path": str(path), "metrics": metrics, "history": result.history}


def _score_arrays(checkpoint_model, normalizer, features: np.ndarray) -> dict[str, np.ndarray]:
    return predict(checkpoint_model, normalizer.transform(features))


def score_wallets(
    con: duckdb.DuckDBPyConnection, models_dir: Path | str, version: str | None = None
) -> dict[str, Any]:
    """Score every wallet of ``wallet_features`` with a checkpoint (default: latest) and write
    ``wallet_scores`` (wallet, style_0..5, risk_score, profitability_score, bot_probability,
    influence_score, sophistication_score, model_version)."""
    ckpt = load_checkpoint(models_dir, version)
    wallets, features = read_feature_matrix(con, names=ckpt.feature_names)
    pred = _score_arrays(ckpt.model, ckpt.normalizer, features)
    columns: dict[str, Any] = {"wallet": pa.array(wallets.tolist(), type=pa.string())}
    for head, cols in SCORE_COLUMNS.items():
        values = pred[head].reshape(len(wallets), len(cols))
        for j, col in enumerate(cols):
            columns[col] = pa.array(values[:, j].astype(np.float64), type=pa.float64())
    columns["model_version"] = pa.array([ckpt.version] * len(wallets), type=pa.string())
    con.register("_ht_scores_stage", pa.table(columns))
    try:
        con.execute(f"CREATE OR REPLACE TABLE {SCORES_TABLE} AS SELECT * FROM _ht_scores_stage")
    finally:
        con.unregister("_ht_scores_stage")
    summary: dict[str, Any] = {"rows": len(wallets), "model_version": ckpt.version}
    for head in HEADS:
        if len(wallets):
            summary[f"mean_{head}"] = float(np.mean(pred[head]))
    return summary


def _as_matrix(features: Any, names: tuple[str, ...]) -> np.ndarray:
    """Accept an n×k array, a mapping of column → values, or a pyarrow/polars table."""
    if isinstance(features, np.ndarray):
        return features.astype(np.float64)
    if isinstance(features, Mapping):
        return np.column_stack([np.asarray(features[c], dtype=np.float64) for c in names])
    if hasattr(features, "column_names") or hasattr(features, "columns"):
        return np.column_stack([np.asarray(features[c], dtype=np.float64) for c in names])
    return np.asarray(features, dtype=np.float64)


def compare_versions(
    models_dir: Path | str,
    v1: str,
    v2: str,
    features: Any,
    targets: Mapping[str, np.ndarray] | None = None,
) -> dict[str, Any]:
    """A/B comparison of two checkpoint versions on the same wallets.

    Per head: mean of each version's scores, mean and max absolute difference, and the Spearman
    agreement of the two rankings; with ``targets`` (head → array) also each version's MSE and
    which one is lower. ``features`` holds raw feature values (n×36 array, a column mapping or a
    table with FEATURE_NAMES columns)."""
    a, b = load_checkpoint(models_dir, v1), load_checkpoint(models_dir, v2)
    if a.feature_names != b.feature_names:
        raise UserError(f"{v1} and {v2} were trained on different feature lists; they cannot be compared")
    x = _as_matrix(features, a.feature_names)
    pa_, pb = _score_arrays(a.model, a.normalizer, x), _score_arrays(b.model, b.normalizer, x)
    heads: dict[str, dict[str, float | str]] = {}
    for head in HEADS:
        da, db = pa_[head].reshape(len(x), -1), pb[head].reshape(len(x), -1)
        diff = np.abs(da - db)
        entry: dict[str, float | str] = {
            f"mean_{v1}": float(da.mean()) if len(x) else float("nan"),
            f"mean_{v2}": float(db.mean()) if len(x) else float("nan"),
            "mean_abs_diff": float(diff.mean()) if len(x) else float("nan"),
            "max_abs_diff": float(diff.max()) if len(x) else float("nan"),
            "rank_agreement": float(np.nanmean([spearman(da[:, j], db[:, j]) for j in range(da.shape[1])])),
        }
        if targets is not None and head in targets:
            t = np.asarray(targets[head], dtype=np.float64).reshape(da.shape)
            mse_a, mse_b = float(np.mean((da - t) ** 2)), float(np.mean((db - t) ** 2))
            entry[f"mse_{v1}"], entry[f"mse_{v2}"] = mse_a, mse_b
            entry["better"] = v1 if mse_a < mse_b else v2 if mse_b < mse_a else "tie"
        heads[head] = entry
    return {
        "versions": [v1, v2],
        "wallets": len(x),
        "heads": heads,
        "trained_metrics": {v: c.metadata.get("metrics", {}) for v, c in ((v1, a), (v2, b))},
    }


def compare_versions_on_warehouse(
    con: duckdb.DuckDBPyConnection, models_dir: Path | str, v1: str, v2: str
) -> dict[str, Any]:
    """:func:`compare_versions` on every wallet of ``wallet_features``, with the training targets
    of the wallets that have them (``wallet_training_targets``) when that table exists."""
    _, features = read_feature_matrix(con)
    result = compare_versions(models_dir, v1, v2, features)
    if _table_exists(con, TARGETS_TABLE):
        data = con.sql(f"SELECT * FROM {TARGETS_TABLE} ORDER BY wallet").to_arrow_table()
        if data.num_rows:
            with_t = compare_versions(models_dir, v1, v2, _columns(data, FEATURE_NAMES), _head_targets(data))
            result["on_training_wallets"] = with_t["heads"]
    return result
