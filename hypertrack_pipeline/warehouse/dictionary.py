"""The README's data dictionary, generated: schema.sql and the feature layout (schema.py) plus the
tables the ML and classification stages write. `python -m hypertrack_pipeline.warehouse.dictionary`
prints it; a test compares it with the README and with a warehouse built end to end."""

from __future__ import annotations

from hypertrack_pipeline.feature_names import FEATURE_NAMES
from hypertrack_pipeline.warehouse.schema import data_dictionary_markdown

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
}

_SCORES = [
    ("wallet", "VARCHAR", "address, lowercase hex"),
    *[(f"style_{i}", "DOUBLE", f"trading style [-1, 1]: {n}") for i, n in enumerate(
        ["momentum", "mean reversion", "volatility trading", "market making", "trend following", "contrarian"])],
    ("risk_score", "DOUBLE", "risk head, [0, 1]"),
    ("profitability_score", "DOUBLE", "profitability head, [0, 1]: predicted next-window PnL rank"),
    ("bot_probability", "DOUBLE", "bot head, [0, 1]"),
    ("influence_score", "DOUBLE", "influence head, ≥ 0: share of traded notional in ‰"),
    ("sophistication_score", "DOUBLE", "sophistication head, [0, 1]"),
    ("model_version", "VARCHAR", "checkpoint that scored the row (data/models/vNNNN)"),
]

_TARGETS = [
    ("wallet", "VARCHAR", "address, lowercase hex"),
    *[(f"t_style_{i}", "DOUBLE", "style target from features 22–33, [-1, 1]") for i in range(6)],
    ("t_risk", "DOUBLE", "percentile of peak exposure / mean notional and drawdown"),
    ("t_profitability", "DOUBLE", "percentile of next-window PnL / notional, shrunk to 0.5 by turnover"),
    ("t_bot", "DOUBLE", "weak bot label: regular timing, constant size, 24/7, frequency"),
    ("t_influence", "DOUBLE", "share of total traded notional, ‰"),
    ("t_sophistication", "DOUBLE", "maker share, low slippage, breadth, execution quality"),
    ("next_pnl_per_notional", "DOUBLE", "PnL / notional in the target (later) window"),
    ("next_total_pnl", "DOUBLE", "total PnL in the target window, USD"),
    *[(name, "DOUBLE", "input feature from the feature (earlier) window") for name in FEATURE_NAMES],
    ("profitability_window", "VARCHAR", "next-window (point-in-time) or same-window (fallback)"),
    ("split", "VARCHAR", "train / val / test, fixed by a hash of the wallet"),
]

_WINDOW = [
    ("profitability_window", "VARCHAR", "next-window or same-window"),
    ("feature_window", "VARCHAR", "which window the training features come from"),
    ("data_start_ms", "BIGINT", "first fill, epoch ms"),
    ("data_end_ms", "BIGINT", "last fill, epoch ms"),
    ("boundary_ms", "BIGINT", "split between feature and target windows"),
    ("feature_start_ms", "BIGINT", "feature window start"),
    ("feature_end_ms", "BIGINT", "feature window end"),
    ("target_start_ms", "BIGINT", "target window start"),
    ("target_end_ms", "BIGINT", "target window end"),
    ("overlap_wallets", "BIGINT", "wallets active in both windows"),
    ("rows", "BIGINT", "training rows"),
    ("note", "VARCHAR", "why a fallback was taken, if any"),
]

_CATEGORIES = [
    ("wallet", "VARCHAR", "address, lowercase hex"),
    ("categories", "VARCHAR", 'JSON [["Bot", 0.85], …]: every SPEC §10 category that holds, by confidence'),
    ("primary_category", "VARCHAR", "the most confident category (null when none)"),
    ("primary_confidence", "DOUBLE", "its confidence"),
    ("n_categories", "INTEGER", "number of categories"),
    ("kirilenko_class", "VARCHAR", "Market Maker / HFT / Fundamental Buyer / Fundamental Seller / Small / Opportunistic"),
    ("kirilenko_end_ratio", "DOUBLE", "mean |end-of-day net position| / daily volume"),
    ("kirilenko_intraday_ratio", "DOUBLE", "intraday position deviation / daily volume"),
    ("wash_trade_flag", "BOOLEAN", "self-trades or tight two-wallet cycles"),
    ("wash_trade_count", "BIGINT", "trades in wash cycles"),
    ("self_trade_count", "BIGINT", "trades with itself (buyer = seller)"),
    ("size_cohort", "VARCHAR", "trackers' ladder (Shrimp < $250 … Leviathan ≥ $5M) on peak position value"),
    ("peak_position_usd", "DOUBLE", "peak open-position value at minute ends, USD"),
    ("pnl_cohort", "VARCHAR", "PnL ladder (Giga-Rekt … Money Printer)"),
    ("total_pnl", "DOUBLE", "from wallet_pnl, USD"),
]

DERIVED_TABLES: dict[str, tuple[str, list[tuple[str, str, str]]]] = {
    "wallet_training_window": ("one row: the windows the training targets were built from", _WINDOW),
    "wallet_training_targets": ("one row per training wallet: the six heads' targets (SPEC §9) and inputs",
                                _TARGETS),
    "wallet_scores": ("one row per wallet: the six model heads", _SCORES),
    "wallet_categories": ("one row per wallet: SPEC §10 categories, Kirilenko class, wash flags, cohorts",
                          _CATEGORIES),
}


def full_data_dictionary() -> str:
    lines = []
    for line in data_dictionary_markdown().splitlines():
        cells = line.split(" | ")
        if line.startswith("| wallet_features | ") and cells[1] in FEATURE_DOCS:
            cells[3] = FEATURE_DOCS[cells[1]] + " |"
            line = " | ".join(cells)
        lines.append(line)
    for table, (desc, cols) in DERIVED_TABLES.items():
        lines.append(f"| **{table}** | | | {desc} |")
        lines += [f"| {table} | {c} | {t} | {m} |" for c, t, m in cols]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(full_data_dictionary(), end="")
