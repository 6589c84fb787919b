"""Deterministic synthetic stage-3 tables, so the dashboard can be tested and benchmarked at any size.

The rows are generated inside DuckDB from hashes of the row number (no Python loops), with the same
column names and types the warehouse, model and classification stages publish.
"""

from __future__ import annotations

from typing import Any

from hypertrack_pipeline.feature_names import FEATURE_NAMES

CATEGORY_POOL: tuple[str, ...] = (
    "Bot",
    "Possible Bot",
    "Scalper",
    "Active Trader",
    "Moderate Trader",
    "Whale",
    "Possible Whale",
    "Profitable Trader",
    "High Risk Trader",
    "Sophisticated Trader",
    "Momentum Follower",
    "Occasional Trader",
)
SIZE_COHORTS: tuple[str, ...] = ("shrimp", "fish", "dolphin", "apex predator", "small whale", "whale")
PNL_COHORTS: tuple[str, ...] = ("money printer", "smart money", "grinder", "humble earner", "exit liquidity")
KIRILENKO: tuple[str, ...] = ("HFT", "Market Maker", "Fundamental", "Small", "Opportunistic")
COINS: tuple[str, ...] = ("BTC", "ETH", "SOL", "HYPE", "@107", "PURR/USDC")
MARKS: tuple[float, ...] = (95_000.0, 3_300.0, 180.0, 25.0, 1.2, 0.2)  # a plausible last mid per coin
WINDOWS: tuple[tuple[str, float, float], ...] = (  # period, share of the all-time PnL/volume, share of wallets active
    ("24h", 0.04, 0.3),
    ("7d", 0.25, 0.6),
    ("30d", 0.7, 0.9),
    ("all", 1.0, 1.0),
)
HOLDERS_PER_COIN = 100


def _u(seed: str) -> str:
    """SQL for a uniform [0, 1) number that depends only on the row number ``i`` and a seed label."""
    return f"((hash(i, '{seed}') % 1000003) / 1000003.0)"


def _sql_list(values: tuple[str, ...]) -> str:
    return "[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def _pick(values: tuple[str, ...], seed: str) -> str:
    return f"{_sql_list(values)}[1 + (hash(i, '{seed}') % {len(values)})::INTEGER]"


def _create_fills(con: Any, n: int, per_wallet: int, wallets: int, hours: int) -> None:
    """Fills spread over ``hours``; most counterparties are other synthetic wallets, 1 in 10 is outside."""
    cp_i = f"(hash(i, k, 'cp') % {max(n, 1)})"
    cp_in = f"'0x' || substr(md5({cp_i}::VARCHAR), 1, 32) || substr(md5(({cp_i} + 7919)::VARCHAR), 1, 8)"
    cp_out = "'0x' || md5((i * 1000 + k)::VARCHAR || 'out') || substr(md5((i * 1000 + k)::VARCHAR), 1, 8)"
    span_ms = max(1, int(hours)) * 3_600_000
    con.execute(
        f"""CREATE OR REPLACE TABLE fills AS
        SELECT wallet, coin, time_ms, make_timestamp(time_ms * 1000) AS ts, tid, side,
               CASE side WHEN 'B' THEN 1 ELSE -1 END AS side_sign, is_maker, px, sz, px * sz AS notional,
               counterparty
        FROM (SELECT w.wallet, {_sql_list(COINS)}[1 + (hash(i, k, 'fc') % {len(COINS)})::INTEGER] AS coin,
                     1767225600000 + (hash(i, k, 't') % {span_ms})::BIGINT AS time_ms,
                     (i * 100000 + k)::BIGINT AS tid,
                     CASE WHEN hash(i, k, 's') % 2 = 0 THEN 'B' ELSE 'S' END AS side,
                     hash(i, k, 'm') % 3 = 0 AS is_maker,
                     round(1 + (hash(i, k, 'px') % 1000000) / 10.0, 1) AS px,
                     round((hash(i, k, 'sz') % 100000) / 1000.0 + 0.001, 3) AS sz,
                     CASE WHEN hash(i, k, 'o') % 10 = 0 THEN {cp_out} ELSE {cp_in} END AS counterparty
              FROM _synth_w w JOIN (SELECT wallet FROM wallet_pnl ORDER BY notional DESC LIMIT {wallets}) top
                   USING (wallet), range({per_wallet}) r(k))"""
    )


