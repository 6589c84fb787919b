"""The SPEC §10 rules over numpy columns, for hundreds of thousands of wallets at once.

Same expressions, same evaluation order and same float64 arithmetic as ``rules.classify_wallet``
(tests check equality on random and boundary inputs), so both give bit-identical confidences.
Output is a confidence matrix (wallets × ``CATEGORY_NAMES``) with NaN where the rule does not hold.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from hypertrack_pipeline.classification.rules import CATEGORY_NAMES, DEFAULT_THRESHOLDS
from hypertrack_pipeline.classification.thresholds import Thresholds

_COL = {name: k for k, name in enumerate(CATEGORY_NAMES)}

FEATURES_USED = (
    "tx_count",
    "tx_per_day",
    "age_days",
    "size_entropy",
    "burstiness",
    "max_value",
    "total_value",
    "unique_tokens",
    "erc20_count",
    "flip_rate",
    "avg_candle_volatility",
    "positive_momentum_ratio",
    "avg_candle_momentum",
    "avg_candle_volume",
    "skill_confidence",
)
SCORE_COLUMNS = (
    "risk_score",
    "profitability_score",
    "bot_probability",
    "influence_score",
    "sophistication_score",
)
STYLE_COLUMNS = tuple(f"style_{k}" for k in range(6))


def _f64(values: object, n: int) -> np.ndarray:
    if values is None:
        return np.zeros(n, dtype=np.float64)
    return np.asarray(values, dtype=np.float64)


def classify_arrays(
    features: Mapping[str, np.ndarray],
    scores: Mapping[str, np.ndarray],
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> np.ndarray:
    """Confidence matrix of shape (n, len(CATEGORY_NAMES)); NaN = category not assigned.

    ``scores`` holds the five scalar heads by name and the style as ``style_0`` … ``style_5``
    (missing columns count as 0, as in the reference).
    """
    t = thresholds
    n = len(np.asarray(features["tx_count"]))
    f = {name: _f64(features.get(name), n) for name in FEATURES_USED}
    s = _f64(scores.get("sophistication_score"), n)
    p = _f64(scores.get("profitability_score"), n)
    r = _f64(scores.get("risk_score"), n)
    b = _f64(scores.get("bot_probability"), n)
    i = _f64(scores.get("influence_score"), n)
    st0 = _f64(scores.get("style_0"), n)
    st2 = _f64(scores.get("style_2"), n)
    st5 = _f64(scores.get("style_5"), n)

    tx = f["tx_count"]
    tpd = f["tx_per_day"]
    age = f["age_days"]
    se = f["size_entropy"]
    maxv = f["max_value"]
    totv = f["total_value"]
    ut = f["unique_tokens"]
    erc = f["erc20_count"]
    flip = f["flip_rate"]
    vol = f["avg_candle_volatility"]
    pr = f["positive_momentum_ratio"]
    mom = f["avg_candle_momentum"]
    cvol = f["avg_candle_volume"]

    conf = np.full((n, len(CATEGORY_NAMES)), np.nan)
    ml_boost = np.where(np.maximum(p, s) > t.ML_BOOST_MIN, 0.15 * p + 0.15 * s, 0.0)
    momentum_boost = 0.1 * np.maximum(0.0, st0)
    volatility_boost = 0.1 * np.maximum(0.0, st2)
    contrarian_boost = 0.1 * np.maximum(0.0, st5)
    pattern = tx >= t.MIN_TX_PATTERN
    ml_tx = tx >= t.MIN_TX_ML
    strong_tx = tx >= t.MIN_TX_ML_STRONG

    def pair(strong_name: str, strong: np.ndarray, strong_conf, weak_name: str, weak: np.ndarray, weak_conf):
        weak = weak & ~strong
        conf[:, _COL[strong_name]] = np.where(strong, strong_conf, np.nan)
        conf[:, _COL[weak_name]] = np.where(weak, weak_conf, np.nan)

    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        bot_tx = tx >= t.MIN_TX_BOT
        pair(
            "Bot", (b > t.BOT_PROB) & bot_tx, np.minimum(1.0, 0.8 * b + 0.2 * s),
            "Possible Bot", (b > t.POSSIBLE_BOT_PROB) & bot_tx, np.minimum(0.9, 0.7 * b + 0.1 * s),
        )
        pair(
            "Scalper", (tpd > t.SCALPER_TX_PER_DAY) & (se < t.SCALPER_SIZE_ENTROPY) & pattern,
            np.minimum(1.0, (tpd / 100.0) * (1.0 - se) * 0.7 + ml_boost),
            "Possible Scalper",
            (tpd > t.POSSIBLE_SCALPER_TX_PER_DAY) & (se < t.POSSIBLE_SCALPER_SIZE_ENTROPY) & pattern,
            np.minimum(0.85, 0.6 + ml_boost),
        )
        active_tx = tx >= t.MIN_TX_ACTIVE
        pair(
            "Active Trader",
            (t.ACTIVE_TX_PER_DAY_MIN <= tpd) & (tpd <= t.ACTIVE_TX_PER_DAY_MAX)
            & (f["burstiness"] > t.ACTIVE_BURSTINESS) & active_tx,
            np.minimum(1.0, tpd / 50.0 * 0.6 + ml_boost),
            "Moderate Trader",
            (t.MODERATE_TX_PER_DAY_MIN <= tpd) & (tpd <= t.MODERATE_TX_PER_DAY_MAX) & active_tx,
            np.minimum(0.8, 0.6 + ml_boost),
        )
        pair(
            "HODLer", (tpd < t.HODLER_TX_PER_DAY) & (age > t.HODLER_AGE_DAYS),
            np.where(tpd <= 0, 1.0, np.minimum(1.0, (28.0 / age) * (0.11 / tpd))),
            "Possible HODLer", (tpd < t.POSSIBLE_HODLER_TX_PER_DAY) & (age > t.POSSIBLE_HODLER_AGE_DAYS),
            0.6,
        )
        pair(
            "Whale",
            pattern & (((maxv > t.WHALE_MAX_VALUE) & (totv > t.WHALE_TOTAL_VALUE)) | (totv > t.WHALE_TOTAL_VALUE_ALONE)),
            np.minimum(1.0, 0.5 * maxv / 500_000.0 + 0.5 * totv / 5_000_000.0),
            "Possible Whale",
            pattern
            & (
                ((maxv > t.POSSIBLE_WHALE_MAX_VALUE) & (totv > t.POSSIBLE_WHALE_TOTAL_VALUE))
                | (totv > t.POSSIBLE_WHALE_TOTAL_VALUE_ALONE)
            ),
            np.minimum(0.85, 0.4 * maxv / 100_000.0 + 0.4 * totv / 1_000_000.0),
        )
        pair(
            "Token Collector",
            (ut > t.TOKEN_COLLECTOR_UNIQUE_TOKENS) & (erc > t.TOKEN_COLLECTOR_ERC20_RATIO * tx) & pattern,
            np.minimum(1.0, (ut / 50.0) * (erc / (3.0 * tx))),
            "Possible Token Collector",
            (ut > t.POSSIBLE_TOKEN_COLLECTOR_UNIQUE_TOKENS) & (erc > t.POSSIBLE_TOKEN_COLLECTOR_ERC20_RATIO * tx) & pattern,
            0.6,
        )
        pair(
            "Arbitrageur", (ut > t.ARBITRAGEUR_UNIQUE_TOKENS) & (flip > t.ARBITRAGEUR_FLIP_RATE) & pattern,
            np.minimum(1.0, (ut / 20.0) * flip * 0.5 + ml_boost),
            "Possible Arbitrageur",
            (ut > t.POSSIBLE_ARBITRAGEUR_UNIQUE_TOKENS) & (flip > t.POSSIBLE_ARBITRAGEUR_FLIP_RATE) & pattern,
            np.minimum(0.85, 0.6 + ml_boost),
        )
        pair(
            "Volatility Trader", (vol > t.VOLATILITY_CANDLE_VOL) & pattern,
            np.minimum(1.0, (vol / 0.05) * (tx / 20.0) * 0.7 + volatility_boost),
            "Possible Volatility Trader", (vol > t.POSSIBLE_VOLATILITY_CANDLE_VOL) & pattern,
            np.minimum(0.85, 0.6 + volatility_boost),
        )
        pair(
            "Momentum Follower", (pr > t.MOMENTUM_POS_RATIO) & (mom > t.MOMENTUM_CANDLE_MOMENTUM) & pattern,
            np.minimum(1.0, pr * (mom / 0.01) * 0.5 + momentum_boost + ml_boost),
            "Possible Momentum Follower", (pr > t.POSSIBLE_MOMENTUM_POS_RATIO) & pattern,
            np.minimum(0.85, 0.6 + momentum_boost),
        )
        pair(
            "Contrarian Trader", (pr < t.CONTRARIAN_POS_RATIO) & (mom < t.CONTRARIAN_CANDLE_MOMENTUM) & pattern,
            np.minimum(1.0, (1.0 - pr) * (np.abs(mom) / 0.01) * 0.5 + contrarian_boost + ml_boost),
            "Possible Contrarian Trader", (pr < t.POSSIBLE_CONTRARIAN_POS_RATIO) & pattern,
            np.minimum(0.85, 0.6 + contrarian_boost),
        )
        high_volume = (cvol > t.HIGH_VOLUME_USD) & pattern
        conf[:, _COL["High Volume Trader"]] = np.where(
            high_volume,
            np.minimum(1.0, (cvol / (5.0 * t.HIGH_VOLUME_USD)) * (tx / 20.0) * 0.7 + ml_boost),
            np.nan,
        )
        pair(
            "Profitable Trader", (p > t.PROFITABLE_P) & (f["skill_confidence"] >= t.PROFITABLE_SKILL) & ml_tx,
            np.minimum(1.0, 0.7 * p + 0.3 * s),
            "Possibly Profitable Trader",
            (p > t.POSSIBLY_PROFITABLE_P) & (f["skill_confidence"] >= t.POSSIBLY_PROFITABLE_SKILL) & ml_tx,
            np.minimum(0.85, 0.6 * p + 0.2 * s),
        )
        pair(
            "High Risk Trader", (r > t.HIGH_RISK_R) & ml_tx, np.minimum(1.0, 0.7 * r + 0.2 * s),
            "Moderate Risk Trader", (r > t.MODERATE_RISK_R) & ml_tx, np.minimum(0.85, 0.6 * r),
        )
        pair(
            "Sophisticated Trader", (s > t.SOPHISTICATED_S) & strong_tx,
            np.minimum(1.0, 0.6 * s + 0.3 * p + 0.1 * r),
            "Possibly Sophisticated Trader", (s > t.POSSIBLY_SOPHISTICATED_S) & ml_tx,
            np.minimum(0.85, 0.7 * s),
        )
        pair(
            "Influential Trader", (i > t.INFLUENTIAL_I) & strong_tx,
            np.minimum(1.0, 0.7 * np.minimum(1.0, i / 50.0) + 0.3 * s),
            "Possibly Influential Trader", (i > t.POSSIBLY_INFLUENTIAL_I) & ml_tx,
            np.minimum(0.85, 0.6 * np.minimum(1.0, i / 20.0)),
        )

    occ = _COL["Occasional Trader"]
    none_yet = np.isnan(conf[:, :occ]).all(axis=1)
    occasional = none_yet & (tx >= t.OCCASIONAL_MIN_TX) & (tpd > t.OCCASIONAL_TX_PER_DAY)
    conf[:, occ] = np.where(occasional, 0.5, np.nan)
    conf[tx < t.TX_COUNT_THRESHOLD, :] = np.nan
    return conf


def _sorted_entries(conf: np.ndarray) -> tuple[list[str], list[float], list[int]]:
    """Assigned cells, row by row in classify_wallet's order: names, confidences, row bounds."""
    assigned = ~np.isnan(conf)
    # Stable sort by descending confidence; unassigned cells sort last. Ties keep table order.
    order = np.argsort(np.where(assigned, -conf, np.inf), axis=1, kind="stable")
    sorted_conf = np.take_along_axis(conf, order, axis=1)
    keep = ~np.isnan(sorted_conf)
    names = _NAMES[order[keep]].tolist()
    values = sorted_conf[keep].tolist()
    bounds = np.concatenate([[0], np.cumsum(keep.sum(axis=1))]).tolist()
    return names, values, bounds


_NAMES = np.array(CATEGORY_NAMES, dtype=object)


def categories_from_matrix(conf: np.ndarray) -> list[list[tuple[str, float]]]:
    """Per wallet, the assigned (name, confidence) pairs sorted like ``classify_wallet`` does."""
    names, values, bounds = _sorted_entries(conf)
    pairs = list(zip(names, values, strict=True))
    return [pairs[lo:hi] for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)]


def categories_json(conf: np.ndarray) -> list[str]:
    """Per wallet, the categories as compact JSON text ``[["Bot",0.85],["Scalper",0.72]]``.

    Category names are the fixed ``CATEGORY_NAMES`` (no characters JSON would escape), and ``repr``
    of a float is what ``json.dumps`` writes, so plain formatting gives valid, exact JSON fast.
    """
    names, values, bounds = _sorted_entries(conf)
    cells = [f'["{n}",{v!r}]' for n, v in zip(names, values, strict=True)]
    return ["[" + ",".join(cells[lo:hi]) + "]" for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)]
