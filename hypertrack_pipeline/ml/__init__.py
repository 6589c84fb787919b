"""ML stage (SPEC §9): targets, the multi-task model, training, checkpoints, scoring, metrics.

Names are resolved lazily so ``import hypertrack_pipeline.ml`` does not pull in torch until a
function that needs it is used (the CLI's ``--help`` stays fast).
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    "build_training_targets": "targets",
    "read_window": "targets",
    "build_training_window": "windows",
    "build_early_features": "windows",
    "build_late_pnl": "windows",
    "WalletModel": "model",
    "HEADS": "model",
    "LOSS_WEIGHTS": "model",
    "TrainConfig": "training",
    "TrainResult": "training",
    "train_model": "training",
    "resolve_batch_size": "training",
    "resolve_device": "training",
    "predict": "training",
    "Normalizer": "normalization",
    "Checkpoint": "checkpoints",
    "save_checkpoint": "checkpoints",
    "load_checkpoint": "checkpoints",
    "list_versions": "registry",
    "latest_version": "registry",
    "latest_model_info": "registry",
    "train_from_warehouse": "pipeline",
    "score_wallets": "pipeline",
    "compare_versions": "pipeline",
    "compare_versions_on_warehouse": "pipeline",
    "read_feature_matrix": "pipeline",
    "head_errors_vs_baseline": "metrics",
    "spearman": "metrics",
    "classification_report": "metrics",
    "archetype_report": "metrics",
    "metrics_metadata": "metrics",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
