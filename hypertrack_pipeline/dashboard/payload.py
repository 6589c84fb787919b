"""Read the stage-3 DuckDB tables into the compact, columnar payload the dashboard embeds as JSON.

Why columnar: 100 000 wallets as one list per field (addresses, scores, PnL, dictionary-encoded
categories and cohorts) costs ~120 bytes a wallet; a list of objects repeats every key per wallet.
Heavy per-wallet detail (style vector, the 36 features, positions and a PnL curve downsampled to at
most ``max_curve_points`` points) is embedded only for the ``detail_limit`` wallets with the largest
notional, so the file stays ~15 MB at 100 000 wallets. Missing tables (older stages) just leave their
fields out; the page shows the section as empty.

The wallets are the ones the final report analyzes (tx_count at least the report's
TX_COUNT_THRESHOLD), so the dashboard's count is the report's "Total wallets analyzed".

Payload layout (format 1)::

    n, generated, detail_limit, max_curve_points, features (names), sections {name: bool},
    model {version, versions [[version, wallets]], info {...}},
    dicts {cat, size, pnl, kir}: the string dictionaries the index columns point into,
    cols {addr, risk, prof, bot, soph, infl, skill (P(edge > 0) from wallet_features), tpnl, rpnl, upnl, notional, ppn, win, mdd,
          cat [[dict index…]], conf [[confidence…]], prim, size, pnlc, kir (index or -1), wash (0/1)},
    detail {row [wallet index], style [[6]], feat [[36]],
            pos {off, coin, size, avg, rpnl, upnl}, curve {off, t0, t, v}}
            (detail row d owns pos/curve items off[d]:off[d + 1]; curve hours are t0 + t since the epoch)
    fills {limit, newest, off, t, coin, flag, px, sz, cp, coins, cps}   (only when the fills view exists)
            the last ``limit`` (200) fills of each detail wallet, newest first; detail row d owns fills
            off[d]:off[d + 1]. Times are ms offsets: a run's first fill is ``newest - t`` (newest = the
            latest fill time embedded, epoch ms), each later one ``t`` ms before the previous. coin
            indexes the global ``coins`` dictionary; flag = 1 (bought) | 2 (maker); notional is px * sz;
            cp >= 0 is the counterparty's wallet index (cols.addr), cp < 0 means ``cps[-1 - cp]``
            (a counterparty outside the dashboard), and -1 - len(cps) none.

Trader views (each only when its table exists; ``sections`` says which do)::

    leaderboards {periods, metrics ["pnl", "volume"(, "roi")], limit, rows,
                  cols {p (period index), w (wallet ref), pnl, fees, npnl, vol, fills, pr, vr(, roi, rr),
                        prim (index into dicts.cat, -1 none), cats [[index…]], size (index into dicts.size)},
                  dicts {cat, size}}
            the rows ranked within ``limit`` (100) of their period by any metric (pr: net PnL rank,
            vr: volume rank, rr: ROI rank when the view has a ``roi`` column).
    positioning {kinds, cohorts (ladder order), coins (largest open interest first), oi, total_coins,
                 hours, last, mark [per coin], series {coin, kind, cohort},
                 ranges [{name, t0, step, points, long [[points] per series], short [[points] per series]}],
                 latest {coin, kind, cohort, long, short, lw, sw}}
            hours are epoch hours: point j of a range is hour t0 + j * step, the latest hour its last
            point. Range "recent" is the last ``positioning_points`` hours, hourly; range "all" (only
            when there are more hours) the whole history, every step-th hour counted back from the latest.
    holders {coins (largest open interest first), oi, total_coins, rows,
             cols {coin, rank, w, side (0 long, 1 short), size, notional, entry, mark, upnl, share,
                   prim, size_c(, liq_px, liq_dist)}, dicts {cat, size}}
    xaddr: addresses the views name that are not dashboard wallets. A wallet ref w >= 0 is the
           index into cols.addr, w < 0 means xaddr[-1 - w].

Fills are the bulk of the file (about 30 bytes a fill, 1M fills for 5 000 detail wallets), so the page
parses them lazily: render.py moves ``fills`` into a second JSON element placed after the script, which
the page reads only when a wallet panel needs it (first render does not pay for it).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from hypertrack_pipeline.classification.rules import DEFAULT_THRESHOLDS
from hypertrack_pipeline.feature_names import FEATURE_NAMES

PAYLOAD_FORMAT = 1
DEFAULT_DETAIL_LIMIT = 5000
DEFAULT_MAX_CURVE_POINTS = 48
MAX_POSITIONS_PER_WALLET = 20
DEFAULT_FILLS_LIMIT = 200
DEFAULT_LEADERBOARD_LIMIT = 100
DEFAULT_POSITIONING_POINTS = 168  # one week of hours; longer spans are thinned to this many points
DEFAULT_POSITIONING_COINS = 40
DEFAULT_HOLDERS_COINS = 100
_PERIOD_ORDER = ("24h", "7d", "30d", "all")
_KIND_ORDER = ("size", "pnl")
_TRADER_VIEWS = {  # payload key -> (table, the columns it needs)
    "leaderboards": ("leaderboards", {"period", "wallet", "net_pnl", "volume", "pnl_rank", "volume_rank"}),
    "positioning": ("coin_positioning", {"hour", "coin", "cohort_kind", "cohort", "long_notional", "short_notional"}),
    "holders": ("coin_holders", {"coin", "rank", "wallet", "side", "size", "notional"}),
}

# payload column -> wallet_scores column (rounded to 3 decimals: plenty for gauges and sorting)
_SCORE_COLS = {
    "risk": "risk_score",
    "prof": "profitability_score",
    "bot": "bot_probability",
    "soph": "sophistication_score",
    "infl": "influence_score",
}
# payload column -> (source column, SQL decimals, significant digits kept in the JSON): cents below
# $100k and whole dollars above are plenty on a dashboard and keep the numbers short.
_PNL_COLS = {
    "npnl": ("net_pnl", 2, 7),
    "fees": ("fees", 2, 7),
    "liq": ("liquidations", 0, 7),
    "tpnl": ("total_pnl", 2, 7),
    "rpnl": ("realized_pnl", 2, 7),
    "upnl": ("unrealized_pnl", 2, 7),
    "notional": ("notional", 2, 7),
    "ppn": ("pnl_per_notional", 8, 4),
    "win": ("win_rate", 4, 4),
    "mdd": ("max_drawdown", 2, 7),
}
_DICT_COLS = {
    "prim": "primary_category",
    "size": "size_cohort",
    "pnlc": "pnl_cohort",
    "kir": "kirilenko_class",
}
_DICT_NAMES = {"size": "size", "pnlc": "pnl", "kir": "kir"}


def _columns(con: Any, table: str) -> list[str] | None:
    """Column names of a table or view, or None when it does not exist (an older pipeline stage)."""
    try:
        rel = con.sql(f"SELECT * FROM {table} LIMIT 0")
    except Exception as exc:  # duckdb.CatalogException; duckdb is not imported here on purpose
        if "Catalog" in type(exc).__name__:
            return None
        raise
    return list(rel.columns)


def _column_type(con: Any, table: str, column: str) -> str:
    return str(con.sql(f"SELECT {column} FROM {table} LIMIT 0").types[0])


def _one_per_wallet(table: str) -> str:
    """Guard against duplicate wallet rows, which would multiply the join."""
    return f"(SELECT * FROM {table} QUALIFY row_number() OVER (PARTITION BY wallet) = 1)"


def _num(table_alias: str, column: str, digits: int, present: list[str]) -> str | None:
    if column not in present:
        return None
    return f"round(CAST({table_alias}.{column} AS DOUBLE), {digits})"


def _category_exprs(
    con: Any, present: list[str], table: str = "wallet_categories", alias: str = "c"
) -> tuple[str, str] | None:
    """SQL for (names list, confidences list) from either JSON text or LIST(STRUCT(name, confidence))."""
    if "categories" not in present:
        return None
    ctype = _column_type(con, table, "categories").upper()
    col = f"{alias}.categories"
    if ctype.startswith("STRUCT") and ctype.endswith("[]"):
        return (
            f"list_transform({col}, lambda x: CAST(struct_extract_at(x, 1) AS VARCHAR))",
            f"list_transform({col}, lambda x: round(CAST(struct_extract_at(x, 2) AS DOUBLE), 3))",
        )
    return (
        f"json_extract_string(CAST({col} AS VARCHAR), '$[*][0]')",
        f"list_transform(CAST(json_extract(CAST({col} AS VARCHAR), '$[*][1]') AS DOUBLE[]),"
        " lambda x: round(x, 3))",
    )


def _encode_strings(col: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, list[str]]:
    """Dictionary-encode a string column: (int32 indices with -1 for null, dictionary by frequency)."""
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    arr = pc.cast(arr, pa.string())
    enc = pc.dictionary_encode(arr)
    dictionary = enc.dictionary.to_pylist()
    idx = enc.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int32)
    if not dictionary:
        return idx, []
    counts = np.bincount(idx[idx >= 0], minlength=len(dictionary))
    order = np.lexsort((np.array(dictionary, dtype=object).astype(str), -counts))
    remap = np.empty(len(order), dtype=np.int32)
    remap[order] = np.arange(len(order), dtype=np.int32)
    out = np.where(idx >= 0, remap[np.clip(idx, 0, None)], -1).astype(np.int32)
    return out, [dictionary[i] for i in order]


def _encode_category_lists(names: pa.ChunkedArray) -> tuple[list[list[int]], list[str]]:
    """Per-wallet category name lists -> per-wallet index lists into one shared dictionary."""
    arr = names.combine_chunks()
    if not isinstance(arr, pa.ListArray):
        arr = pc.cast(arr, pa.list_(pa.string()))
    arr = arr.fill_null(pa.scalar([], type=arr.type)) if arr.null_count else arr
    flat_idx, dictionary = _encode_strings(arr.flatten())
    lists = pa.ListArray.from_arrays(arr.offsets, pa.array(flat_idx, type=pa.int32()))
    return lists.to_pylist(), dictionary


def _round_sig(values: np.ndarray, digits: int = 5) -> np.ndarray:
    """Round to ``digits`` significant digits so JSON carries short numbers (vectorized).

    Dividing (or multiplying) by an exact power of ten returns the double nearest to the short
    decimal, so its shortest repr is that decimal: 0.000123456 -> 0.00012346 at 5 digits.
    """
    x = np.asarray(values, dtype=np.float64)
    out = x.copy()
    ok = np.isfinite(x) & (x != 0)
    if not ok.any():
        return out
    v = x[ok]
    m = np.clip(digits - 1 - np.floor(np.log10(np.abs(v))), -22, 22)
    up = m >= 0
    res = np.empty_like(v)
    res[up] = np.round(v[up] * 10.0 ** m[up]) / 10.0 ** m[up]
    res[~up] = np.round(v[~up] / 10.0 ** -m[~up]) * 10.0 ** -m[~up]
    out[ok] = res
    return out


def _float_col(table: pa.Table, name: str) -> np.ndarray:
    return pc.cast(table.column(name), pa.float64()).to_numpy().astype(np.float64)


def build_dashboard_payload(
    con: Any,
    model_info: dict | None = None,
    *,
    detail_limit: int = DEFAULT_DETAIL_LIMIT,
    max_curve_points: int = DEFAULT_MAX_CURVE_POINTS,
    tx_count_threshold: float = DEFAULT_THRESHOLDS.TX_COUNT_THRESHOLD,
    fills_limit: int = DEFAULT_FILLS_LIMIT,
    leaderboard_limit: int = DEFAULT_LEADERBOARD_LIMIT,
    positioning_points: int = DEFAULT_POSITIONING_POINTS,
    positioning_coins: int = DEFAULT_POSITIONING_COINS,
    holders_coins: int = DEFAULT_HOLDERS_COINS,
) -> dict:
    """Read wallet_scores / wallet_categories / wallet_pnl / wallet_pnl_hourly / wallet_positions /
    wallet_features (each optional) from DuckDB into the dashboard payload described in the module doc.

    The wallets are the ones the final report analyzes, so both show the same count: when
    wallet_features has ``tx_count``, only wallets with ``tx_count >= tx_count_threshold`` (the
    report's TX_COUNT_THRESHOLD; addresses only seen as ERC-20 transfer counterparties have 0) and,
    when wallet_categories exists, only wallets it holds (the report joins the two).

    The trader views (leaderboards, coin_positioning, coin_holders) are read when they exist: the top
    ``leaderboard_limit`` rows per period and metric, positioning of the ``positioning_coins`` coins
    with the largest open interest over at most ``positioning_points`` hours, and the holders of the
    ``holders_coins`` coins with the largest open interest.
    """
    if max_curve_points < 2:
        raise ValueError("max_curve_points must be at least 2")
    if positioning_points < 2:
        raise ValueError("positioning_points must be at least 2")
    present = {
        t: _columns(con, t)
        for t in (
            "wallet_scores",
            "wallet_categories",
            "wallet_pnl",
            "wallet_pnl_hourly",
            "wallet_positions",
            "wallet_features",
            "fills",
            "leaderboards",
            "coin_positioning",
            "coin_holders",
        )
    }
    views = {key: _view_usable(present[table], need) for key, (table, need) in _TRADER_VIEWS.items()}
    scores, cats, pnl = present["wallet_scores"], present["wallet_categories"], present["wallet_pnl"]
    sources = [t for t in ("wallet_scores", "wallet_categories", "wallet_pnl") if present[t] is not None]
    if not sources and present["wallet_features"] is not None:
        sources = ["wallet_features"]

    payload: dict[str, Any] = {
        "format": PAYLOAD_FORMAT,
        "generated": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "n": 0,
        "detail_limit": int(detail_limit),
        "max_curve_points": int(max_curve_points),
        "features": list(FEATURE_NAMES),
        "sections": {
            "scores": scores is not None,
            "categories": cats is not None,
            "pnl": pnl is not None,
            "curves": present["wallet_pnl_hourly"] is not None,
            "positions": present["wallet_positions"] is not None,
            "features": present["wallet_features"] is not None,
            "fills": _fills_usable(present["fills"]),
            **views,
        },
        "model": {"version": None, "versions": [], "info": model_info or {}},
        "dicts": {"cat": [], "size": [], "pnl": [], "kir": []},
        "cols": {"addr": []},
        "detail": {"row": []},
    }
    if not sources and not any(views.values()):
        return payload

    universe = " UNION ".join(f"SELECT CAST(wallet AS VARCHAR) AS wallet FROM {t}" for t in sources)
    analyzed = _analyzed_filter(present, tx_count_threshold)
    # the wallet universe and the detail set are computed once, as temp tables (allowed on read-only
    # connections too), instead of once per query
    tag = uuid.uuid4().hex[:12]
    w_tbl, d_tbl = f"_dashboard_w_{tag}", f"_dashboard_d_{tag}"
    progress = _progress_bar_off(con)
    try:
        if sources:
            con.execute(
                f"CREATE TEMP TABLE {w_tbl} AS SELECT wallet, "
                "CAST(row_number() OVER (ORDER BY wallet) - 1 AS INTEGER) AS idx "
                f"FROM ({universe}) WHERE wallet IS NOT NULL{analyzed}"
            )
            w_cte = f"w AS (SELECT * FROM {w_tbl})"
            _fill_payload(con, payload, present, w_cte, d_tbl, detail_limit, max_curve_points)
            if payload["sections"]["fills"]:
                payload["fills"] = _build_fills(
                    con, w_cte, d_tbl, present["fills"] or [], len(payload["detail"]["row"]), fills_limit
                )
        outside = _Outside()
        refs = _WalletRefs(w_tbl if sources else None, outside)
        if views["leaderboards"]:
            payload["leaderboards"] = _build_leaderboards(con, present["leaderboards"] or [], refs, leaderboard_limit)
        if views["positioning"]:
            payload["positioning"] = _build_positioning(
                con, present["coin_positioning"] or [], positioning_points, positioning_coins
            )
        if views["holders"]:
            payload["holders"] = _build_holders(con, present["coin_holders"] or [], refs, holders_coins)
        if views["leaderboards"] or views["holders"]:
            payload["xaddr"] = outside.names
    finally:
        con.execute(f"DROP TABLE IF EXISTS temp.{w_tbl}")
        con.execute(f"DROP TABLE IF EXISTS temp.{d_tbl}")
        if progress:
            con.execute("SET enable_progress_bar = true")
    return payload


def _analyzed_filter(present: dict[str, list[str] | None], tx_count_threshold: float) -> str:
    """SQL ``AND …`` keeping the wallets the report counts (``report_rows``: wallet_features joined
    with wallet_categories, ``coalesce(tx_count, 0) >= TX_COUNT_THRESHOLD``); empty when wallet_features
    has no tx_count (an older stage: nothing to filter on)."""
    feats, cats = present["wallet_features"], present["wallet_categories"]
    if feats is None or "tx_count" not in feats:
        return ""
    sql = (
        " AND wallet IN (SELECT CAST(wallet AS VARCHAR) FROM wallet_features "
        f"WHERE coalesce(CAST(tx_count AS DOUBLE), 0) >= {float(tx_count_threshold)!r})"
    )
    if cats is not None:
        sql += " AND wallet IN (SELECT CAST(wallet AS VARCHAR) FROM wallet_categories)"
    return sql


def _progress_bar_off(con: Any) -> bool:
    """Silence DuckDB's progress bar (it would print into logs); returns whether it was on."""
    try:
        was_on = bool(con.execute("SELECT current_setting('enable_progress_bar')").fetchone()[0])
    except Exception:  # noqa: BLE001 (an unknown setting in another DuckDB version: leave it)
        return False
    if was_on:
        con.execute("SET enable_progress_bar = false")
    return was_on


def _fill_payload(
    con: Any,
    payload: dict[str, Any],
    present: dict[str, list[str] | None],
    w_cte: str,
    d_tbl: str,
    detail_limit: int,
    max_curve_points: int,
) -> None:
    """The main columns, dictionaries, model versions and detail of ``payload``, in place."""
    scores, cats, pnl = present["wallet_scores"], present["wallet_categories"], present["wallet_pnl"]

    select = ["w.idx", "w.wallet"]
    joins = []
    if scores is not None:
        joins.append(f"LEFT JOIN {_one_per_wallet('wallet_scores')} s ON s.wallet = w.wallet")
        for key, col in _SCORE_COLS.items():
            expr = _num("s", col, 3, scores)
            if expr:
                select.append(f"{expr} AS {key}")
    feats = present["wallet_features"]
    if feats is not None and "skill_confidence" in feats:
        # the skill figure: posterior P(edge > 0) of the wallet's mark-outs (classification's skill gate)
        joins.append(f"LEFT JOIN {_one_per_wallet('wallet_features')} sk ON sk.wallet = w.wallet")
        select.append(f"{_num('sk', 'skill_confidence', 3, feats)} AS skill")
    if pnl is not None:
        joins.append(f"LEFT JOIN {_one_per_wallet('wallet_pnl')} p ON p.wallet = w.wallet")
        for key, (col, digits, _sig) in _PNL_COLS.items():
            expr = _num("p", col, digits, pnl)
            if expr:
                select.append(f"{expr} AS {key}")
    cat_exprs = None
    if cats is not None:
        joins.append(f"LEFT JOIN {_one_per_wallet('wallet_categories')} c ON c.wallet = w.wallet")
        cat_exprs = _category_exprs(con, cats)
        if cat_exprs:
            select += [f"{cat_exprs[0]} AS cat_names", f"{cat_exprs[1]} AS cat_conf"]
        for key, col in _DICT_COLS.items():
            if col in cats:
                select.append(f"CAST(c.{col} AS VARCHAR) AS {key}")
        if "wash_trade_flag" in cats:
            select.append("CAST(coalesce(c.wash_trade_flag, false) AS INTEGER) AS wash")
    main = con.sql(f"WITH {w_cte} SELECT {', '.join(select)} FROM w {' '.join(joins)} ORDER BY w.idx")
    table = main.to_arrow_table()
    n = table.num_rows
    payload["n"] = n
    out_cols: dict[str, Any] = {"addr": table.column("wallet").to_pylist()}
    for key in (*_SCORE_COLS, "skill"):
        if key in table.column_names:
            out_cols[key] = _float_col(table, key)
    for key, (_col, _digits, sig) in _PNL_COLS.items():
        if key in table.column_names:
            out_cols[key] = _round_sig(_float_col(table, key), sig)
    if cat_exprs:
        out_cols["cat"], payload["dicts"]["cat"] = _encode_category_lists(table.column("cat_names"))
        conf = table.column("cat_conf").combine_chunks()
        out_cols["conf"] = conf.fill_null(pa.scalar([], type=conf.type)).to_pylist()
    for key in _DICT_COLS:
        if key in table.column_names:
            idx, dictionary = _encode_strings(table.column(key))
            if key == "prim":
                # primary category points into the shared category dictionary
                cat_dict = payload["dicts"]["cat"]
                lookup = {name: i for i, name in enumerate(cat_dict)}
                extra = [d for d in dictionary if d not in lookup]
                for name in extra:
                    lookup[name] = len(cat_dict)
                    cat_dict.append(name)
                remap = np.array([lookup[d] for d in dictionary] or [0], dtype=np.int32)
                out_cols[key] = np.where(idx >= 0, remap[np.clip(idx, 0, None)], -1).astype(np.int32)
            else:
                out_cols[key] = idx
                payload["dicts"][_DICT_NAMES[key]] = dictionary
    if "wash" in table.column_names:
        out_cols["wash"] = table.column("wash").to_numpy().astype(np.int8)
    payload["cols"] = out_cols

    if scores is not None and "model_version" in scores:
        versions = con.sql(  # counted over the dashboard's wallets, like every other number on it
            f"WITH {w_cte} SELECT CAST(s.model_version AS VARCHAR), count(*) FROM wallet_scores s "
            "WHERE s.model_version IS NOT NULL AND CAST(s.wallet AS VARCHAR) IN (SELECT wallet FROM w) "
            "GROUP BY 1 ORDER BY 2 DESC, 1"
        ).fetchall()
        payload["model"]["versions"] = [[v, int(c)] for v, c in versions]
        payload["model"]["version"] = versions[0][0] if versions else None

    payload["detail"] = _build_detail(con, w_cte, d_tbl, present, n, detail_limit, max_curve_points)


def _build_detail(
    con: Any,
    w_cte: str,
    d_tbl: str,
    present: dict[str, list[str] | None],
    n: int,
    detail_limit: int,
    max_curve_points: int,
) -> dict[str, Any]:
    """Style, features, positions and the downsampled PnL curve of the largest-notional wallets."""
    limit = max(0, min(int(detail_limit), n))
    pnl = present["wallet_pnl"]
    if pnl is not None and "notional" in pnl:
        rank = f"LEFT JOIN {_one_per_wallet('wallet_pnl')} p ON p.wallet = w.wallet"
        order = "p.notional DESC NULLS LAST, w.idx"
    else:
        rank, order = "", "w.idx"
    con.execute(
        f"CREATE TEMP TABLE {d_tbl} AS WITH {w_cte}, "
        f"top AS (SELECT w.idx, w.wallet FROM w {rank} ORDER BY {order} LIMIT {limit}) "
        "SELECT idx, wallet, CAST(row_number() OVER (ORDER BY idx) - 1 AS INTEGER) AS drow FROM top"
    )
    d_cte = f"d AS (SELECT * FROM {d_tbl})"
    rows = con.sql(f"WITH {d_cte} SELECT idx FROM d ORDER BY drow").fetchnumpy()["idx"]
    detail: dict[str, Any] = {"row": np.asarray(rows, dtype=np.int32)}
    if limit == 0:
        return detail

    scores = present["wallet_scores"]
    style_cols = [f"style_{k}" for k in range(6)]
    if scores is not None and all(c in scores for c in style_cols):
        cols = ", ".join(f"CAST(s.{c} AS DOUBLE)" for c in style_cols)
        detail["style"] = _matrix(
            con,
            f"WITH {d_cte} SELECT d.drow, {cols} FROM d JOIN {_one_per_wallet('wallet_scores')} s "
            "ON s.wallet = d.wallet",
            limit,
            6,
            digits=3,
        )
    feats = present["wallet_features"]
    if feats is not None:
        cols = ", ".join(f"CAST(f.{c} AS DOUBLE)" if c in feats else "NULL::DOUBLE" for c in FEATURE_NAMES)
        detail["feat"] = _matrix(
            con,
            f"WITH {d_cte} SELECT d.drow, {cols} FROM d JOIN {_one_per_wallet('wallet_features')} f "
            "ON f.wallet = d.wallet",
            limit,
            len(FEATURE_NAMES),
            digits=5,
        )
    pos = present["wallet_positions"]
    if pos is not None and {"coin", "position"} <= set(pos):

        def num(c: str) -> str:
            return f"CAST(q.{c} AS DOUBLE)" if c in pos else "NULL::DOUBLE"

        t = con.sql(
            f"""WITH {d_cte}
            SELECT d.drow AS d, CAST(q.coin AS VARCHAR) AS coin, {num("position")} AS size, {num("avg_cost")} AS avg,
                   {num("realized_pnl")} AS rpnl, {num("unrealized_pnl")} AS upnl
            FROM d JOIN wallet_positions q ON q.wallet = d.wallet
            QUALIFY row_number() OVER (PARTITION BY d.drow
                                       ORDER BY abs({num("position")} * coalesce({num("avg_cost")}, 1)) DESC
                                       NULLS LAST, coin) <= {MAX_POSITIONS_PER_WALLET}
            ORDER BY d.drow, abs({num("position")} * coalesce({num("avg_cost")}, 1)) DESC NULLS LAST, coin"""
        ).to_arrow_table()
        detail["pos"] = {
            "off": _offsets(t.column("d").to_numpy(), limit),
            "coin": t.column("coin").to_pylist(),
            **{k: _round_sig(_float_col(t, k), 6) for k in ("size", "avg", "rpnl", "upnl")},
        }
    hourly = present["wallet_pnl_hourly"]
    if hourly is not None and {"hour", "cum_total_pnl"} <= set(hourly):
        m = int(max_curve_points)
        t = con.sql(
            f"""WITH {d_cte}, h AS (
                SELECT d.drow, CAST(floor(epoch(x.hour) / 3600) AS BIGINT) AS t,
                       CAST(x.cum_total_pnl AS DOUBLE) AS v,
                       row_number() OVER (PARTITION BY d.drow ORDER BY x.hour) AS rn,
                       count(*) OVER (PARTITION BY d.drow) AS n
                FROM d JOIN wallet_pnl_hourly x ON x.wallet = d.wallet)
            SELECT drow AS d, t, v FROM h
            WHERE n <= {m} OR rn = 1
               OR (rn - 1) * {m - 1} // (n - 1) > (rn - 2) * {m - 1} // (n - 1)
            ORDER BY drow, t"""
        ).to_arrow_table()
        hours = t.column("t").to_numpy().astype(np.int64)
        t0 = int(hours.min()) if len(hours) else 0
        detail["curve"] = {
            "off": _offsets(t.column("d").to_numpy(), limit),
            "t0": t0,
            "t": hours - t0,
            "v": _round_sig(_float_col(t, "v"), 4),
        }
    return detail


def _offsets(drow: np.ndarray, rows: int) -> np.ndarray:
    """Run boundaries of a drow-sorted column: detail row d owns items off[d]:off[d + 1]."""
    return np.searchsorted(np.asarray(drow, dtype=np.int64), np.arange(rows + 1), side="left").astype(
        np.int64
    )


def _matrix(con: Any, sql: str, rows: int, width: int, digits: int) -> np.ndarray:
    """A (rows, width) float matrix filled from ``drow, v1..vN`` rows; NaN (JSON null) where absent."""
    out = np.full((rows, width), np.nan)
    got = con.sql(sql).to_arrow_table()
    if got.num_rows:
        drow = got.column(0).to_numpy().astype(np.int64)
        vals = np.column_stack([pc.cast(c, pa.float64()).to_numpy() for c in got.columns[1:]])
        out[drow] = _round_sig(vals, digits)
    return out


_FILLS_REQUIRED = {"wallet", "coin", "time_ms", "side", "px", "sz"}


def _fills_usable(cols: list[str] | None) -> bool:
    return cols is not None and _FILLS_REQUIRED <= set(cols)


def _build_fills(
    con: Any, w_cte: str, d_tbl: str, cols: list[str], rows: int, limit: int
) -> dict[str, Any]:
    """The last ``limit`` fills of each detail wallet, newest first, in the layout of the module doc.

    One window query inside DuckDB picks the fills; numpy only encodes the result (deltas, dictionaries).
    """
    limit = max(0, int(limit))
    has = set(cols)
    maker = "coalesce(CAST(x.is_maker AS BOOLEAN), false)" if "is_maker" in has else "false"
    cp = "CAST(x.counterparty AS VARCHAR)" if "counterparty" in has else "NULL::VARCHAR"
    tid = "x.tid" if "tid" in has else "0"
    t = con.sql(
        f"""WITH {w_cte}, d AS (SELECT * FROM {d_tbl}), f AS (
            SELECT d.drow, CAST(x.coin AS VARCHAR) AS coin, CAST(x.time_ms AS BIGINT) AS time_ms,
                   {tid} AS tid, upper(CAST(x.side AS VARCHAR)) IN ('B', 'BUY') AS buy, {maker} AS maker,
                   CAST(x.px AS DOUBLE) AS px, CAST(x.sz AS DOUBLE) AS sz, {cp} AS cp
            FROM d JOIN fills x ON CAST(x.wallet AS VARCHAR) = d.wallet
            QUALIFY row_number() OVER (PARTITION BY d.drow ORDER BY x.time_ms DESC, {tid} DESC) <= {limit})
        SELECT f.drow, f.coin, f.time_ms, f.buy, f.maker, f.px, f.sz, f.cp, w.idx AS cpi
        FROM f LEFT JOIN w ON w.wallet = f.cp
        ORDER BY f.drow, f.time_ms DESC, f.tid DESC"""
    ).to_arrow_table()
    drow = t.column("drow").to_numpy().astype(np.int64)
    off = _offsets(drow, rows)
    times = pc.fill_null(t.column("time_ms"), 0).to_numpy().astype(np.int64)
    newest = int(times.max()) if len(times) else 0
    # a run's first fill: ms before the newest fill embedded; later ones: ms before the previous fill
    prev = np.concatenate(([newest], times[:-1]))
    starts = np.zeros(len(times), dtype=bool)
    starts[off[:-1][off[:-1] < len(times)]] = True
    prev[starts] = newest
    coin_idx, coins = _encode_strings(t.column("coin"))
    flag = t.column("buy").to_numpy(zero_copy_only=False).astype(np.int8) + 2 * t.column(
        "maker"
    ).to_numpy(zero_copy_only=False).astype(np.int8)
    cpi = pc.fill_null(t.column("cpi"), -1).to_numpy().astype(np.int64)
    outside = pc.if_else(pc.is_null(t.column("cpi")), t.column("cp"), pa.scalar(None, pa.string()))
    out_idx, cps = _encode_strings(outside)
    cp_col = np.where(cpi >= 0, cpi, np.where(out_idx >= 0, -1 - out_idx, -1 - len(cps))).astype(np.int64)
    return {
        "limit": limit,
        "newest": newest,
        "off": off,
        "t": prev - times,
        "coin": coin_idx,
        "flag": flag,
        "px": _round_sig(_float_col(t, "px"), 7),
        "sz": _round_sig(_float_col(t, "sz"), 7),
        "cp": cp_col,
        "coins": coins,
        "cps": cps,
    }


# ---------- trader views: leaderboards, positioning by cohort, holders ----------


def _view_usable(cols: list[str] | None, need: set[str]) -> bool:
    """A trader view is shown when its table exists with the columns the page needs."""
    return cols is not None and need <= set(cols)


class _Outside:
    """Addresses the trader views name that are not dashboard wallets (payload ``xaddr``), each once."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self._index: dict[str, int] = {}

    def ref(self, addr: str) -> int:
        k = self._index.get(addr)
        if k is None:
            k = self._index[addr] = len(self.names)
            self.names.append(addr)
        return -1 - k


class _WalletRefs:
    """Wallet refs of the trader views: the dashboard index (cols.addr) or -1 - k for ``xaddr[k]``."""

    def __init__(self, w_tbl: str | None, outside: _Outside) -> None:
        self.w_tbl, self.outside = w_tbl, outside

    def join(self, alias: str) -> tuple[str, str]:
        """(select expression ``widx``, join clause) for the wallets of table alias ``alias``."""
        if self.w_tbl is None:
            return "NULL::INTEGER AS widx", ""
        return "w.idx AS widx", f"LEFT JOIN {self.w_tbl} w ON w.wallet = CAST({alias}.wallet AS VARCHAR)"

    def encode(self, t: pa.Table) -> np.ndarray:
        out = pc.fill_null(t.column("widx"), -1).to_numpy().astype(np.int64)
        missing = np.flatnonzero(out < 0)
        if len(missing):
            wallets = t.column("wallet").take(pa.array(missing)).to_pylist()
            out[missing] = [self.outside.ref(str(a)) for a in wallets]
        return out


def _index_in(col: pa.ChunkedArray | pa.Array, names: list[str]) -> np.ndarray:
    """Indices of ``col``'s strings in ``names`` (-1 where absent or null)."""
    idx = pc.index_in(pc.cast(col, pa.string()), value_set=pa.array(names, type=pa.string()))
    return pc.fill_null(idx, -1).to_numpy(zero_copy_only=False).astype(np.int32)


def _encode_into(col: pa.ChunkedArray, dictionary: list[str]) -> np.ndarray:
    """Dictionary-encode a string column into ``dictionary`` (extended in place with new names)."""
    idx, names = _encode_strings(col)
    lookup = {name: k for k, name in enumerate(dictionary)}
    for name in names:
        if name not in lookup:
            lookup[name] = len(dictionary)
            dictionary.append(name)
    remap = np.array([lookup[name] for name in names] or [0], dtype=np.int32)
    return np.where(idx >= 0, remap[np.clip(idx, 0, None)], -1).astype(np.int32)


def _cohort_order(names: list[str]) -> list[str]:
    """Cohorts in ladder order (size ladder, then PnL ladder; see classification.thresholds), unknown
    names after them alphabetically, 'unclassified' last. Matching ignores letter case."""
    size = [n.lower() for _, n in DEFAULT_THRESHOLDS.SIZE_COHORTS]
    pnl = [n.lower() for _, n in DEFAULT_THRESHOLDS.PNL_COHORTS]

    def key(name: str) -> tuple[int, int, str]:
        low = name.lower()
        if low in size:
            return (0, size.index(low), name)
        if low in pnl:
            return (1, pnl.index(low), name)
        return (3, 0, name) if low == "unclassified" else (2, 0, low)

    return sorted(names, key=key)


def _ordered(found: list[str], order: tuple[str, ...]) -> list[str]:
    known = [x for x in order if x in found]
    return known + sorted(x for x in found if x not in order)


def _num_or_null(has: set[str], alias: str, col: str) -> str:
    return f"CAST({alias}.{col} AS DOUBLE)" if col in has else "NULL::DOUBLE"


def _build_leaderboards(con: Any, cols: list[str], refs: _WalletRefs, limit: int) -> dict[str, Any]:
    """Every row ranked within ``limit`` of its period by net PnL, volume or (when present) ROI."""
    has, limit = set(cols), max(1, int(limit))
    roi = "roi" in has
    if "roi_rank" in has:
        roi_rank = "CAST(roi_rank AS BIGINT)"
    elif roi:
        roi_rank = ("CASE WHEN roi IS NULL THEN NULL ELSE row_number() OVER "
                    "(PARTITION BY period ORDER BY roi IS NULL, roi DESC, wallet) END")
    else:
        roi_rank = "NULL::BIGINT"
    widx, join = refs.join("x")
    cat = _category_exprs(con, cols, "leaderboards", "x")
    names = cat[0] if cat else "[]::VARCHAR[]"
    order = " ".join(f"WHEN '{p}' THEN {k}" for k, p in enumerate(_PERIOD_ORDER))
    text = (lambda c: f"CAST(x.{c} AS VARCHAR)" if c in has else "NULL::VARCHAR")  # noqa: E731
    t = con.sql(
        f"""WITH x AS (SELECT *, {roi_rank} AS _rr FROM leaderboards WHERE wallet IS NOT NULL AND period IS NOT NULL)
        SELECT CAST(x.period AS VARCHAR) AS period, CAST(x.wallet AS VARCHAR) AS wallet, {widx},
               {_num_or_null(has, "x", "pnl")} AS pnl, {_num_or_null(has, "x", "fees")} AS fees,
               CAST(x.net_pnl AS DOUBLE) AS npnl, CAST(x.volume AS DOUBLE) AS vol,
               {_num_or_null(has, "x", "fills")} AS fills, CAST(x.pnl_rank AS BIGINT) AS pr,
               CAST(x.volume_rank AS BIGINT) AS vr, {_num_or_null(has, "x", "roi")} AS roi, x._rr AS rr,
               {names} AS cat_names, {text("primary_category")} AS prim, {text("size_cohort")} AS size
        FROM x {join}
        WHERE x.pnl_rank <= {limit} OR x.volume_rank <= {limit} OR x._rr <= {limit}
        ORDER BY CASE CAST(x.period AS VARCHAR) {order} ELSE {len(_PERIOD_ORDER)} END, period, pr"""
    ).to_arrow_table()
    found = con.sql("SELECT DISTINCT CAST(period AS VARCHAR) FROM leaderboards WHERE period IS NOT NULL").fetchall()
    periods = _ordered([p for (p,) in found], _PERIOD_ORDER)
    cats, cat_dict = _encode_category_lists(t.column("cat_names"))
    size_idx, size_dict = _encode_strings(t.column("size"))
    out: dict[str, Any] = {
        "p": _index_in(t.column("period"), periods),
        "w": refs.encode(t),
        "pnl": _round_sig(_float_col(t, "pnl"), 7),
        "fees": _round_sig(_float_col(t, "fees"), 7),
        "npnl": _round_sig(_float_col(t, "npnl"), 7),
        "vol": _round_sig(_float_col(t, "vol"), 7),
        "fills": pc.fill_null(pc.cast(t.column("fills"), pa.int64()), 0).to_numpy().astype(np.int64),
        "pr": pc.fill_null(t.column("pr"), 0).to_numpy().astype(np.int64),
        "vr": pc.fill_null(t.column("vr"), 0).to_numpy().astype(np.int64),
        "prim": _encode_into(t.column("prim"), cat_dict),
        "cats": cats,
        "size": size_idx,
    }
    for key in ("pnl", "fees"):
        if key not in has:
            del out[key]
    if "fills" not in has:
        del out["fills"]
    metrics = ["pnl", "volume"]
    if roi and t.column("roi").null_count < t.num_rows:  # ROI needs account equity: offered once some wallet has it
        metrics.append("roi")
        out["roi"] = _round_sig(_float_col(t, "roi"), 5)
        out["rr"] = pc.fill_null(t.column("rr"), 0).to_numpy().astype(np.int64)
    return {
        "periods": periods,
        "metrics": metrics,
        "limit": limit,
        "rows": t.num_rows,
        "cols": out,
        "dicts": {"cat": cat_dict, "size": size_dict},
    }


def _build_positioning(con: Any, cols: list[str], max_points: int, max_coins: int) -> dict[str, Any]:
    """Long and short notional per cohort over time for the coins with the largest open interest.

    A coin's open interest is (longs + shorts) / 2 over the cohorts of one kind at its latest hour.
    Two ranges: the last ``max_points`` hours, hourly, and (only when the history is longer) the whole
    history thinned to at most ``max_points`` hours counted back from the latest one (positions are a
    state, so a kept hour shows the positions as of that hour, not an average).
    """
    has = set(cols)

    def opt(col: str, typ: str) -> str:
        return f"CAST({col} AS {typ})" if col in has else f"NULL::{typ}"

    base = f"""SELECT CAST(floor(epoch(CAST(hour AS TIMESTAMP)) / 3600) AS BIGINT) AS h,
                      CAST(coin AS VARCHAR) AS coin, CAST(cohort_kind AS VARCHAR) AS kind,
                      coalesce(CAST(cohort AS VARCHAR), 'unclassified') AS cohort,
                      coalesce(CAST(long_notional AS DOUBLE), 0) AS l, coalesce(CAST(short_notional AS DOUBLE), 0) AS s,
                      {opt("long_wallets", "BIGINT")} AS lw, {opt("short_wallets", "BIGINT")} AS sw,
                      {opt("mark", "DOUBLE")} AS mark
               FROM coin_positioning WHERE hour IS NOT NULL AND coin IS NOT NULL AND cohort_kind IS NOT NULL"""
    lo, hi, n_coins = con.execute(f"SELECT min(h), max(h), count(DISTINCT coin) FROM ({base})").fetchall()[0]
    empty: dict[str, Any] = {
        "kinds": [], "cohorts": [], "coins": [], "oi": [], "total_coins": 0, "hours": 0, "last": 0, "mark": [],
        "ranges": [], "series": {"coin": [], "kind": [], "cohort": []},
        "latest": {"coin": [], "kind": [], "cohort": [], "long": [], "short": [], "lw": [], "sw": []},
    }
    if lo is None:
        return empty
    lo, hi, max_points = int(lo), int(hi), int(max_points)
    hours = hi - lo + 1
    ranges = [{"name": "recent", "step": 1, "points": min(hours, max_points)}]
    if hours > max_points:
        step = -(-hours // max_points)
        ranges.append({"name": "all", "step": step, "points": (hi - lo) // step + 1})
    for r in ranges:
        r["t0"] = hi - (r["points"] - 1) * r["step"]
    oi = con.sql(
        f"""WITH b AS ({base}), last AS (SELECT coin, max(h) AS h FROM b GROUP BY coin),
                 k AS (SELECT b.coin, b.kind, sum(b.l + b.s) / 2 AS oi, max(b.mark) AS mark
                       FROM b JOIN last USING (coin, h) GROUP BY ALL)
            SELECT coin, max(oi) AS oi, max(mark) AS mark FROM k GROUP BY coin
            ORDER BY oi DESC NULLS LAST, coin LIMIT {max(1, int(max_coins))}"""
    ).to_arrow_table()
    coins = oi.column("coin").to_pylist()
    params = {"coins": coins}
    found_kinds = [k for (k,) in con.sql(f"SELECT DISTINCT kind FROM ({base})").fetchall()]
    kinds = _ordered(found_kinds, _KIND_ORDER)
    keep = " OR ".join(f"(h >= {r['t0']} AND (h - {r['t0']}) % {r['step']} = 0)" for r in ranges)
    thin = con.sql(
        f"""WITH b AS ({base})
            SELECT coin, kind, cohort, h, l, s FROM b
            WHERE list_contains($coins, coin) AND ({keep})
            QUALIFY max(l + s) OVER (PARTITION BY coin, kind, cohort) > 0""",
        params=params,
    ).to_arrow_table()
    latest = con.sql(
        f"""WITH b AS ({base}), last AS (SELECT coin, max(h) AS h FROM b GROUP BY coin)
            SELECT b.coin, b.kind, b.cohort, sum(b.l) AS l, sum(b.s) AS s, sum(b.lw) AS lw, sum(b.sw) AS sw
            FROM b JOIN last USING (coin, h) WHERE list_contains($coins, b.coin)
            GROUP BY ALL HAVING sum(b.l) <> 0 OR sum(b.s) <> 0 OR sum(b.lw) <> 0 OR sum(b.sw) <> 0""",
        params=params,
    ).to_arrow_table()
    names = set(thin.column("cohort").to_pylist()) | set(latest.column("cohort").to_pylist())
    cohorts = _cohort_order(sorted(names))

    def keyed(t: pa.Table) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(coin, kind, cohort) indices sorted by series, and the sort order of ``t``'s rows."""
        c, k, h = (_index_in(t.column(x), d) for x, d in (("coin", coins), ("kind", kinds), ("cohort", cohorts)))
        order = np.lexsort((h, k, c))
        return c[order], k[order], h[order], order

    c, k, h, order = keyed(thin)
    new = np.ones(len(c), dtype=bool)
    new[1:] = (c[1:] != c[:-1]) | (k[1:] != k[:-1]) | (h[1:] != h[:-1])
    sid = np.cumsum(new) - 1
    n_series = int(new.sum())
    hour = thin.column("h").to_numpy().astype(np.int64)[order]
    longs, shorts = _float_col(thin, "l")[order], _float_col(thin, "s")[order]
    for r in ranges:
        at = (hour >= r["t0"]) & ((hour - r["t0"]) % r["step"] == 0)
        j = (hour[at] - r["t0"]) // r["step"]
        lm, sm = np.zeros((n_series, r["points"])), np.zeros((n_series, r["points"]))
        lm[sid[at], j], sm[sid[at], j] = longs[at], shorts[at]
        r["long"], r["short"] = _round_sig(lm, 4), _round_sig(sm, 4)
    lc, lk, lh, lorder = keyed(latest)

    def wallets(col: str) -> np.ndarray:
        return pc.fill_null(latest.column(col), 0).to_numpy().astype(np.int64)[lorder]

    return {
        **empty,
        "kinds": kinds,
        "cohorts": cohorts,
        "coins": coins,
        "oi": _round_sig(_float_col(oi, "oi"), 7),
        "total_coins": int(n_coins),
        "hours": hours,
        "last": hi,
        "mark": _round_sig(_float_col(oi, "mark"), 6),
        "ranges": ranges,
        "series": {"coin": c[new], "kind": k[new], "cohort": h[new]},
        "latest": {
            "coin": lc, "kind": lk, "cohort": lh,
            "long": _round_sig(_float_col(latest, "l")[lorder], 7),
            "short": _round_sig(_float_col(latest, "s")[lorder], 7),
            "lw": wallets("lw"), "sw": wallets("sw"),
        },
    }


_HOLDER_NUMS = {  # payload column -> (coin_holders column, significant digits)
    "size": ("size", 6),
    "notional": ("notional", 7),
    "entry": ("entry_px", 6),
    "mark": ("mark", 6),
    "upnl": ("unrealized_pnl", 7),
    "share": ("share_of_open_interest", 4),
    "liq_px": ("liq_px", 6),
    "liq_dist": ("liq_dist", 4),
}
_HOLDER_OPTIONAL = ("liq_px", "liq_dist")  # from account state, when the warehouse has it


def _build_holders(con: Any, cols: list[str], refs: _WalletRefs, max_coins: int) -> dict[str, Any]:
    """The largest open positions of the ``max_coins`` coins with the largest open interest."""
    has = set(cols)
    widx, join = refs.join("x")
    nums = ", ".join(f"{_num_or_null(has, 'x', src)} AS {key}" for key, (src, _d) in _HOLDER_NUMS.items())
    text = (lambda c: f"CAST(x.{c} AS VARCHAR)" if c in has else "NULL::VARCHAR")  # noqa: E731
    share = "share_of_open_interest" in has
    oi = ("coalesce(max(CASE WHEN share_of_open_interest > 0 THEN notional / share_of_open_interest END), "
          "sum(notional) / 2)" if share else "sum(notional) / 2")
    base = "SELECT * FROM coin_holders WHERE wallet IS NOT NULL AND coin IS NOT NULL"
    top = con.sql(
        f"""SELECT CAST(coin AS VARCHAR) AS coin, CAST({oi} AS DOUBLE) AS oi FROM ({base}) GROUP BY ALL
            ORDER BY oi DESC NULLS LAST, coin LIMIT {max(1, int(max_coins))}"""
    ).to_arrow_table()
    total = con.execute(f"SELECT count(DISTINCT coin) FROM ({base})").fetchall()[0][0]
    coins = top.column("coin").to_pylist()
    t = con.sql(
        f"""WITH x AS ({base})
            SELECT CAST(x.coin AS VARCHAR) AS coin, CAST(x.rank AS BIGINT) AS rank,
                   CAST(x.wallet AS VARCHAR) AS wallet, {widx},
                   CASE WHEN lower(CAST(x.side AS VARCHAR)) IN ('short', 's', 'sell') THEN 1 ELSE 0 END AS side,
                   {nums}, {text("primary_category")} AS prim, {text("size_cohort")} AS size_c
            FROM x {join} WHERE list_contains($coins, CAST(x.coin AS VARCHAR))""",
        params={"coins": coins},
    ).to_arrow_table()
    coin_idx = _index_in(t.column("coin"), coins)
    order = np.lexsort((pc.fill_null(t.column("rank"), 0).to_numpy(), coin_idx))
    t = t.take(pa.array(order))
    out: dict[str, Any] = {
        "coin": coin_idx[order],
        "rank": pc.fill_null(t.column("rank"), 0).to_numpy().astype(np.int64),
        "w": refs.encode(t),
        "side": t.column("side").to_numpy().astype(np.int8),
    }
    for key, (src, digits) in _HOLDER_NUMS.items():
        if key in _HOLDER_OPTIONAL and (src not in has or t.column(key).null_count == t.num_rows):
            continue  # from account state: shown once some holder has it
        out[key] = _round_sig(_float_col(t, key), digits)
    prim, cat_dict = _encode_strings(t.column("prim"))
    size_c, size_dict = _encode_strings(t.column("size_c"))
    out["prim"], out["size_c"] = prim, size_c
    return {
        "coins": coins,
        "oi": _round_sig(_float_col(top, "oi"), 7),
        "total_coins": int(total),
        "rows": t.num_rows,
        "cols": out,
        "dicts": {"cat": cat_dict, "size": size_dict},
    }
