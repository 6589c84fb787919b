"""Which wallets the recorder polls for account state: the pipeline decides, the recorder follows.

The recorder cannot ask ``clearinghouseState`` about every wallet (each answer weighs 2 of the 1200 Info
weight a minute), so the analysis picks the wallets that matter and writes them to
``<data>/state/tracked_wallets.json``, which the recorder re-reads when it changes:

- the top ``N`` wallets by notional traded (``wallet_pnl``; ``HYPERTRACK_ACCOUNT_TOP``, default 200), and
- every wallet whose categories (``wallet_categories``) include Whale, Profitable Trader or Possibly
  Profitable Trader, whatever its rank: the wallets a user looks up first.

File: ``{"updated": iso, "top_n": N, "wallets": [{"wallet", "reason", "notional_rank", "notional"}]}``, top
wallets first (by rank), then the category wallets by notional. ``reason`` is a comma list of
``top_notional`` and the category names that selected the wallet; ``notional_rank`` (1 = most traded) lets
the recorder keep fewer top wallets than the file lists (``--account-top``). Written atomically (temp file
and rename), so the recorder never reads half a file.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hypertrack_pipeline.catalog import Step, StepContext
from hypertrack_pipeline.files import write_json_atomic

if TYPE_CHECKING:
    import duckdb

TRACKED_CATEGORIES: tuple[str, ...] = ("Whale", "Profitable Trader", "Possibly Profitable Trader")
TOP_REASON = "top_notional"


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}


def select_tracked_wallets(con: duckdb.DuckDBPyConnection, top_n: int,
                           categories: tuple[str, ...] = TRACKED_CATEGORIES) -> list[dict[str, Any]]:
    """The tracked wallets (see the module doc), top ranks first, then category wallets by notional.

    A missing ``wallet_categories`` selects by notional alone; a missing ``wallet_pnl`` selects nothing
    (no notional to rank by, and no wallet to vouch for).
    """
    tables = _tables(con)
    if "wallet_pnl" not in tables:
        return []
    cats = ", ".join("'" + c.replace("'", "''") + "'" for c in categories)
    if "wallet_categories" in tables and categories:
        cat_sql = f"""SELECT wallet, list_intersect(json_extract_string(categories, '$[*][0]'), [{cats}]) AS hits
                      FROM wallet_categories WHERE categories IS NOT NULL"""
    else:
        cat_sql = "SELECT NULL::VARCHAR AS wallet, []::VARCHAR[] AS hits WHERE false"
    rows = con.execute(f"""
        WITH ranked AS (SELECT wallet, notional, row_number() OVER (ORDER BY notional DESC, wallet) AS rank
                        FROM wallet_pnl),
             cats AS ({cat_sql})
        SELECT r.wallet, r.rank, r.notional, coalesce(c.hits, []) AS hits
        FROM ranked r LEFT JOIN cats c USING (wallet)
        WHERE r.rank <= ? OR len(coalesce(c.hits, [])) > 0
        ORDER BY r.rank > ?, r.notional DESC, r.wallet""", [top_n, top_n]).fetchall()
    out = []
    for wallet, rank, notional, hits in rows:
        reasons = ([TOP_REASON] if rank <= top_n else []) + [h for h in categories if h in hits]
        out.append({"wallet": wallet, "reason": ",".join(reasons), "notional_rank": int(rank),
                    "notional": round(float(notional), 2)})
    return out


def write_tracked_wallets(path: Path, wallets: list[dict[str, Any]], top_n: int,
                          updated: datetime | None = None) -> Path:
    """Write the file atomically (temp name in the same folder, then rename)."""
    body = {"updated": (updated or datetime.now(UTC)).isoformat(timespec="seconds"), "top_n": top_n,
            "wallets": wallets}
    return write_json_atomic(Path(path), body)


def _run(con: duckdb.DuckDBPyConnection, ctx: StepContext) -> dict[str, Any]:
    top_n = ctx.settings.account_top
    wallets = select_tracked_wallets(con, top_n)
    path = write_tracked_wallets(ctx.settings.tracked_wallets_path, wallets, top_n)
    by_category = {c: sum(1 for w in wallets if c in w["reason"].split(",")) for c in TRACKED_CATEGORIES}
    return {"path": str(path), "wallets": len(wallets),
            "top_notional": sum(1 for w in wallets if TOP_REASON in w["reason"].split(",")),
            **{f"category.{c}": n for c, n in by_category.items()}}


STEP = Step(
    name="tracked_wallets", asset="tracked_wallets", kinds=("json",), run=_run, uses_warehouse=True,
    description="data/state/tracked_wallets.json: the wallets the recorder polls for account state (the top N "
                "by notional and every whale or profitable wallet).",
    reads=("wallet_pnl", "wallet_categories"),
)
