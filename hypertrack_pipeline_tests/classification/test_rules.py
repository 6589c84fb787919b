"""SPEC §10 rules: every category just above and just below each of its thresholds."""

from __future__ import annotations

import dataclasses

import pytest

from hypertrack_pipeline.classification import CATEGORY_NAMES, Thresholds, classify_wallet

# (category, overrides that make it hold, expected confidence, [overrides that must make it fail])
# Overrides apply to the neutral wallet; keys are feature names or score names (style as "st<k>").
CASES: list[tuple[str, dict[str, float], float, list[dict[str, float]]]] = [
    ("Bot", {"bot_probability": 0.7, "tx_count": 2}, 0.56,
     [{"bot_probability": 0.699, "tx_count": 2}, {"bot_probability": 0.7, "tx_count": 1}]),
    ("Possible Bot", {"bot_probability": 0.5, "tx_count": 2}, 0.35,
     [{"bot_probability": 0.499}, {"bot_probability": 0.5, "tx_count": 1}, {"bot_probability": 0.7}]),
    ("Scalper", {"tx_per_day": 49.71, "size_entropy": 0.4}, 0.4971 * 0.6 * 0.7,
     [{"tx_per_day": 49.7, "size_entropy": 0.4}, {"tx_per_day": 49.71, "size_entropy": 0.401},
      {"tx_per_day": 49.71, "size_entropy": 0.4, "tx_count": 4}]),
    ("Possible Scalper", {"tx_per_day": 29.71, "size_entropy": 0.445}, 0.6,
     [{"tx_per_day": 29.7, "size_entropy": 0.445}, {"tx_per_day": 29.71, "size_entropy": 0.446},
      {"tx_per_day": 29.71, "size_entropy": 0.445, "tx_count": 4},
      {"tx_per_day": 49.71, "size_entropy": 0.4}]),
    ("Active Trader", {"tx_per_day": 0.995, "burstiness": 0.3, "tx_count": 3}, 0.995 / 50 * 0.6,
     [{"tx_per_day": 0.9949, "burstiness": 0.3}, {"tx_per_day": 50.0001, "burstiness": 0.3},
      {"tx_per_day": 0.995, "burstiness": 0.299}, {"tx_per_day": 0.995, "burstiness": 0.3, "tx_count": 2}]),
    ("Active Trader", {"tx_per_day": 50.0, "burstiness": 0.3, "tx_count": 3}, 0.6, []),
    ("Moderate Trader", {"tx_per_day": 0.497, "tx_count": 3}, 0.6,
     [{"tx_per_day": 0.4969}, {"tx_per_day": 30.0001}, {"tx_per_day": 0.497, "tx_count": 2},
      {"tx_per_day": 1.0, "burstiness": 0.5}]),
    ("Moderate Trader", {"tx_per_day": 30.0}, 0.6, []),
    ("HODLer", {"tx_per_day": 0.1, "age_days": 40.0}, (28 / 40) * (0.11 / 0.1),
     [{"tx_per_day": 0.101, "age_days": 40.0}, {"tx_per_day": 0.1, "age_days": 29.0}]),
    ("HODLer", {"tx_per_day": 0.05, "age_days": 30.0, "tx_count": 1}, 1.0, []),
    ("Possible HODLer", {"tx_per_day": 0.4, "age_days": 59.01}, 0.6,
     [{"tx_per_day": 0.401, "age_days": 60.0}, {"tx_per_day": 0.4, "age_days": 59.0},
      {"tx_per_day": 0.05, "age_days": 60.0}]),
    ("Whale", {"max_value": 49_701.0, "total_value": 99_501.0}, 0.5 * 49_701 / 5e5 + 0.5 * 99_501 / 5e6,
     [{"max_value": 49_700.0, "total_value": 99_501.0}, {"max_value": 49_701.0, "total_value": 99_500.0},
      {"max_value": 49_701.0, "total_value": 99_501.0, "tx_count": 4}]),
    ("Whale", {"max_value": 0.0, "total_value": 497_001.0}, 0.5 * 497_001 / 5e6,
     [{"max_value": 0.0, "total_value": 497_000.0}]),
    ("Possible Whale", {"max_value": 9_951.0, "total_value": 49_701.0}, 0.4 * 0.09951 + 0.4 * 0.049701,
     [{"max_value": 9_950.0, "total_value": 49_701.0}, {"max_value": 9_951.0, "total_value": 49_700.0},
      {"max_value": 9_951.0, "total_value": 49_701.0, "tx_count": 4},
      {"max_value": 49_701.0, "total_value": 99_501.0}]),
    ("Possible Whale", {"max_value": 0.0, "total_value": 199_001.0}, 0.4 * 0.199001,
     [{"max_value": 0.0, "total_value": 199_000.0}]),
    ("Token Collector", {"unique_tokens": 10.0, "erc20_count": 21.0}, (10 / 50) * (21 / 30),
     [{"unique_tokens": 9.9, "erc20_count": 21.0}, {"unique_tokens": 10.0, "erc20_count": 19.95},
      {"unique_tokens": 10.0, "erc20_count": 21.0, "tx_count": 4}]),
    ("Possible Token Collector", {"unique_tokens": 5.0, "erc20_count": 9.99}, 0.6,
     [{"unique_tokens": 4.9, "erc20_count": 9.99}, {"unique_tokens": 5.0, "erc20_count": 9.98},
      {"unique_tokens": 10.0, "erc20_count": 21.0}]),
    ("Arbitrageur", {"unique_tokens": 5.0, "flip_rate": 0.5}, 0.25 * 0.5 * 0.5,
     [{"unique_tokens": 4.9, "flip_rate": 0.5}, {"unique_tokens": 5.0, "flip_rate": 0.497},
      {"unique_tokens": 5.0, "flip_rate": 0.5, "tx_count": 4}]),
    ("Possible Arbitrageur", {"unique_tokens": 3.0, "flip_rate": 0.298}, 0.6,
     [{"unique_tokens": 2.9, "flip_rate": 0.3}, {"unique_tokens": 3.0, "flip_rate": 0.297},
      {"unique_tokens": 5.0, "flip_rate": 0.5}]),
    ("Volatility Trader", {"avg_candle_volatility": 0.02}, 0.4 * 0.5 * 0.7,
     [{"avg_candle_volatility": 0.0199}, {"avg_candle_volatility": 0.02, "tx_count": 4}]),
    ("Possible Volatility Trader", {"avg_candle_volatility": 0.00996}, 0.6,
     [{"avg_candle_volatility": 0.00995}, {"avg_candle_volatility": 0.02}]),
    ("Momentum Follower", {"positive_momentum_ratio": 0.7, "avg_candle_momentum": 0.001}, 0.7 * 0.1 * 0.5,
     [{"positive_momentum_ratio": 0.699, "avg_candle_momentum": 0.001},
      {"positive_momentum_ratio": 0.7, "avg_candle_momentum": 0.000995},
      {"positive_momentum_ratio": 0.7, "avg_candle_momentum": 0.001, "tx_count": 4}]),
    ("Possible Momentum Follower", {"positive_momentum_ratio": 0.6}, 0.6,
     [{"positive_momentum_ratio": 0.599}, {"positive_momentum_ratio": 0.7, "avg_candle_momentum": 0.001}]),
    ("Contrarian Trader", {"positive_momentum_ratio": 0.3, "avg_candle_momentum": -0.001}, 0.7 * 0.1 * 0.5,
     [{"positive_momentum_ratio": 0.301, "avg_candle_momentum": -0.001},
      {"positive_momentum_ratio": 0.3, "avg_candle_momentum": -0.000995},
      {"positive_momentum_ratio": 0.3, "avg_candle_momentum": -0.001, "tx_count": 4}]),
    ("Possible Contrarian Trader", {"positive_momentum_ratio": 0.4}, 0.6,
     [{"positive_momentum_ratio": 0.401}, {"positive_momentum_ratio": 0.3, "avg_candle_momentum": -0.001}]),
    ("High Volume Trader", {"avg_candle_volume": 300_001.0}, (300_001 / 1_500_000) * 0.5 * 0.7,
     [{"avg_candle_volume": 300_000.0}, {"avg_candle_volume": 300_001.0, "tx_count": 4}]),
    # beyond SPEC §10: the pair also needs skill_confidence ≥ 0.9 / ≥ 0.7 (the posterior P(edge > 0))
    ("Profitable Trader", {"profitability_score": 0.6, "tx_count": 4, "skill_confidence": 0.9}, 0.42,
     [{"profitability_score": 0.599, "skill_confidence": 0.9}, {"profitability_score": 0.6, "tx_count": 3},
      {"profitability_score": 0.6, "skill_confidence": 0.899}]),
    ("Possibly Profitable Trader", {"profitability_score": 0.4, "tx_count": 4, "skill_confidence": 0.7}, 0.24,
     [{"profitability_score": 0.399, "skill_confidence": 0.7}, {"profitability_score": 0.4, "tx_count": 3},
      {"profitability_score": 0.6, "skill_confidence": 0.9}, {"profitability_score": 0.4, "skill_confidence": 0.699}]),
    ("High Risk Trader", {"risk_score": 0.6, "tx_count": 4}, 0.42,
     [{"risk_score": 0.599}, {"risk_score": 0.6, "tx_count": 3}]),
    ("Moderate Risk Trader", {"risk_score": 0.4, "tx_count": 4}, 0.24,
     [{"risk_score": 0.399}, {"risk_score": 0.4, "tx_count": 3}, {"risk_score": 0.6}]),
    ("Sophisticated Trader", {"sophistication_score": 0.6, "tx_count": 5}, 0.36,
     [{"sophistication_score": 0.599}, {"sophistication_score": 0.6, "tx_count": 4}]),
    ("Possibly Sophisticated Trader", {"sophistication_score": 0.4, "tx_count": 4}, 0.28,
     [{"sophistication_score": 0.399}, {"sophistication_score": 0.4, "tx_count": 3},
      {"sophistication_score": 0.6, "tx_count": 5}]),
    ("Possibly Sophisticated Trader", {"sophistication_score": 0.6, "tx_count": 4}, 0.42, []),
    ("Influential Trader", {"influence_score": 3.0, "tx_count": 5}, 0.7 * 0.06,
     [{"influence_score": 2.985}, {"influence_score": 3.0, "tx_count": 4}]),
    ("Influential Trader", {"influence_score": 80.0}, 0.7, []),
    ("Possibly Influential Trader", {"influence_score": 1.0, "tx_count": 4}, 0.03,
     [{"influence_score": 0.995}, {"influence_score": 1.0, "tx_count": 3}, {"influence_score": 3.0, "tx_count": 5}]),
    ("Possibly Influential Trader", {"influence_score": 2.985, "tx_count": 5}, 0.6 * 2.985 / 20, []),
    ("Occasional Trader", {"tx_per_day": 35.0, "tx_count": 5}, 0.5,
     [{"tx_per_day": 35.0, "tx_count": 4}, {"tx_per_day": 35.0, "bot_probability": 0.5},
      {"tx_per_day": 20.0}]),
]

