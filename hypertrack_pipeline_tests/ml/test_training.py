"""Training: loss goes down, same seed → identical weights, best weights restored, batch/device rules."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from hypertrack_pipeline.errors import UserError
from hypertrack_pipeline.feature_names import FEATURE_NAMES
from hypertrack_pipeline.ml.model import HEADS
from hypertrack_pipeline.ml.normalization import Normalizer
from hypertrack_pipeline.ml.targets import descriptive_targets, profitability_target
from hypertrack_pipeline.ml.training import (
    TrainConfig,
    _eval_loss,
    diversity_penalty,
    head_losses,
    resolve_batch_size,
    resolve_device,
    train_model,
)

from .conftest import synthetic_features


@pytest.fixture(scope="module")
def dataset():
    n = 256
    feats, skill = synthetic_features(n, seed=5)
    cols = {**feats, "peak_position_notional": feats["avg_value"] * 3, "max_drawdown": feats["avg_value"] * 0.1}
    targets = descriptive_targets(cols)
    targets["profitability"] = profitability_target(skill, feats["total_value"])
    x = np.column_stack([feats[c] for c in FEATURE_NAMES])
    splits = np.where(np.arange(n) % 5 == 0, "val", "train")
    return x, targets, splits


def _state(model) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_training_reduces_loss_and_is_reproducible(dataset):
    x, targets, splits = dataset
    cfg = TrainConfig(epochs=6, seed=11)
    first = train_model(x, targets, cfg, splits)
    second = train_model(x, targets, cfg, splits)
    assert first.batch_size == 32 and first.device == "cpu"
    val = [h["val_loss"] for h in first.history]
    train = [h["train_loss"] for h in first.history]
    assert min(val) < val[0] and train[-1] < train[0]
    a, b = _state(first.model), _state(second.model)
    assert all(torch.equal(a[k], b[k]) for k in a)
    other = _state(train_model(x, targets, TrainConfig(epochs=6, seed=12), splits).model)
    assert not all(torch.equal(a[k], other[k]) for k in a)


@pytest.fixture(scope="module")
def adversarial(dataset):
    """Validation targets mirrored (1 − t, −style): fitting the training wallets makes the
    validation loss worse, so the best epoch comes early and training must stop and restore it."""
    x, targets, splits = dataset
    v = splits == "val"
    adv = {h: np.array(t, dtype=float, copy=True) for h, t in targets.items()}
    for h in ("risk", "profitability", "bot", "sophistication"):
        adv[h][v] = 1 - adv[h][v]
    adv["style"][v] = -adv["style"][v]
    return x, adv, splits


def test_early_stopping_restores_the_best_weights(adversarial):
    x, targets, splits = adversarial
    result = train_model(x, targets, TrainConfig(epochs=12, patience=3, lr=0.01, lr_patience=0, seed=1), splits)
    val = [h["val_loss"] for h in result.history]
    assert result.best_epoch == int(np.argmin(val)) + 1
    assert result.best_epoch < result.epochs_run
    assert result.stopped_early and result.epochs_run == result.best_epoch + 3
    # ReduceLROnPlateau cut the learning rate while validation did not improve
    assert result.history[0]["lr"] == pytest.approx(0.01) and result.history[-1]["lr"] < 0.01
    # the returned model is the best epoch's, not the last one's
    norm: Normalizer = result.normalizer
    val_idx = np.flatnonzero(splits == "val")
    xt = torch.from_numpy(norm.transform(x[val_idx]))
    yt = {h: torch.as_tensor(np.asarray(targets[h])[val_idx], dtype=torch.float32) for h in HEADS}
    loss, _ = _eval_loss(result.model, xt, yt, TrainConfig().loss_weights, result.influence_scale)
    assert loss == pytest.approx(result.best_val_loss, rel=1e-5)
    assert loss < val[-1]


def test_diversity_penalty_punishes_collapsed_heads_only():
    t = {h: torch.tensor([0.0, 1.0, 0.0, 1.0]) for h in HEADS}
    t["style"] = torch.tensor([[0.0] * 6, [1.0] * 6, [0.0] * 6, [1.0] * 6])
    collapsed = {h: torch.full_like(v, 0.5) for h, v in t.items()}
    spread = {h: v * 2 for h, v in t.items()}
    std = float(torch.tensor([0.0, 1.0, 0.0, 1.0]).std())
    # five heads in their own units, influence as log1p: std of log1p([0, 1, 0, 1]) = ln 2 · std
    assert float(diversity_penalty(collapsed, t, 1.0)) == pytest.approx(5 * std + math.log(2.0) * std)
    assert float(diversity_penalty(spread, t, 1.0)) == 0.0
    # influence is compared as log1p(‰ / scale): 0.5 vs targets 0 and 1 at scale 0.5
    losses = head_losses(collapsed, t, influence_scale=0.5)
    expected = (math.log1p(1.0) - math.log1p(0.0)) ** 2 / 2 + (math.log1p(1.0) - math.log1p(2.0)) ** 2 / 2
    assert float(losses["influence"]) == pytest.approx(expected)
    assert float(losses["risk"]) == pytest.approx(0.25)


def test_batch_size_rules():
    assert resolve_batch_size("auto", 9_999) == 32
    assert resolve_batch_size("auto", 10_000) == 64  # 10 000 / 200 steps → 50 → next power of two
    assert resolve_batch_size("auto", 100_000) == 512
    assert resolve_batch_size("auto", 700_000) == 4096
    assert resolve_batch_size("auto", 1_000_000) == 8192
    assert resolve_batch_size("auto", 8_400, n_wallets=12_000) == 64  # the wallet count decides "small"
    assert resolve_batch_size("auto", 100_000_000) == 8192
    assert resolve_batch_size(128, 10) == 128 and resolve_batch_size("256", 10) == 256
    with pytest.raises(UserError):
        resolve_batch_size("big", 10)
    with pytest.raises(UserError):
        resolve_batch_size(1, 10)


def test_device_rules():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(UserError):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(UserError):
            resolve_device("cuda")


def test_training_needs_two_training_wallets(dataset):
    x, targets, _ = dataset
    with pytest.raises(UserError):
        train_model(x, targets, TrainConfig(epochs=1), np.array(["test"] * len(x)))
