"""Checkpoints: versions accumulate, `latest` moves, any version loads back bit-identically."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from hypertrack_pipeline.errors import UserError
from hypertrack_pipeline.feature_names import FEATURE_NAMES
from hypertrack_pipeline.ml.checkpoints import load_checkpoint, save_checkpoint
from hypertrack_pipeline.ml.model import HEADS, WalletModel
from hypertrack_pipeline.ml.normalization import Normalizer
from hypertrack_pipeline.ml.registry import latest_model_info, latest_version, list_versions
from hypertrack_pipeline.ml.training import predict


def _model(seed: int) -> WalletModel:
    torch.manual_seed(seed)
    model = WalletModel()
    model.influence_scale.fill_(3.5)
    return model.eval()


def test_round_trip_and_versions_are_kept(tmp_path):
    rng = np.random.default_rng(0)
    raw = rng.lognormal(size=(50, len(FEATURE_NAMES)))
    norm = Normalizer.fit(raw)
    m1, m2 = _model(1), _model(2)
    meta = {"config": {"epochs": 20}, "data_window": {"data_start_ms": 1}, "metrics": {"x": 1.0}}
    v1, p1 = save_checkpoint(tmp_path, m1, norm, meta)
    v2, p2 = save_checkpoint(tmp_path, m2, norm, {**meta, "metrics": {"x": 2.0}})
    assert (v1, v2) == ("v0001", "v0002") and p1.is_dir() and p2.is_dir()
    assert list_versions(tmp_path) == ["v0001", "v0002"]
    assert (tmp_path / "latest").read_text().strip() == "v0002" == latest_version(tmp_path)

    latest = load_checkpoint(tmp_path)
    assert latest.version == "v0002" and latest.metadata["metrics"] == {"x": 2.0}
    old = load_checkpoint(tmp_path, "v0001")
    for k, v in m1.state_dict().items():
        assert torch.equal(old.model.state_dict()[k], v)
    x = norm.transform(raw)
    np.testing.assert_allclose(old.normalizer.mean, norm.mean)
    got, want = predict(old.model, old.normalizer.transform(raw)), predict(m1, x)
    for h in HEADS:
        np.testing.assert_allclose(got[h], want[h], rtol=1e-6)
    saved = json.loads((p1 / "metadata.json").read_text())
    assert saved["version"] == "v0001" and saved["feature_names"] == list(FEATURE_NAMES)
    assert saved["code_version"].startswith(("0.", "unknown"))
    assert {"config", "data_window", "metrics", "normalization", "created_at"} <= set(saved)
    assert saved["architecture"]["influence_scale"] == pytest.approx(3.5)
    info = latest_model_info(tmp_path)
    assert info["version"] == "v0002" and info["metrics"] == {"x": 2.0} and info["versions"] == ["v0001", "v0002"]
    assert latest_model_info(tmp_path, "v0001")["metrics"] == {"x": 1.0}
    assert latest_model_info(tmp_path / "nothing") is None


def test_unknown_or_missing_versions_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="no trained model"):
        load_checkpoint(tmp_path)
    save_checkpoint(tmp_path, _model(0), Normalizer.fit(np.ones((3, len(FEATURE_NAMES)))), {})
    with pytest.raises(UserError, match="v0009"):
        load_checkpoint(tmp_path, "v0009")


def test_normalizer_uses_signed_log_then_zscore():
    data = np.array([[0.0, -10.0], [np.e - 1, 10.0], [np.nan, 0.0]])
    norm = Normalizer.fit(data)
    logged = np.array([[0.0, -np.log(11)], [1.0, np.log(11)], [0.0, 0.0]])
    np.testing.assert_allclose(norm.mean, logged.mean(axis=0))
    z = norm.transform(data)
    np.testing.assert_allclose(z, (logged - logged.mean(axis=0)) / logged.std(axis=0), rtol=1e-6)
    const = Normalizer.fit(np.ones((4, 1)))
    assert const.std[0] == 1.0 and np.all(const.transform(np.ones((2, 1))) == 0)
