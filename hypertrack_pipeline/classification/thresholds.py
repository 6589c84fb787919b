"""Every number the classification compares against, as one frozen configuration object.

The SPEC §10 defaults are the SPEC values (inherited from the prototype, whose odd-looking cut-offs
such as 0.699 or 49.7 are kept so results compare with it). Confidence formulas keep their SPEC
constants in ``rules.py``; the rule thresholds, the ML boost gate, the report switches and the
parameters of the beyond-prototype labels (Kirilenko classes, wash trades, cohort ladders) live here.
Override with ``dataclasses.replace(Thresholds(), NAME=value)`` or ``Thresholds(NAME=value)``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Thresholds:
    """Rule thresholds of SPEC §10 (names follow the prototype's upper-case configuration style)."""

    # Report / filtering switches.
    TX_COUNT_THRESHOLD: int = 1
    SHOW_NO_CATEGORIES: bool = True

    # Minimum transaction counts shared by groups of rules.
    MIN_TX_BOT: int = 2
    MIN_TX_ACTIVE: int = 3
    MIN_TX_ML: int = 4  # Profitable, Risk, Possibly Sophisticated, Possibly Influential
    MIN_TX_PATTERN: int = 5  # Scalper, Whale, Token, Arbitrageur, Volatility, Momentum, Contrarian, ...
    MIN_TX_ML_STRONG: int = 5  # Sophisticated, Influential

    # ML_boost applies when max(profitability, sophistication) exceeds this.
    ML_BOOST_MIN: float = 0.2

    BOT_PROB: float = 0.699
    POSSIBLE_BOT_PROB: float = 0.499

    SCALPER_TX_PER_DAY: float = 49.7
    SCALPER_SIZE_ENTROPY: float = 0.401
    POSSIBLE_SCALPER_TX_PER_DAY: float = 29.7
    POSSIBLE_SCALPER_SIZE_ENTROPY: float = 0.446

    ACTIVE_TX_PER_DAY_MIN: float = 0.995
    ACTIVE_TX_PER_DAY_MAX: float = 50.0
    ACTIVE_BURSTINESS: float = 0.299
    MODERATE_TX_PER_DAY_MIN: float = 0.497
    MODERATE_TX_PER_DAY_MAX: float = 30.0

    HODLER_TX_PER_DAY: float = 0.101
    HODLER_AGE_DAYS: float = 29.0
    POSSIBLE_HODLER_TX_PER_DAY: float = 0.401
    POSSIBLE_HODLER_AGE_DAYS: float = 59.0

    WHALE_MAX_VALUE: float = 49_700.0
    WHALE_TOTAL_VALUE: float = 99_500.0
    WHALE_TOTAL_VALUE_ALONE: float = 497_000.0
    POSSIBLE_WHALE_MAX_VALUE: float = 9_950.0
    POSSIBLE_WHALE_TOTAL_VALUE: float = 49_700.0
    POSSIBLE_WHALE_TOTAL_VALUE_ALONE: float = 199_000.0

    TOKEN_COLLECTOR_UNIQUE_TOKENS: float = 9.9
    TOKEN_COLLECTOR_ERC20_RATIO: float = 1.995
    POSSIBLE_TOKEN_COLLECTOR_UNIQUE_TOKENS: float = 4.9
    POSSIBLE_TOKEN_COLLECTOR_ERC20_RATIO: float = 0.998

    ARBITRAGEUR_UNIQUE_TOKENS: float = 4.9
    ARBITRAGEUR_FLIP_RATE: float = 0.497
    POSSIBLE_ARBITRAGEUR_UNIQUE_TOKENS: float = 2.9
    POSSIBLE_ARBITRAGEUR_FLIP_RATE: float = 0.297

    VOLATILITY_CANDLE_VOL: float = 0.0199
    POSSIBLE_VOLATILITY_CANDLE_VOL: float = 0.00995

    MOMENTUM_POS_RATIO: float = 0.699
    MOMENTUM_CANDLE_MOMENTUM: float = 0.000995
    POSSIBLE_MOMENTUM_POS_RATIO: float = 0.599
    CONTRARIAN_POS_RATIO: float = 0.301
    CONTRARIAN_CANDLE_MOMENTUM: float = -0.000995
    POSSIBLE_CONTRARIAN_POS_RATIO: float = 0.401

    # USD per minute of candle volume (the prototype's 99.5 was in ETH, without a unit).
    HIGH_VOLUME_USD: float = 300_000.0

    PROFITABLE_P: float = 0.599
    POSSIBLY_PROFITABLE_P: float = 0.399
    # Beyond SPEC §10: the profitable pair also needs statistical confidence that the wallet's edge
    # is positive (feature skill_confidence, the posterior P(edge > 0) of its 15 min mark-outs), so
    # one lucky window does not make a "Profitable Trader" (rule: skill_confidence ≥ this). 0 restores
    # the SPEC rule; a caller that passes no skill_confidence gets 0 (no evidence of skill).
    PROFITABLE_SKILL: float = 0.9
    POSSIBLY_PROFITABLE_SKILL: float = 0.7
    HIGH_RISK_R: float = 0.599
    MODERATE_RISK_R: float = 0.399
    SOPHISTICATED_S: float = 0.599
    POSSIBLY_SOPHISTICATED_S: float = 0.399
    INFLUENTIAL_I: float = 2.985
    POSSIBLY_INFLUENTIAL_I: float = 0.995

    OCCASIONAL_MIN_TX: int = 5
    OCCASIONAL_TX_PER_DAY: float = 0.5

    # --- Beyond the prototype (SPEC §10, second part) -------------------------------------------------
    # Kirilenko et al. (2017) trader classes over the fills table (self-trades excluded).
    KIRILENKO_END_RATIO_MAX: float = 0.05  # |end-of-day net position| / daily volume, intermediaries
    KIRILENKO_INTRADAY_DEV_MAX: float = 0.05  # std of end-of-minute inventory / daily volume (see kirilenko.py)
    KIRILENKO_FUNDAMENTAL_RATIO_MIN: float = 0.15  # |end-of-day net position| / daily volume, fundamentals
    KIRILENKO_HFT_TOP_SHARE: float = 0.07  # most active share of intermediaries (by trade count) = HFT
    KIRILENKO_SMALL_NOTIONAL_USD: float = 10_000.0  # traded notional below this = Small
    KIRILENKO_MIN_MAKER_SHARE: float = 0.5  # intermediaries provide liquidity: passive share of volume

    # Wash trading: self-trades, and tight two-wallet cycles (A→B then B→A, same coin, same size).
    WASH_WINDOW_MS: int = 300_000
    WASH_SIZE_TOL: float = 0.01  # relative size difference of the two legs
    WASH_PRICE_TOL: float = 0.005  # relative price difference of the two legs
    WASH_MIN_CYCLES: int = 3  # cycles a pair needs before it counts
    WASH_MIN_SHARE: float = 0.2  # cycle notional / each partner's traded notional
    WASH_MIN_SELF_TRADES: int = 1

    # Cohort ladders: (lower bound in USD, name), ascending; below the first bound = first name.
    SIZE_COHORTS: tuple[tuple[float, str], ...] = (
        (0.0, "Shrimp"),
        (250.0, "Fish"),
        (10_000.0, "Dolphin"),
        (50_000.0, "Apex Predator"),
        (100_000.0, "Small Whale"),
        (500_000.0, "Whale"),
        (1_000_000.0, "Tidal Whale"),
        (5_000_000.0, "Leviathan"),
    )
    PNL_COHORTS: tuple[tuple[float, str], ...] = (
        (float("-inf"), "Giga-Rekt"),
        (-1_000_000.0, "Full Rekt"),
        (-100_000.0, "Semi-Rekt"),
        (-10_000.0, "Exit Liquidity"),
        (0.0, "Humble Earner"),
        (10_000.0, "Grinder"),
        (100_000.0, "Smart Money"),
        (1_000_000.0, "Money Printer"),
    )
