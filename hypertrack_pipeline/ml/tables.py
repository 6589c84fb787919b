"""The ML stage's scored table, declared once: the steps write it, the scorer fills it, the rules read it."""

from __future__ import annotations

from hypertrack_pipeline.catalog import Column, Table

# Head → score column(s) of wallet_scores (names the classification rules and report use).
SCORE_COLUMNS: dict[str, tuple[str, ...]] = {
    "style": tuple(f"style_{j}" for j in range(6)),
    "risk": ("risk_score",),
    "profitability": ("profitability_score",),
    "bot": ("bot_probability",),
    "influence": ("influence_score",),
    "sophistication": ("sophistication_score",),
}
_STYLE_NAMES = ("momentum", "mean reversion", "volatility trading", "market making", "trend following", "contrarian")
_HEAD_DOCS = {
    "risk_score": "risk head, [0, 1]",
    "profitability_score": "profitability head, [0, 1]: predicted next-window PnL rank",
    "bot_probability": "bot head, [0, 1]",
    "influence_score": "influence head, ≥ 0: share of traded notional in ‰",
    "sophistication_score": "sophistication head, [0, 1]",
}

SCORES_TABLE = Table(
    "wallet_scores",
    "One row per wallet of wallet_features: the six model heads, from the latest model version.",
    (
        Column("wallet", "VARCHAR", "address, lowercase hex"),
        *(Column(f"style_{j}", "DOUBLE", f"trading style [-1, 1]: {name}") for j, name in enumerate(_STYLE_NAMES)),
        *(Column(col, "DOUBLE", _HEAD_DOCS[col]) for head, cols in SCORE_COLUMNS.items() if head != "style"
          for col in cols),
        Column("model_version", "VARCHAR", "checkpoint that scored the row (data/models/vNNNN)"),
    ),
)

__all__ = ["SCORES_TABLE", "SCORE_COLUMNS"]
