"""Conservation and consistency of the landed market: two sides per trade, ids, candles, quotes."""

from __future__ import annotations

import re
from collections import defaultdict

import numpy as np
import pyarrow.parquet as pq


def test_trades_have_two_distinct_sides_except_planted_wash_trades(small_market, read_stream) -> None:
    out, summary = small_market
    trades = read_stream(out, "trades").to_pylist()
    wallets = {r["wallet"]: r for r in pq.read_table(out / "ground_truth" / "wallets.parquet").to_pylist()}
    assert len(trades) == summary.trades > 1000
    self_trades = [t for t in trades if t["buyer"] == t["seller"]]
    assert self_trades, "the planted self-trades are missing"
    for t in trades:
        assert t["buyer"] in wallets and t["seller"] in wallets
        assert t["side"] in ("A", "B") and t["px"] > 0 and t["sz"] > 0
        assert re.fullmatch(r"0x[0-9a-f]{64}", t["hash"])
        assert t["recv_ns"] == t["time"] * 1_000_000
    for t in self_trades:
        assert "wash_trader" in wallets[t["buyer"]]["archetypes"]
    zero = sum(t["hash"] == "0x" + "0" * 64 for t in trades) / len(trades)
    assert 0.15 < zero < 0.25
    # tids: unique per coin and increasing with time
    by_coin = defaultdict(list)
    for t in trades:
        by_coin[t["coin"]].append((t["time"], t["tid"]))
    for rows in by_coin.values():
        rows.sort()
        tids = [tid for _, tid in rows]
        assert len(set(tids)) == len(tids)
        assert tids == sorted(tids)
    # ground truth counts every side of every trade
    pnl = pq.read_table(out / "ground_truth" / "pnl.parquet")
    assert int(np.sum(pnl.column("fills").to_numpy())) == 2 * len(trades) == summary.fills


def test_candles_equal_the_trades_they_cover(small_market, read_stream) -> None:
    out, _ = small_market
    trades = read_stream(out, "trades").to_pylist()
    minute = defaultdict(list)
    for t in trades:
        minute[(t["coin"], t["time"] // 60_000 * 60_000)].append(t)
    candles = read_stream(out, "candles").to_pylist()
    assert len(candles) == len(minute)
    decimals = {"BTC": 5, "ETH": 4, "SOL": 2, "HYPE": 2, "XRP": 0, "DOGE": 0}
    for c in candles:
        ts = sorted(minute[(c["coin"], c["open_time"])], key=lambda t: (t["time"], t["tid"]))
        assert c["interval"] == "1m" and c["close_time"] == c["open_time"] + 59_999
        assert c["open"] == ts[0]["px"] and c["close"] == ts[-1]["px"]
        assert c["high"] == max(t["px"] for t in ts) and c["low"] == min(t["px"] for t in ts)
        assert c["n_trades"] == len(ts)
        assert c["volume"] == round(sum(t["sz"] for t in ts), decimals[c["coin"]])


def test_quotes_books_and_trade_prices_agree(small_market, read_stream) -> None:
    out, _ = small_market
    wash = {r["wallet"] for r in pq.read_table(out / "ground_truth" / "wallets.parquet").to_pylist()
            if "wash_trader" in r["archetypes"]}
    bbo = read_stream(out, "bbo").to_pylist()
    assert all(b["bid_px"] < b["ask_px"] and b["bid_sz"] > 0 and b["ask_sz"] > 0 for b in bbo)
    quote = {(b["coin"], b["time"]): b for b in bbo}
    # a taker trade below block size fills at the touch of the quote in force (wash trades print at the mid)
    touch_hits, checked = 0, 0
    current: dict[str, dict] = {}
    events = sorted([(b["time"], 0, b) for b in bbo] + [(t["time"], 1, t) for t in read_stream(out, "trades").to_pylist()],
                    key=lambda e: (e[0], e[1]))
    for _, kind, row in events:
        if kind == 0:
            current[row["coin"]] = row
        elif not {row["buyer"], row["seller"]} & wash and row["px"] * row["sz"] < 100_000:
            q = current[row["coin"]]
            checked += 1
            touch_hits += row["px"] == (q["ask_px"] if row["side"] == "B" else q["bid_px"])
    assert checked > 1000 and touch_hits == checked
    l2 = read_stream(out, "l2book").to_pylist()
    assert l2
    for snap in l2[:500]:
        assert 1 <= len(snap["bid_px"]) <= 20 and len(snap["ask_px"]) <= 20
        assert snap["bid_px"] == sorted(snap["bid_px"], reverse=True) and snap["ask_px"] == sorted(snap["ask_px"])
        assert snap["bid_px"][0] < snap["ask_px"][0]
        q = quote.get((snap["coin"], snap["time"]))
        if q is not None:
            assert (snap["bid_px"][0], snap["ask_px"][0]) == (q["bid_px"], q["ask_px"])


def test_evm_streams_are_linked(small_market, read_stream) -> None:
    out, _ = small_market
    blocks = read_stream(out, "evm_blocks").to_pylist()
    txs = read_stream(out, "evm_transactions").to_pylist()
    transfers = read_stream(out, "evm_token_transfers").to_pylist()
    wallets = {r["wallet"]: r for r in pq.read_table(out / "ground_truth" / "wallets.parquet").to_pylist()}
    numbers = [b["number"] for b in blocks]
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers)))
    assert all(b["parent_hash"] == a["hash"] for a, b in zip(blocks, blocks[1:], strict=False))
    by_number = {b["number"]: b for b in blocks}
    tx_per_block = defaultdict(int)
    for tx in txs:
        assert wallets[tx["from_address"]]["uses_evm"]
        assert by_number[tx["block_number"]]["time"] == tx["time"]
        tx_per_block[tx["block_number"]] += 1
    assert all(by_number[n]["tx_count"] == k for n, k in tx_per_block.items())
    tx_hashes = {tx["hash"] for tx in txs}
    assert transfers and all(t["tx_hash"] in tx_hashes for t in transfers)
    for t in transfers:
        assert t["amount"] == int(t["amount_raw"]) / 10 ** t["decimals"] or abs(
            t["amount"] - int(t["amount_raw"]) / 10 ** t["decimals"]) <= 1e-12 * t["amount"]