def create_synthetic_tables(
    con: Any,
    n_wallets: int,
    *,
    hours: int = 48,
    positions_per_wallet: int = 3,
    curve_wallets: int | None = None,
    categories_as_struct: bool = False,
    model_version: str = "synthetic-v1",
    fills_per_wallet: int = 0,
    fills_wallets: int | None = None,
    trader_views: bool = True,
) -> None:
    """Create (or replace) wallet_scores, wallet_categories, wallet_pnl, wallet_pnl_hourly,
    wallet_positions and wallet_features with ``n_wallets`` wallets.

    ``curve_wallets`` limits the hourly PnL rows to the first N wallets (keeps 100 000-wallet benches
    light); ``categories_as_struct`` stores categories as LIST(STRUCT(name, confidence)) instead of
    JSON text, the two layouts the classification stage may publish. ``fills_per_wallet`` > 0 also
    creates a ``fills`` table (the warehouse view's columns) for the ``fills_wallets`` wallets with the
    largest notional (all when None): the ones whose fills the dashboard embeds. ``trader_views`` also
    creates the trader views (``leaderboards``, ``coin_positioning``, ``coin_holders``) from those wallets.
    """
    n = int(n_wallets)
    addr = "'0x' || substr(md5(i::VARCHAR), 1, 32) || substr(md5((i + 7919)::VARCHAR), 1, 8)"
    con.execute(f"CREATE OR REPLACE TEMP TABLE _synth_w AS SELECT i, {addr} AS wallet FROM range({n}) t(i)")
    style = ", ".join(f"round({_u(f'st{k}')} * 2 - 1, 4) AS style_{k}" for k in range(6))
    con.execute(
        f"""CREATE OR REPLACE TABLE wallet_scores AS SELECT wallet, {style},
            {_u("risk")} AS risk_score, {_u("prof")} AS profitability_score, {_u("bot")} ** 2 AS bot_probability,
            {_u("infl")} * 8 AS influence_score, {_u("soph")} AS sophistication_score,
            '{model_version}' AS model_version
        FROM _synth_w"""
    )
    pool = _sql_list(CATEGORY_POOL)
    n_pool = len(CATEGORY_POOL)
    # 0..3 categories per wallet, distinct names, confidences sorted descending.
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _synth_c AS
        SELECT i, wallet, list_transform(
                   range((hash(i, 'ncat') % 4)::INTEGER),
                   lambda k: {{'name': {pool}[1 + ((hash(i, 'cat') + k * 5) % {n_pool})::INTEGER],
                          'confidence': round(0.95 - k * 0.15 - (hash(i, 'conf') % 100) / 1000.0, 2)}}
               ) AS cats
        FROM _synth_w"""
    )
    cat_col = (
        "cats"
        if categories_as_struct
        else "to_json(list_transform(cats, lambda c: [to_json(c.name), to_json(c.confidence)]))::VARCHAR"
    )
    con.execute(
        f"""CREATE OR REPLACE TABLE wallet_categories AS
        SELECT wallet, {cat_col} AS categories,
               CASE WHEN len(cats) > 0 THEN cats[1].name END AS primary_category,
               {_pick(KIRILENKO, "kir")} AS kirilenko_class,
               (hash(i, 'wash') % 50) = 0 AS wash_trade_flag,
               {_pick(SIZE_COHORTS, "size")} AS size_cohort,
               {_pick(PNL_COHORTS, "pnlc")} AS pnl_cohort
        FROM _synth_c"""
    )
    con.execute(
        f"""CREATE OR REPLACE TABLE wallet_pnl AS
        SELECT wallet, realized_pnl, unrealized_pnl, realized_pnl + unrealized_pnl AS total_pnl, notional,
               (realized_pnl + unrealized_pnl) / notional AS pnl_per_notional,
               {_u("win")} AS win_rate, {_u("mdd")} * notional * 0.05 AS max_drawdown,
               fees, realized_pnl + unrealized_pnl - fees AS net_pnl,
               CASE WHEN hash(i, 'liq') % 40 = 0 THEN 1 + hash(i, 'liq') % 3 ELSE 0 END AS liquidations
        FROM (SELECT i, wallet, exp({_u("notional")} * 16) * 10 AS notional,
                     {_u("fee")} * exp({_u("notional")} * 16) * 10 * 0.0004 AS fees,
                     ({_u("rp")} - 0.48) * exp({_u("notional")} * 16) * 0.2 AS realized_pnl,
                     ({_u("up")} - 0.5) * exp({_u("notional")} * 12) * 0.05 AS unrealized_pnl
              FROM _synth_w)"""
    )
    n_curve = n if curve_wallets is None else min(n, int(curve_wallets))
    con.execute(
        f"""CREATE OR REPLACE TABLE wallet_pnl_hourly AS
        SELECT wallet, TIMESTAMP '2026-01-01 00:00:00' + to_hours(h) AS hour,
               sum(((hash(i, h) % 2001)::BIGINT - 1000) / 10.0) OVER (PARTITION BY wallet ORDER BY h) AS cum_total_pnl
        FROM (SELECT * FROM _synth_w WHERE i < {n_curve}), range({int(hours)}) r(h)"""
    )
    con.execute(
        f"""CREATE OR REPLACE TABLE wallet_positions AS
        SELECT wallet, {_sql_list(COINS)}[1 + ((hash(i, 'coin') + p) % {len(COINS)})::INTEGER] AS coin,
               ((hash(i, p, 'pos') % 2001)::BIGINT - 1000) / 100.0 AS position,
               1 + (hash(i, p, 'cost') % 100000) / 10.0 AS avg_cost,
               ((hash(i, p, 'rp') % 2001)::BIGINT - 1000) / 10.0 AS realized_pnl,
               ((hash(i, p, 'up') % 2001)::BIGINT - 1000) / 10.0 AS unrealized_pnl
        FROM _synth_w, range({int(positions_per_wallet)}) r(p)"""
    )
    # tx_count is a count of at least 1: the dashboard, like the report, shows only active wallets
    feats = ", ".join(
        f"1 + floor({_u('f' + name)} * 500) AS {name}" if name == "tx_count"
        else f"{_u('f' + name)} * {10 ** (k % 5)} AS {name}"
        for k, name in enumerate(FEATURE_NAMES)
    )
    con.execute(f"CREATE OR REPLACE TABLE wallet_features AS SELECT wallet, {feats} FROM _synth_w")
    if fills_per_wallet > 0:
        _create_fills(con, n, int(fills_per_wallet), n if fills_wallets is None else int(fills_wallets), hours)
    if trader_views:
        create_trader_views(con, hours=hours)
    con.execute("DROP TABLE _synth_w")
    con.execute("DROP TABLE _synth_c")


def create_trader_views(con: Any, *, hours: int = 48) -> None:
    """``leaderboards``, ``coin_holders`` and ``coin_positioning`` (the trader_views step's columns) from
    the synthetic wallet tables, consistent with one another.

    Leaderboards: each window holds a share of the wallets (all of them for "all") with that share of
    their all-time PnL, fees and volume, jittered per wallet. Holders: every open position of
    ``wallet_positions`` marked at the coin's price in ``MARKS``, entries within ±5 % of it. Positioning:
    the latest hour sums the same positions per cohort; earlier hours drift around it (a slow wave per
    coin and cohort), and the mark moves by up to ±3 %.
    """
    con.execute("CREATE OR REPLACE TEMP TABLE _synth_lw AS SELECT row_number() OVER (ORDER BY wallet) AS i, wallet "
                "FROM wallet_pnl")
    win = ", ".join(f"('{w}', {share}, {active}, {k})" for k, (w, share, active) in enumerate(WINDOWS))
    con.execute(
        f"""CREATE OR REPLACE TABLE leaderboards AS
        WITH win(period, share, active, ord) AS (VALUES {win}),
             r AS (SELECT win.period, win.ord, w.wallet,
                          CASE WHEN win.period = 'all' THEN p.total_pnl
                               ELSE p.total_pnl * win.share * (0.5 + {_u("lbp")}) END AS pnl,
                          CASE WHEN win.period = 'all' THEN p.notional
                               ELSE p.notional * win.share * (0.5 + {_u("lbv")}) END AS volume,
                          p.fees / nullif(p.notional, 0) AS fee_rate
                   FROM _synth_lw w JOIN wallet_pnl p USING (wallet), win
                   WHERE (hash(w.i, win.period) % 1000) / 1000.0 < win.active)
        SELECT r.period, r.wallet, r.pnl, r.volume * coalesce(r.fee_rate, 0) AS fees,
               r.pnl - r.volume * coalesce(r.fee_rate, 0) AS net_pnl, r.volume,
               greatest(1, round(r.volume / 2500))::BIGINT AS fills,
               row_number() OVER (PARTITION BY r.period ORDER BY r.pnl - r.volume * coalesce(r.fee_rate, 0) DESC,
                                  r.wallet) AS pnl_rank,
               row_number() OVER (PARTITION BY r.period ORDER BY r.volume DESC, r.wallet) AS volume_rank,
               c.primary_category, {_categories_json("c.categories", con)} AS categories, c.size_cohort
        FROM r LEFT JOIN wallet_categories c USING (wallet)
        ORDER BY r.ord, pnl_rank"""
    )
    marks = "MAP {" + ", ".join(f"'{c}': {m}" for c, m in zip(COINS, MARKS, strict=True)) + "}"
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _synth_open AS
        SELECT q.wallet, q.coin, q.position, {marks}[q.coin] AS mark,
               {marks}[q.coin] * (0.95 + (hash(q.wallet, q.coin, 'entry') % 1001) / 10000.0) AS entry_px,
               abs(q.position) * {marks}[q.coin] AS notional,
               coalesce(c.size_cohort, 'unclassified') AS size_cohort,
               coalesce(c.pnl_cohort, 'unclassified') AS pnl_cohort, c.primary_category
        FROM wallet_positions q LEFT JOIN wallet_categories c USING (wallet)
        WHERE q.position <> 0 AND {marks}[q.coin] IS NOT NULL"""
    )
    con.execute(
        f"""CREATE OR REPLACE TABLE coin_holders AS
        WITH oi AS (SELECT coin, sum(notional) / 2 AS oi FROM _synth_open GROUP BY coin)
        SELECT o.coin, row_number() OVER (PARTITION BY o.coin ORDER BY o.notional DESC, o.wallet) AS rank,
               o.wallet, CASE WHEN o.position > 0 THEN 'long' ELSE 'short' END AS side,
               abs(o.position)::DOUBLE AS size, o.notional::DOUBLE AS notional, o.entry_px::DOUBLE AS entry_px,
               o.mark::DOUBLE AS mark, (o.position * (o.mark - o.entry_px))::DOUBLE AS unrealized_pnl,
               (o.notional / oi.oi)::DOUBLE AS share_of_open_interest, o.primary_category,
               CASE WHEN o.size_cohort = 'unclassified' THEN NULL ELSE o.size_cohort END AS size_cohort
        FROM _synth_open o JOIN oi USING (coin)
        QUALIFY rank <= {HOLDERS_PER_COIN}
        ORDER BY o.coin, rank"""
    )
    last = max(1, int(hours)) - 1
    wave = (f"(1 + 0.3 * (sin(h / 7.0 + (hash(coin, cohort, '{{0}}') % 628) / 100.0)"
            f" - sin({last} / 7.0 + (hash(coin, cohort, '{{0}}') % 628) / 100.0)))")
    con.execute(
        f"""CREATE OR REPLACE TABLE coin_positioning AS
        WITH now AS (SELECT coin, cohort_kind, cohort, mark,
                            sum(CASE WHEN position > 0 THEN notional ELSE 0 END) AS long_notional,
                            sum(CASE WHEN position < 0 THEN notional ELSE 0 END) AS short_notional,
                            count(*) FILTER (WHERE position > 0) AS long_wallets,
                            count(*) FILTER (WHERE position < 0) AS short_wallets
                     FROM (SELECT *, 'size' AS cohort_kind, size_cohort AS cohort FROM _synth_open
                           UNION ALL SELECT *, 'pnl', pnl_cohort FROM _synth_open)
                     GROUP BY ALL)
        SELECT TIMESTAMP '2026-01-01 00:00:00' + to_hours(h) AS hour, coin, cohort_kind, cohort,
               (long_notional * {wave.format("l")})::DOUBLE AS long_notional,
               (short_notional * {wave.format("s")})::DOUBLE AS short_notional,
               round(long_wallets * {wave.format("l")})::BIGINT AS long_wallets,
               round(short_wallets * {wave.format("s")})::BIGINT AS short_wallets,
               (mark * (1 + 0.03 * sin((h - {last}) / 11.0)))::DOUBLE AS mark
        FROM now, range({last + 1}) r(h)
        ORDER BY coin, cohort_kind, cohort, h"""
    )
    con.execute("DROP TABLE _synth_open")
    con.execute("DROP TABLE _synth_lw")


def _categories_json(col: str, con: Any) -> str:
    """SQL for the categories as JSON text [[name, confidence], …], whichever layout the table has."""
    ctype = str(con.sql("SELECT categories FROM wallet_categories LIMIT 0").types[0]).upper()
    if ctype.startswith("STRUCT") and ctype.endswith("[]"):
        return f"to_json(list_transform({col}, lambda c: [to_json(c.name), to_json(c.confidence)]))::VARCHAR"
    return f"CAST({col} AS VARCHAR)"
