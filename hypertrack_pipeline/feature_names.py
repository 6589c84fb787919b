"""The wallet features in model-input order (shared by SQL, model and rules): the 36 of SPEC §7, then
the skill features (mark-outs, realized edge, win rate, stability, skill confidence) that the SPEC
does not have and the profitability head needs (issue 14: with the 36 alone it lost to the mean)."""

SPEC_FEATURE_NAMES: tuple[str, ...] = (
    "tx_count",
    "erc20_count",
    "unique_tokens",
    "unique_addresses",
    "age_days",
    "tx_per_day",
    "burstiness",
    "hour_entropy",
    "total_value",
    "avg_value",
    "max_value",
    "value_std",
    "erc20_volume",
    "long_ratio",
    "flip_rate",
    "size_entropy",
    "contract_interaction_count",
    "avg_market_impact",
    "max_market_impact",
    "avg_slippage",
    "slippage_std",
    "momentum_score",
    "mean_reversion_score",
    "volatility_trading_score",
    "market_maker_score",
    "order_book_participation",
    "avg_candle_volatility",
    "max_candle_volatility",
    "volatility_std",
    "avg_candle_momentum",
    "momentum_std",
    "positive_momentum_ratio",
    "avg_trend_strength",
    "avg_candle_volume",
    "max_candle_volume",
    "volume_std",
)

# Mark-out horizons (name suffix → seconds): mid that long after a fill vs the fill price, signed by side.
MARKOUT_HORIZONS_S: dict[str, int] = {"1s": 1, "1m": 60, "15m": 900, "1h": 3600}
# The horizon the win rate, the stability and the skill statistic use: long enough for an informed
# trade's move to show, short enough that a day holds dozens of independent hours.
SKILL_HORIZON = "15m"

SKILL_FEATURE_NAMES: tuple[str, ...] = (
    *(f"markout_{h}" for h in MARKOUT_HORIZONS_S),
    "realized_edge",
    "markout_win_rate",
    "pnl_stability",
    "skill_t",
    "skill_confidence",
)

FEATURE_NAMES: tuple[str, ...] = SPEC_FEATURE_NAMES + SKILL_FEATURE_NAMES

SCORE_NAMES: tuple[str, ...] = (
    "trading_style",
    "risk_score",
    "profitability_score",
    "bot_probability",
    "influence_score",
    "sophistication_score",
)

# What each feature means, in one line (the data dictionary and the dashboard show these).
FEATURE_DOCS: dict[str, str] = {
    "tx_count": "fills + HyperEVM transactions sent",
    "erc20_count": "ERC-20 Transfer logs with the wallet as sender or receiver",
    "unique_tokens": "distinct coins traded + distinct ERC-20 contracts transferred",
    "unique_addresses": "distinct counterparties (trades, EVM tx recipients, transfers)",
    "age_days": "last event − first event, days",
    "tx_per_day": "tx_count / max(age_days, 1/24)",
    "burstiness": "std / mean of inter-event gaps (0 with < 3 events)",
    "hour_entropy": "normalised entropy of the hour-of-day histogram (24 bins)",
    "total_value": "sum of fill notional, USD",
    "avg_value": "mean fill notional, USD",
    "max_value": "max fill notional, USD",
    "value_std": "std of fill notional, USD",
    "erc20_volume": "sum of transferred token amounts (decimals-scaled)",
    "long_ratio": "buy fills / fills",
    "flip_rate": "side changes between consecutive fills of a coin / max(1, fills − coins)",
    "size_entropy": "entropy of notional in 0.1-decade bins ($1–$10M) / ln(min(fills, 70))",
    "contract_interaction_count": "distinct contracts called (EVM txs with input data)",
    "avg_market_impact": "mean over taker fills of side × (mid 5 s after − mid before) / mid before",
    "max_market_impact": "max of the same",
    "avg_slippage": "mean side × (px − mid before) / mid before (negative for makers)",
    "slippage_std": "std of the same",
    "momentum_score": "mean side × sign(coin return over the 5 min before the fill)",
    "mean_reversion_score": "mean −side × sign(coin return over the 60 min before the fill)",
    "volatility_trading_score": "share of fills in minutes whose (h−l)/o is above the coin's median",
    "market_maker_score": "maker share × (1 − |buy − sell maker notional| / maker notional)",
    "order_book_participation": "maker fills / fills",
    "avg_candle_volatility": "mean (h − l)/o of the fills' candles",
    "max_candle_volatility": "max of the same",
    "volatility_std": "std of the same",
    "avg_candle_momentum": "mean side × (c − o)/o: the candle's move in the wallet's direction",
    "momentum_std": "std of the same",
    "positive_momentum_ratio": "share of fills whose candle moved in the fill's direction",
    "avg_trend_strength": "mean |c − o|/(h − l) over candles with h > l",
    "avg_candle_volume": "mean candle volume, USD (v × c)",
    "max_candle_volume": "max of the same",
    "volume_std": "std of the same",
    "markout_1s": "mean over fills of side × (mid 1 s after − px) / px (only fills whose horizon ends in the window)",
    "markout_1m": "the same 1 min after",
    "markout_15m": "the same 15 min after",
    "markout_1h": "the same 1 h after",
    "realized_edge": "Σ side × size × (last mid of the window − px) / Σ notional: PnL per notional from flat",
    "markout_win_rate": "share of fills with a positive 15 min mark-out",
    "pnl_stability": "(hours with positive 15 min mark-out PnL + 1) / (hours with one + 2)",
    "skill_t": "t-statistic of the hourly mean 15 min mark-outs, shrunk toward 0 for few hours",
    "skill_confidence": "Φ(skill_t): confidence that the wallet's edge is positive, [0, 1]",
}

assert len(SPEC_FEATURE_NAMES) == 36
assert len(set(FEATURE_NAMES)) == len(FEATURE_NAMES)
assert set(FEATURE_DOCS) == set(FEATURE_NAMES)
