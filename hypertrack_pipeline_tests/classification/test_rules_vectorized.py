"""The numpy rules equal the reference classify_wallet exactly, including at every threshold."""

from __future__ import annotations

import dataclasses
import json

import numpy as np

from hypertrack_pipeline.classification import Thresholds, classify_wallet
from hypertrack_pipeline.classification.rules_vectorized import (
    categories_from_matrix,
    categories_json,
    classify_arrays,
)

# Values around which each input is sampled: the rule thresholds themselves (hit exactly and ±1 ulp-ish).
PIVOTS = {
    "tx_count": [0, 1, 2, 3, 4, 5, 6, 20, 200],
    "tx_per_day": [0.0, 0.05, 0.1, 0.101, 0.4, 0.401, 0.497, 0.5, 0.995, 29.7, 30.0, 49.7, 50.0, 120.0],
    "age_days": [0.5, 29.0, 40.0, 59.0, 90.0],
    "size_entropy": [0.1, 0.401, 0.446, 0.9],
    "burstiness": [0.0, 0.299, 1.5],
    "max_value": [0.0, 9_950.0, 49_700.0, 600_000.0],
    "total_value": [0.0, 49_700.0, 99_500.0, 199_000.0, 497_000.0, 6e6],
    "unique_tokens": [1.0, 2.9, 4.9, 9.9, 30.0],
    "erc20_count": [0.0, 5.0, 10.0, 20.0, 400.0],
    "flip_rate": [0.0, 0.297, 0.497, 0.9],
    "avg_candle_volatility": [0.0, 0.00995, 0.0199, 0.08],
    "positive_momentum_ratio": [0.0, 0.301, 0.401, 0.5, 0.599, 0.699, 1.0],
    "avg_candle_momentum": [-0.02, -0.000995, 0.0, 0.000995, 0.02],
    "avg_candle_volume": [0.0, 300_000.0, 3e6],
    "risk_score": [0.0, 0.399, 0.599, 1.0],
    "profitability_score": [0.0, 0.2, 0.399, 0.599, 1.0],
    "skill_confidence": [0.0, 0.5, 0.7, 0.9, 1.0],
    "bot_probability": [0.0, 0.499, 0.699, 1.0],
    "influence_score": [0.0, 0.995, 2.985, 60.0],
    "sophistication_score": [0.0, 0.2, 0.399, 0.599, 1.0],
}
QUIET = {
    "size_entropy": 0.9, "burstiness": 0.0, "max_value": 0.0, "total_value": 0.0, "unique_tokens": 1.0,
    "erc20_count": 0.0, "flip_rate": 0.0, "avg_candle_volatility": 0.0, "positive_momentum_ratio": 0.5,
    "avg_candle_momentum": 0.0, "avg_candle_volume": 0.0, "risk_score": 0.0, "profitability_score": 0.0,
    "bot_probability": 0.0, "influence_score": 0.0, "sophistication_score": 0.0, "age_days": 10.0,
}
SCORES = ("risk_score", "profitability_score", "bot_probability", "influence_score", "sophistication_score")


def sample(n: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    cols: dict[str, np.ndarray] = {}
    for name, pivots in PIVOTS.items():
        base = rng.choice(np.asarray(pivots, dtype=np.float64), size=n)
        jitter = rng.choice([-1e-9, 0.0, 0.0, 1e-9], size=n) * np.maximum(1.0, np.abs(base))
        spread = rng.uniform(0.5, 1.5, size=n)
        pick = rng.uniform(size=n)
        cols[name] = np.where(pick < 0.7, base + jitter, base * spread)
    cols["tx_count"] = np.round(cols["tx_count"])
    # Quiet wallets (no signal but activity) so the Occasional Trader fallback is exercised too.
    quiet = rng.uniform(size=n) < 0.15
    for name, value in QUIET.items():
        cols[name] = np.where(quiet, value, cols[name])
    cols["tx_per_day"] = np.where(quiet, rng.choice([0.1, 0.5, 0.5 + 1e-9, 35.0, 60.0], size=n), cols["tx_per_day"])
    for k in range(6):
        cols[f"style_{k}"] = rng.uniform(-1, 1, size=n)
    return cols


def reference(cols: dict[str, np.ndarray], thresholds: Thresholds) -> list[list[tuple[str, float]]]:
    n = len(cols["tx_count"])
    out = []
    for j in range(n):
        features = {k: float(v[j]) for k, v in cols.items() if k not in SCORES and not k.startswith("style_")}
        scores: dict[str, object] = {k: float(cols[k][j]) for k in SCORES}
        scores["trading_style"] = [float(cols[f"style_{k}"][j]) for k in range(6)]
        out.append(classify_wallet(features, scores, thresholds))
    return out


def test_vectorized_equals_reference_default_thresholds():
    cols = sample(6000, seed=1)
    got = categories_from_matrix(classify_arrays(cols, cols))
    want = reference(cols, Thresholds())
    assert got == want  # exact, confidences included
    assert sum(1 for cats in want if cats) > 4000  # the sample exercises the rules, not empty lists
    assert len({name for cats in want for name, _ in cats}) == 30  # every category occurs
    as_json = categories_json(classify_arrays(cols, cols))
    assert [[tuple(cell) for cell in json.loads(text)] for text in as_json] == want
    assert as_json[0] == json.dumps([list(cell) for cell in want[0]], separators=(",", ":"))


def test_vectorized_equals_reference_custom_thresholds():
    t = dataclasses.replace(Thresholds(), TX_COUNT_THRESHOLD=5, HIGH_VOLUME_USD=50_000.0, MIN_TX_PATTERN=3,
                            SCALPER_TX_PER_DAY=20.0, OCCASIONAL_TX_PER_DAY=0.1)
    cols = sample(3000, seed=2)
    assert categories_from_matrix(classify_arrays(cols, cols, t)) == reference(cols, t)


def test_empty_input():
    cols = {name: np.zeros(0) for name in PIVOTS}
    conf = classify_arrays(cols, cols)
    assert conf.shape == (0, 30)
    assert categories_from_matrix(conf) == []
    assert categories_json(conf) == []
