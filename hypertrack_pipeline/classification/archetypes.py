"""Which predicted labels count as detecting each simulator archetype (for precision / recall / F1).

Only the strong form of each SPEC §10 pair counts: the weak forms ("Possible …") are deliberately
loose and would flood every archetype with false positives. Choices worth knowing:
- market_maker: the Kirilenko intermediary classes. The most active intermediaries are labelled HFT
  (Kirilenko's HFTs are high-frequency market makers), so both "Market Maker" and "HFT" count.
- hft_scalper: "Scalper" (frequency + constant size) or "Bot" (the model's bot head).
- wash_trader: the wash-trade flag, exposed as the label "Wash Trader" by ``labels_by_wallet``.
- retail: the residual population has no positive signature of its own, so it maps to no label and
  is left out of macro-F1 (``UNSCORED_ARCHETYPES``); scoring it as "Occasional Trader" or Kirilenko
  "Small" would measure the thresholds of everybody else rather than a detection.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

ARCHETYPE_CATEGORIES: dict[str, set[str]] = {
    "market_maker": {"Market Maker", "HFT"},
    "hft_scalper": {"Scalper", "Bot"},
    "momentum": {"Momentum Follower"},
    "contrarian": {"Contrarian Trader"},
    "whale": {"Whale"},
    "hodler": {"HODLer"},
    "arbitrageur": {"Arbitrageur"},
    "volatility_trader": {"Volatility Trader"},
    "informed": {"Profitable Trader"},
    "wash_trader": {"Wash Trader"},
    "token_collector": {"Token Collector"},
    "retail": set(),
}

# Labels that veto a detection: the behaviour they name explains the matching rule better.
# Market makers turn over far more than $497k and so meet the SPEC "Whale" rule on total notional;
# so may a scalper, whose turnover comes from thousands of constant small clips rather than size
# (the Scalper rule needs low size entropy at > 50 fills a day, which block-sized trading never has);
# wash traders' rapid constant-size round trips meet the "Scalper" rule.
# "Profitable Trader" stands for trading ahead of moves only where PnL comes from timing:
# - a wash trader trades with itself at the mid, so its PnL / notional sits at 0, above every honest
#   taker who pays the spread: a high profitability rank there measures fake volume, not skill;
# - a Kirilenko "Fundamental" wallet carries >= 15 % of its daily volume overnight, so its PnL is
#   mostly the drift of that inventory; an informed trader acts on a short-horizon signal and closes;
# - a "Momentum Follower" trades with the candle that is already moving (> 70 % of its fills): what
#   it earns is the trend it joined, while an informed trader's fills come *before* the move (its
#   candles are a coin flip). On the simulator the price reverts to a 6 h anchor (AR(1)), a drift
#   that trend followers harvest, so they can rank as profitable without seeing anything ahead.
ARCHETYPE_EXCLUSIONS: dict[str, set[str]] = {
    "whale": {"Market Maker", "HFT", "Scalper"},
    "hft_scalper": {"Wash Trader"},
    "informed": {"Wash Trader", "Fundamental", "Momentum Follower"},
}

UNSCORED_ARCHETYPES: frozenset[str] = frozenset(a for a, labels in ARCHETYPE_CATEGORIES.items() if not labels)


def _names(labels: Iterable[str | tuple[str, float] | list[object]]) -> set[str]:
    """Label names from plain names or (name, confidence) pairs."""
    out: set[str] = set()
    for item in labels:
        out.add(item if isinstance(item, str) else str(item[0]))  # type: ignore[index]
    return out


def archetype_predictions(
    categories_by_wallet: Mapping[str, Iterable[str | tuple[str, float] | list[object]]],
) -> dict[str, set[str]]:
    """archetype → wallets predicted as that archetype; every archetype keyed.

    A wallet is predicted as an archetype when it has any of its labels and none of its vetoes
    (``ARCHETYPE_EXCLUSIONS``).
    """
    predicted: dict[str, set[str]] = {archetype: set() for archetype in ARCHETYPE_CATEGORIES}
    for wallet, labels in categories_by_wallet.items():
        names = _names(labels)
        for archetype, wanted in ARCHETYPE_CATEGORIES.items():
            if names & wanted and not names & ARCHETYPE_EXCLUSIONS.get(archetype, set()):
                predicted[archetype].add(wallet)
    return predicted