SCORE_KEYS = {"risk_score", "profitability_score", "bot_probability", "influence_score", "sophistication_score"}


def run(neutral, overrides: dict[str, float], thresholds: Thresholds | None = None) -> dict[str, float]:
    features = dict(neutral[0])
    scores = {**neutral[1], "trading_style": list(neutral[1]["trading_style"])}
    for key, value in overrides.items():
        if key in SCORE_KEYS:
            scores[key] = value
        elif key.startswith("st"):
            scores["trading_style"][int(key[2:])] = value
        else:
            features[key] = value
    result = classify_wallet(features, scores) if thresholds is None else classify_wallet(features, scores, thresholds)
    return dict(result)


def test_neutral_wallet_has_no_category(neutral):
    assert classify_wallet(*neutral) == []


@pytest.mark.parametrize(("category", "above", "confidence", "belows"), CASES, ids=[c[0] for c in CASES])
def test_category_boundaries(neutral, category, above, confidence, belows):
    got = run(neutral, above)
    assert category in got, f"{category} should hold for {above}: {got}"
    assert got[category] == pytest.approx(confidence, rel=1e-12, abs=1e-15)
    for below in belows:
            assert category not in run(neutral, {**above, **below}), f"{category} must not hold for {above | below}"


STRONG_WEAK = [(CATEGORY_NAMES[k], CATEGORY_NAMES[k + 1]) for k in range(0, 20, 2)] + [
    (CATEGORY_NAMES[k], CATEGORY_NAMES[k + 1]) for k in range(21, 29, 2)
]


