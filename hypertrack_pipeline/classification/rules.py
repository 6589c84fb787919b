"""The SPEC §10 category rules: one pure, readable reference function.

``classify_wallet`` is the specification in code, row by row in the SPEC table order; the vectorized
``rules_vectorized.classify_arrays`` is proven equal to it by tests and is what the pipeline runs.
Strong/weak pairs are ``if … elif …`` so the weak form applies only when the strong one does not.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from hypertrack_pipeline.classification.thresholds import Thresholds

# Every category classify_wallet can emit, in SPEC table order (ties in confidence keep this order).
CATEGORY_NAMES: tuple[str, ...] = (
    "Bot",
    "Possible Bot",
    "Scalper",
    "Possible Scalper",
    "Active Trader",
    "Moderate Trader",
    "HODLer",
    "Possible HODLer",
    "Whale",
    "Possible Whale",
    "Token Collector",
    "Possible Token Collector",
    "Arbitrageur",
    "Possible Arbitrageur",
    "Volatility Trader",
    "Possible Volatility Trader",
    "Momentum Follower",
    "Possible Momentum Follower",
    "Contrarian Trader",
    "Possible Contrarian Trader",
    "High Volume Trader",
    "Profitable Trader",
    "Possibly Profitable Trader",
    "High Risk Trader",
    "Moderate Risk Trader",
    "Sophisticated Trader",
    "Possibly Sophisticated Trader",
    "Influential Trader",
    "Possibly Influential Trader",
    "Occasional Trader",
)

DEFAULT_THRESHOLDS = Thresholds()


def _style(scores: Mapping[str, float | Sequence[float]]) -> list[float]:
    """The 6-D trading style as floats (missing → zeros, so rules without a model still run)."""
    raw = scores.get("trading_style")
    if raw is None:
        return [0.0] * 6
    values = [float(v) for v in raw]  # type: ignore[union-attr]
    return (values + [0.0] * 6)[:6]


def classify_wallet(
    features: Mapping[str, float],
    scores: Mapping[str, float | Sequence[float]],
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> list[tuple[str, float]]:
    """Every SPEC §10 category whose rule holds, as (name, confidence), highest confidence first.

    Wallets with tx_count below ``TX_COUNT_THRESHOLD`` are skipped (empty list). Ties keep the SPEC
    table order (Python's sort is stable).
    """
    t = thresholds
    tx_count = float(features["tx_count"])
    if tx_count < t.TX_COUNT_THRESHOLD:
        return []
    tx_per_day = float(features["tx_per_day"])
    age_days = float(features["age_days"])
    size_entropy = float(features["size_entropy"])
    burstiness = float(features["burstiness"])
    max_value = float(features["max_value"])
    total_value = float(features["total_value"])
    unique_tokens = float(features["unique_tokens"])
    erc20_count = float(features["erc20_count"])
    flip_rate = float(features["flip_rate"])
    avg_vol = float(features["avg_candle_volatility"])
    pos_ratio = float(features["positive_momentum_ratio"])
    avg_mom = float(features["avg_candle_momentum"])
    avg_candle_volume = float(features["avg_candle_volume"])
    skill = float(features.get("skill_confidence", 0.0))

    s = float(scores.get("sophistication_score", 0.0))  # type: ignore[arg-type]
    p = float(scores.get("profitability_score", 0.0))  # type: ignore[arg-type]
    r = float(scores.get("risk_score", 0.0))  # type: ignore[arg-type]
    b = float(scores.get("bot_probability", 0.0))  # type: ignore[arg-type]
    i = float(scores.get("influence_score", 0.0))  # type: ignore[arg-type]
    st = _style(scores)

    ml_boost = 0.15 * p + 0.15 * s if max(p, s) > t.ML_BOOST_MIN else 0.0
    momentum_boost = 0.1 * max(0.0, st[0])
    volatility_boost = 0.1 * max(0.0, st[2])
    contrarian_boost = 0.1 * max(0.0, st[5])
    pattern = tx_count >= t.MIN_TX_PATTERN

    out: list[tuple[str, float]] = []

    if b > t.BOT_PROB and tx_count >= t.MIN_TX_BOT:
        out.append(("Bot", min(1.0, 0.8 * b + 0.2 * s)))
    elif b > t.POSSIBLE_BOT_PROB and tx_count >= t.MIN_TX_BOT:
        out.append(("Possible Bot", min(0.9, 0.7 * b + 0.1 * s)))

    if tx_per_day > t.SCALPER_TX_PER_DAY and size_entropy < t.SCALPER_SIZE_ENTROPY and pattern:
        out.append(("Scalper", min(1.0, (tx_per_day / 100.0) * (1.0 - size_entropy) * 0.7 + ml_boost)))
    elif tx_per_day > t.POSSIBLE_SCALPER_TX_PER_DAY and size_entropy < t.POSSIBLE_SCALPER_SIZE_ENTROPY and pattern:
        out.append(("Possible Scalper", min(0.85, 0.6 + ml_boost)))

    active_tx = tx_count >= t.MIN_TX_ACTIVE
    if t.ACTIVE_TX_PER_DAY_MIN <= tx_per_day <= t.ACTIVE_TX_PER_DAY_MAX and burstiness > t.ACTIVE_BURSTINESS and active_tx:
        out.append(("Active Trader", min(1.0, tx_per_day / 50.0 * 0.6 + ml_boost)))
    elif t.MODERATE_TX_PER_DAY_MIN <= tx_per_day <= t.MODERATE_TX_PER_DAY_MAX and active_tx:
        out.append(("Moderate Trader", min(0.8, 0.6 + ml_boost)))

    if tx_per_day < t.HODLER_TX_PER_DAY and age_days > t.HODLER_AGE_DAYS:
        # tx_per_day is > 0 for any wallet with a fill; guard the division for hand-made inputs.
        conf = 1.0 if tx_per_day <= 0 else min(1.0, (28.0 / age_days) * (0.11 / tx_per_day))
        out.append(("HODLer", conf))
    elif tx_per_day < t.POSSIBLE_HODLER_TX_PER_DAY and age_days > t.POSSIBLE_HODLER_AGE_DAYS:
        out.append(("Possible HODLer", 0.6))

    if pattern and (
        (max_value > t.WHALE_MAX_VALUE and total_value > t.WHALE_TOTAL_VALUE)
        or total_value > t.WHALE_TOTAL_VALUE_ALONE
    ):
        out.append(("Whale", min(1.0, 0.5 * max_value / 500_000.0 + 0.5 * total_value / 5_000_000.0)))
    elif pattern and (
        (max_value > t.POSSIBLE_WHALE_MAX_VALUE and total_value > t.POSSIBLE_WHALE_TOTAL_VALUE)
        or total_value > t.POSSIBLE_WHALE_TOTAL_VALUE_ALONE
    ):
        out.append(("Possible Whale", min(0.85, 0.4 * max_value / 100_000.0 + 0.4 * total_value / 1_000_000.0)))

    if (
        unique_tokens > t.TOKEN_COLLECTOR_UNIQUE_TOKENS
        and erc20_count > t.TOKEN_COLLECTOR_ERC20_RATIO * tx_count
        and pattern
    ):
        out.append(("Token Collector", min(1.0, (unique_tokens / 50.0) * (erc20_count / (3.0 * tx_count)))))
    elif (
        unique_tokens > t.POSSIBLE_TOKEN_COLLECTOR_UNIQUE_TOKENS
        and erc20_count > t.POSSIBLE_TOKEN_COLLECTOR_ERC20_RATIO * tx_count
        and pattern
    ):
        out.append(("Possible Token Collector", 0.6))

    if unique_tokens > t.ARBITRAGEUR_UNIQUE_TOKENS and flip_rate > t.ARBITRAGEUR_FLIP_RATE and pattern:
        out.append(("Arbitrageur", min(1.0, (unique_tokens / 20.0) * flip_rate * 0.5 + ml_boost)))
    elif unique_tokens > t.POSSIBLE_ARBITRAGEUR_UNIQUE_TOKENS and flip_rate > t.POSSIBLE_ARBITRAGEUR_FLIP_RATE and pattern:
        out.append(("Possible Arbitrageur", min(0.85, 0.6 + ml_boost)))

    if avg_vol > t.VOLATILITY_CANDLE_VOL and pattern:
        conf = (avg_vol / 0.05) * (tx_count / 20.0) * 0.7 + volatility_boost
        out.append(("Volatility Trader", min(1.0, conf)))
    elif avg_vol > t.POSSIBLE_VOLATILITY_CANDLE_VOL and pattern:
        out.append(("Possible Volatility Trader", min(0.85, 0.6 + volatility_boost)))

    if pos_ratio > t.MOMENTUM_POS_RATIO and avg_mom > t.MOMENTUM_CANDLE_MOMENTUM and pattern:
        conf = pos_ratio * (avg_mom / 0.01) * 0.5 + momentum_boost + ml_boost
        out.append(("Momentum Follower", min(1.0, conf)))
    elif pos_ratio > t.POSSIBLE_MOMENTUM_POS_RATIO and pattern:
        out.append(("Possible Momentum Follower", min(0.85, 0.6 + momentum_boost)))

    if pos_ratio < t.CONTRARIAN_POS_RATIO and avg_mom < t.CONTRARIAN_CANDLE_MOMENTUM and pattern:
        conf = (1.0 - pos_ratio) * (abs(avg_mom) / 0.01) * 0.5 + contrarian_boost + ml_boost
        out.append(("Contrarian Trader", min(1.0, conf)))
    elif pos_ratio < t.POSSIBLE_CONTRARIAN_POS_RATIO and pattern:
        out.append(("Possible Contrarian Trader", min(0.85, 0.6 + contrarian_boost)))

    if avg_candle_volume > t.HIGH_VOLUME_USD and pattern:
        conf = (avg_candle_volume / (5.0 * t.HIGH_VOLUME_USD)) * (tx_count / 20.0) * 0.7 + ml_boost
        out.append(("High Volume Trader", min(1.0, conf)))

    ml_tx = tx_count >= t.MIN_TX_ML
    if p > t.PROFITABLE_P and skill >= t.PROFITABLE_SKILL and ml_tx:
        out.append(("Profitable Trader", min(1.0, 0.7 * p + 0.3 * s)))
    elif p > t.POSSIBLY_PROFITABLE_P and skill >= t.POSSIBLY_PROFITABLE_SKILL and ml_tx:
        out.append(("Possibly Profitable Trader", min(0.85, 0.6 * p + 0.2 * s)))

    if r > t.HIGH_RISK_R and ml_tx:
        out.append(("High Risk Trader", min(1.0, 0.7 * r + 0.2 * s)))
    elif r > t.MODERATE_RISK_R and ml_tx:
        out.append(("Moderate Risk Trader", min(0.85, 0.6 * r)))

    if s > t.SOPHISTICATED_S and tx_count >= t.MIN_TX_ML_STRONG:
        out.append(("Sophisticated Trader", min(1.0, 0.6 * s + 0.3 * p + 0.1 * r)))
    elif s > t.POSSIBLY_SOPHISTICATED_S and ml_tx:
        out.append(("Possibly Sophisticated Trader", min(0.85, 0.7 * s)))

    if i > t.INFLUENTIAL_I and tx_count >= t.MIN_TX_ML_STRONG:
        out.append(("Influential Trader", min(1.0, 0.7 * min(1.0, i / 50.0) + 0.3 * s)))
    elif i > t.POSSIBLY_INFLUENTIAL_I and ml_tx:
        out.append(("Possibly Influential Trader", min(0.85, 0.6 * min(1.0, i / 20.0))))

    if not out and tx_count >= t.OCCASIONAL_MIN_TX and tx_per_day > t.OCCASIONAL_TX_PER_DAY:
        out.append(("Occasional Trader", 0.5))

    out.sort(key=lambda item: -item[1])
    return out
