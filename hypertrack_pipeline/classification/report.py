"""The text of ``final_report.txt`` in the exact SPEC §11 layout.

Layout decisions the SPEC leaves open:
- Wallet order: highest category confidence first (the wallet's strongest signal), then higher
  Transaction Count, then address; wallets without a category come last. Numbering is 1…N in that
  order, over the wallets printed.
- "Total wallets analyzed" counts every row handed in (wallets that passed TX_COUNT_THRESHOLD), also
  those hidden by ``show_no_categories=False``.
- Every wallet block starts with an 80 '=' rule (as the example shows before "Wallet #1"); there are
  no blank lines; the text ends with one newline.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

RULE = "=" * 80
THIN_RULE = "-" * 80


@dataclass(frozen=True, slots=True)
class ReportRow:
    """One wallet as the report shows it."""

    wallet: str
    categories: tuple[tuple[str, float], ...] = ()
    trading_style: tuple[float, ...] = field(default=(0.0,) * 6)
    risk_score: float = 0.0
    profitability_score: float = 0.0
    bot_probability: float = 0.0
    influence_score: float = 0.0
    sophistication_score: float = 0.0
    tx_count: int = 0
    age_days: float = 0.0

    @property
    def top_confidence(self) -> float:
        return max((conf for _, conf in self.categories), default=0.0)


def _as_row(row: ReportRow | Mapping[str, object]) -> ReportRow:
    if isinstance(row, ReportRow):
        return row
    data = dict(row)
    data["categories"] = tuple((str(n), float(c)) for n, c in data.get("categories") or ())  # type: ignore[union-attr]
    data["trading_style"] = tuple(float(v) for v in data.get("trading_style") or (0.0,) * 6)  # type: ignore[union-attr]
    return ReportRow(**data)  # type: ignore[arg-type]


def format_generated(generated_at: datetime) -> str:
    """ISO 8601 UTC with a Z suffix, to the second; a naive datetime is taken as UTC."""
    if generated_at.tzinfo is None:
        generated_at = generated_at.replace(tzinfo=UTC)
    return generated_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def order_rows(rows: Iterable[ReportRow]) -> list[ReportRow]:
    """Report order: top confidence desc, tx_count desc, address asc."""
    return sorted(rows, key=lambda r: (-r.top_confidence, -r.tx_count, r.wallet))


def wallet_block(number: int, row: ReportRow) -> list[str]:
    """The lines of one wallet block."""
    if row.categories:
        ranked = sorted(row.categories, key=lambda item: -item[1])  # stable: ties keep their order
        categories = ", ".join(f"{name} ({conf:.2f})" for name, conf in ranked)
    else:
        categories = "None"
    style = [f"{v:.4f}" for v in row.trading_style]
    return [
        RULE,
        f"Wallet #{number}: {row.wallet}",
        THIN_RULE,
        f"Categories: {categories}",
        f"Trading Style Score (6D vector): {style!r}",
        f"Risk Score: {row.risk_score:.4f}",
        f"Profitability Score: {row.profitability_score:.4f}",
        f"Bot Probability: {row.bot_probability:.4f}",
        f"Influence Score: {row.influence_score:.4f}",
        f"Sophistication Score: {row.sophistication_score:.4f}",
        f"Transaction Count: {int(round(row.tx_count))}",
        f"Age (days): {row.age_days:.2f}",
    ]


def render_final_report(
    rows: Sequence[ReportRow | Mapping[str, object]],
    generated_at: datetime,
    show_no_categories: bool = True,
) -> str:
    """``final_report.txt`` for ``rows`` (see the module docstring for order and numbering)."""
    all_rows = [_as_row(r) for r in rows]
    shown = [r for r in all_rows if show_no_categories or r.categories]
    lines = [
        RULE,
        "WALLET PROFILING REPORT",
        RULE,
        f"Generated: {format_generated(generated_at)}",
        f"Total wallets analyzed: {len(all_rows)}",
    ]
    for number, row in enumerate(order_rows(shown), start=1):
        lines.extend(wallet_block(number, row))
    return "\n".join(lines) + "\n"