def test_pairs_are_the_spec_pairs():
    assert ("Bot", "Possible Bot") in STRONG_WEAK
    assert ("Active Trader", "Moderate Trader") in STRONG_WEAK
    assert ("Influential Trader", "Possibly Influential Trader") in STRONG_WEAK
    assert ("Profitable Trader", "Possibly Profitable Trader") in STRONG_WEAK
    assert len(STRONG_WEAK) == 14


def test_strong_form_suppresses_weak_form(neutral):
    # Everything strong at once: none of the weak forms may appear, every strong form must.
    got = run(neutral, {
        "tx_count": 50, "bot_probability": 0.9, "tx_per_day": 49.8, "size_entropy": 0.1, "burstiness": 0.9,
        "max_value": 60_000, "total_value": 600_000, "unique_tokens": 12, "erc20_count": 150, "flip_rate": 0.6,
        "avg_candle_volatility": 0.03, "positive_momentum_ratio": 0.8, "avg_candle_momentum": 0.002,
        "profitability_score": 0.9, "skill_confidence": 0.95, "risk_score": 0.9, "sophistication_score": 0.9, "influence_score": 10,
    })
    for strong, weak in STRONG_WEAK:
        if strong in ("HODLer", "Contrarian Trader"):
            continue  # incompatible with the other strong forms in one wallet
        assert strong in got, strong
        assert weak not in got, weak


