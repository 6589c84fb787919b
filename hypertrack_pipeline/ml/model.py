"""The multi-task wallet model of SPEC §9: one shared encoder, six small heads.

The architecture is fixed by the spec (it mirrors the prototype) so checkpoints stay comparable:
z-scored inputs (the 36 SPEC features and the skill features) → 256 → 256 → 128 (Linear, BatchNorm, ReLU; Dropout 0.3 after the first two
blocks) → heads on the 128-wide code.
"""

from __future__ import annotations

import torch
from torch import nn

from hypertrack_pipeline.feature_names import FEATURE_NAMES

# Head name → width of its output; the order is the order of the scores everywhere downstream.
HEAD_DIMS: dict[str, int] = {
    "style": 6,
    "risk": 1,
    "profitability": 1,
    "bot": 1,
    "influence": 1,
    "sophistication": 1,
}
HEADS: tuple[str, ...] = tuple(HEAD_DIMS)

# SPEC §9 loss weights (they sum to 1).
LOSS_WEIGHTS: dict[str, float] = {
    "bot": 0.25,
    "profitability": 0.25,
    "risk": 0.15,
    "sophistication": 0.15,
    "style": 0.10,
    "influence": 0.10,
}


class MaskDropout(nn.Dropout):
    """Standard (inverted) dropout whose CPU mask comes from ``rand_like`` instead of
    ``bernoulli_``: same distribution, but PyTorch's CPU Bernoulli sampler is slow enough to take a
    third of a training step at batch 8192. On CUDA the fused kernel is used as is."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0 or x.is_cuda:
            return super().forward(x)
        keep = torch.rand_like(x) >= self.p
        return x * keep * (1.0 / (1.0 - self.p))


def _block(n_in: int, n_out: int, dropout: float | None) -> list[nn.Module]:
    layers: list[nn.Module] = [nn.Linear(n_in, n_out), nn.BatchNorm1d(n_out), nn.ReLU()]
    if dropout:
        layers.append(MaskDropout(dropout))
    return layers


def _head(hidden: int, n_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(128, hidden), nn.ReLU(), nn.Linear(hidden, n_out))


class WalletModel(nn.Module):
    """Shared encoder + six heads; ``forward`` returns a dict of head name → tensor.

    Output ranges are enforced by the final activations: style in [-1, 1] (tanh), risk,
    profitability, bot and sophistication in [0, 1] (sigmoid), influence ≥ 0 in ‰ of traded
    notional as ``expm1(softplus(raw))``: the head learns log1p(‰) (the share spans four orders of
    magnitude; a ReLU on the raw ‰ clamped most wallets to exactly 0 and lost their order), and
    softplus keeps it strictly positive with a gradient everywhere. ``influence_scale`` multiplies the
    result (1 for models trained since; kept so the state dict layout is unchanged).
    """

    def __init__(self, n_features: int = len(FEATURE_NAMES), dropout: float = 0.3) -> None:
        super().__init__()
        self.n_features = n_features
        self.encoder = nn.Sequential(
            *_block(n_features, 256, dropout),
            *_block(256, 256, dropout),
            *_block(256, 128, None),
        )
        self.style = _head(128, HEAD_DIMS["style"])
        self.risk = _head(64, 1)
        self.profitability = _head(64, 1)
        self.bot = _head(64, 1)
        self.influence = _head(64, 1)
        self.sophistication = _head(64, 1)
        self.register_buffer("influence_scale", torch.ones(()))
        nn.init.constant_(self.influence[-1].bias, 0.5)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        code = self.encoder(x)
        return {
            "style": torch.tanh(self.style(code)),
            "risk": torch.sigmoid(self.risk(code)).squeeze(-1),
            "profitability": torch.sigmoid(self.profitability(code)).squeeze(-1),
            "bot": torch.sigmoid(self.bot(code)).squeeze(-1),
            "influence": torch.expm1(nn.functional.softplus(self.influence(code))).squeeze(-1) * self.influence_scale,
            "sophistication": torch.sigmoid(self.sophistication(code)).squeeze(-1),
        }
