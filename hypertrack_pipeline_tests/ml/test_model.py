"""WalletModel matches the SPEC §9 architecture and its heads stay in their ranges."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from hypertrack_pipeline.feature_names import FEATURE_NAMES
from hypertrack_pipeline.ml.model import HEADS, LOSS_WEIGHTS, MaskDropout, WalletModel


def test_encoder_and_heads_have_the_spec_shapes():
    model = WalletModel()
    linears = [m for m in model.encoder if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(len(FEATURE_NAMES), 256), (256, 256), (256, 128)]
    assert sum(isinstance(m, nn.BatchNorm1d) for m in model.encoder) == 3
    dropouts = [m for m in model.encoder if isinstance(m, nn.Dropout)]
    assert [d.p for d in dropouts] == [0.3, 0.3]
    style = [m for m in model.style if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in style] == [(128, 128), (128, 6)]
    for head in ("risk", "profitability", "bot", "influence", "sophistication"):
        layers = [m for m in getattr(model, head) if isinstance(m, nn.Linear)]
        assert [(m.in_features, m.out_features) for m in layers] == [(128, 64), (64, 1)]


@pytest.mark.parametrize("train", [True, False])
def test_outputs_have_the_right_shapes_and_ranges(train):
    torch.manual_seed(3)
    model = WalletModel()
    model.influence_scale.fill_(7.0)
    model.train(train)
    out = model(torch.randn(64, len(FEATURE_NAMES)) * 5)
    assert set(out) == set(HEADS)
    assert out["style"].shape == (64, 6)
    assert out["style"].min() >= -1 and out["style"].max() <= 1
    for head in ("risk", "profitability", "bot", "sophistication"):
        assert out[head].shape == (64,)
        assert out[head].min() >= 0 and out[head].max() <= 1
    # softplus, not ReLU: strictly positive, so no wallet is clamped to exactly 0 and the order survives
    assert out["influence"].shape == (64,) and out["influence"].min() > 0
    # the influence buffer scales the head (so ‰ values need not be learned at unit scale)
    model.eval()
    x = torch.randn(8, len(FEATURE_NAMES))
    base = model(x)["influence"]
    model.influence_scale.fill_(14.0)
    torch.testing.assert_close(model(x)["influence"], base * 2)


def test_loss_weights_are_the_spec_weights():
    assert LOSS_WEIGHTS == {"bot": 0.25, "profitability": 0.25, "risk": 0.15, "sophistication": 0.15,
                            "style": 0.10, "influence": 0.10}
    assert sum(LOSS_WEIGHTS.values()) == pytest.approx(1.0)


def test_mask_dropout_drops_about_p_and_rescales():
    torch.manual_seed(0)
    drop = MaskDropout(0.3).train()
    out = drop(torch.ones(200, 500))
    kept = out != 0
    assert abs(float(kept.float().mean()) - 0.7) < 0.01
    torch.testing.assert_close(out[kept], torch.full_like(out[kept], 1 / 0.7))
    drop.eval()
    x = torch.randn(4, 5)
    assert torch.equal(drop(x), x)