def test_ml_boost_gate_and_cap(neutral):
    base = {"tx_per_day": 29.71, "size_entropy": 0.445}
    assert run(neutral, base)["Possible Scalper"] == 0.6
    # max(p, s) == 0.2 is not above the gate: no boost.
    assert run(neutral, {**base, "profitability_score": 0.2, "sophistication_score": 0.2})["Possible Scalper"] == 0.6
    boosted = run(neutral, {**base, "profitability_score": 0.1, "sophistication_score": 0.25})
    assert boosted["Possible Scalper"] == pytest.approx(0.6 + 0.015 + 0.0375)
    capped = run(neutral, {**base, "profitability_score": 0.9, "sophistication_score": 0.9})
    assert capped["Possible Scalper"] == 0.85
    # Moderate Trader gets the same boost with its own cap of 0.8.
    assert capped["Moderate Trader"] == 0.8


@pytest.mark.parametrize(
    ("category", "overrides", "style_index"),
    [
        ("Possible Momentum Follower", {"positive_momentum_ratio": 0.6}, 0),
        ("Possible Contrarian Trader", {"positive_momentum_ratio": 0.4}, 5),
        ("Possible Volatility Trader", {"avg_candle_volatility": 0.015}, 2),
    ],
)
def test_style_boost_uses_its_own_dimension(neutral, category, overrides, style_index):
    assert run(neutral, {**overrides, f"st{style_index}": 0.5})[category] == pytest.approx(0.65)
    assert run(neutral, {**overrides, f"st{style_index}": -0.5})[category] == pytest.approx(0.6)
    other = (style_index + 1) % 6
    assert run(neutral, {**overrides, f"st{other}": 0.9})[category] == pytest.approx(0.6)


