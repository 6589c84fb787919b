"""The numpy kernels of the feature build on hand-made arrays: packed-key sorting and its fallback, as-of
lookups at coin boundaries, candle matching and the event order (the end-to-end values are in
test_features.py)."""

from __future__ import annotations

import numpy as np

from hypertrack_pipeline.warehouse.feature_arrays import (
    KEY_SHIFT,
    Evm,
    Trades,
    _event_order,
    candle_of,
    market_context,
    sorted_pairs,
)


def _trades(cid: list[int], time_ms: list[int], buyer: list[int] | None = None,
            seller: list[int] | None = None) -> Trades:
    n = len(cid)
    return Trades(buyer=np.array(buyer or [0] * n, dtype=np.int64), seller=np.array(seller or [1] * n, dtype=np.int64),
                  cid=np.array(cid, dtype=np.int64), time_ms=np.array(time_ms, dtype=np.int64),
                  buyer_maker=np.zeros(n, dtype=bool), px=np.ones(n), notional=np.ones(n))


def _no_evm() -> Evm:
    e = np.zeros(0, dtype=np.int64)
    return Evm(tx_from=e, tx_to=e, tx_time=e, tx_calls=np.zeros(0, dtype=bool), xfer_from=e, xfer_to=e,
               xfer_time=e, xfer_token=e, xfer_amount=np.zeros(0))


def test_sorted_pairs_packed_and_fallback_agree() -> None:
    rng = np.random.default_rng(4)
    groups = [rng.integers(0, 50, 300), rng.integers(0, 50, 200)]
    orders = [rng.integers(0, 1000, 300), rng.integers(0, 1000, 200)]
    packed = sorted_pairs(groups, orders, 50)
    wide = sorted_pairs(groups, orders, 2**60)  # group ids too wide to pack: the lexsort path
    expected = sorted(zip(np.concatenate(groups).tolist(), np.concatenate(orders).tolist(), strict=True))
    for g, o in (packed, wide):
        assert list(zip(g.tolist(), o.tolist(), strict=True)) == expected
    empty = sorted_pairs([np.zeros(0, dtype=np.int64)], [np.zeros(0, dtype=np.int64)], 10)
    assert empty[0].size == 0 and empty[1].size == 0


def test_as_of_mids_never_cross_into_another_coin() -> None:
    # coin 0 has mids at 1000 and 2000; coin 1 only at 9000
    mid_keys = np.array([1000, 2000, (1 << KEY_SHIFT) | 9000], dtype=np.int64)
    mids = np.array([10.0, 20.0, 90.0])
    tr = _trades(cid=[0, 0, 1, 1], time_ms=[2000, 1500, 8000, 9500])
    ctx = market_context(tr, mid_keys, mids)
    before = ctx["mid_before"]
    # strictly before: 2000 sees 1000; coin 1 at 8000 must not see coin 0's 2000
    assert before.mask.tolist() == [False, False, True, False]
    assert before.data[[0, 1, 3]].tolist() == [10.0, 10.0, 90.0]
    after = ctx["mid_after"]  # last mid at or before t + 5 s
    assert after.data[[0, 1, 2, 3]].tolist() == [20.0, 20.0, 90.0, 90.0] and not after.mask.any()
    assert ctx["mid_60m"].mask.all()  # nothing an hour earlier
    none = market_context(tr, np.zeros(0, dtype=np.int64), np.zeros(0))
    assert all(v.mask.all() for v in none.values())


def test_candle_of_matches_the_fill_minute_of_its_coin() -> None:
    candle_keys = np.array([0, 60_000, (1 << KEY_SHIFT) | 60_000], dtype=np.int64)
    tr = _trades(cid=[0, 0, 1, 1], time_ms=[59_999, 60_000, 61_000, 125_000])
    assert candle_of(tr, candle_keys).tolist() == [0, 1, 2, -1]
    assert candle_of(tr, np.zeros(0, dtype=np.int64)).tolist() == [-1] * 4


def test_event_order_merges_fills_and_evm_events_per_wallet() -> None:
    tr = _trades(cid=[0, 0, 1], time_ms=[100, 300, 200], buyer=[0, 1, 0], seller=[1, 0, 1])
    evm = _no_evm()
    evm.tx_from, evm.tx_time = np.array([0]), np.array([250])
    # fills in (wallet, coin, position) order, as _flips hands them over
    fill_wallet = np.array([0, 0, 0, 1, 1, 1])
    fill_pos = np.array([0, 3, 4, 1, 2, 5])  # trade = pos // 2
    for n_wallets in (2, 2**40):  # packed keys, and the fallback when they do not fit
        w, t, t0 = _event_order(tr, evm, fill_wallet, fill_pos, n_wallets)
        assert w.tolist() == [0, 0, 0, 0, 1, 1, 1] and t0 == 100
        assert (t + t0).tolist() == [100, 200, 250, 300, 100, 200, 300]