def test_momentum_strong_form_adds_style_and_ml_boost(neutral):
    got = run(neutral, {"positive_momentum_ratio": 0.8, "avg_candle_momentum": 0.005, "st0": 0.4,
                        "profitability_score": 0.3, "sophistication_score": 0.1})
    assert got["Momentum Follower"] == pytest.approx(0.8 * 0.5 * 0.5 + 0.04 + 0.06)


def test_sorted_by_confidence_ties_in_table_order(neutral):
    result = classify_wallet(*({**neutral[0], "tx_per_day": 29.71, "size_entropy": 0.445,
                                "positive_momentum_ratio": 0.6, "avg_candle_volatility": 0.015,
                                "tx_count": 12},
                               {**neutral[1], "bot_probability": 0.9, "risk_score": 0.45}))
    names = [name for name, _ in result]
    confidences = [conf for _, conf in result]
    assert confidences == sorted(confidences, reverse=True)
    assert names[0] == "Bot"
    ties = [name for name, conf in result if conf == 0.6]
    assert ties == ["Possible Scalper", "Moderate Trader", "Possible Volatility Trader", "Possible Momentum Follower"]
    assert names[-1] == "Moderate Risk Trader"


def test_tx_count_threshold_skips_wallets(neutral):
    hodler = {"tx_per_day": 0.05, "age_days": 40.0}
    assert "HODLer" in run(neutral, {**hodler, "tx_count": 1})
    assert run(neutral, {**hodler, "tx_count": 0}) == {}
    assert run(neutral, {**hodler, "tx_count": 10}, Thresholds(TX_COUNT_THRESHOLD=11)) == {}
    assert "HODLer" in run(neutral, {**hodler, "tx_count": 11}, Thresholds(TX_COUNT_THRESHOLD=11))


def test_occasional_only_without_other_categories(neutral):
    # Custom thresholds move Moderate Trader out of the way to test Occasional's own 0.5/day boundary.
    t = Thresholds(MODERATE_TX_PER_DAY_MIN=10.0)
    assert run(neutral, {"tx_per_day": 0.5001}, t) == {"Occasional Trader": 0.5}
    assert run(neutral, {"tx_per_day": 0.5}, t) == {}
    assert run(neutral, {"tx_per_day": 0.5001, "risk_score": 0.45}, t) == {"Moderate Risk Trader": 0.6 * 0.45}


def test_custom_thresholds_move_boundaries(neutral):
    t = Thresholds(HIGH_VOLUME_USD=1_000.0, BOT_PROB=0.95, MIN_TX_PATTERN=20)
    got = run(neutral, {"avg_candle_volume": 1_001.0, "tx_count": 20, "bot_probability": 0.9}, t)
    assert got["High Volume Trader"] == pytest.approx((1_001 / 5_000) * 1.0 * 0.7)
    assert "Bot" not in got and got["Possible Bot"] == pytest.approx(0.63)
    assert "High Volume Trader" not in run(neutral, {"avg_candle_volume": 1_001.0, "tx_count": 19}, t)
    assert Thresholds().HIGH_VOLUME_USD == 300_000
    assert Thresholds().TX_COUNT_THRESHOLD == 1 and Thresholds().SHOW_NO_CATEGORIES is True
    with pytest.raises(dataclasses.FrozenInstanceError):
        Thresholds().BOT_PROB = 0.1  # type: ignore[misc]


def test_every_category_name_is_reachable():
    assert {c[0] for c in CASES} == set(CATEGORY_NAMES)
