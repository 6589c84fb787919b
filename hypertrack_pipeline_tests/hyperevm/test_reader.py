"""The web3 reader and the block follower against an in-process eth-tester chain."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import duckdb
import pytest

from hypertrack_pipeline.hyperevm.reader import EvmReader
from hypertrack_pipeline.landing.schemas import EVM_BLOCKS, EVM_TOKEN_TRANSFERS, EVM_TRANSACTIONS
from hypertrack_pipeline.recorder.evm import EvmFollower, load_next_block
from hypertrack_pipeline.recorder.writer import LandingWriter


def test_read_range_gives_blocks_transactions_and_transfers(chain) -> None:  # noqa: ANN001
    w3 = chain.w3
    a, b, c = w3.eth.accounts[:3]
    first = w3.eth.block_number + 1
    t1 = chain.transfer(a, b, 12_345_678)
    t2 = chain.pay(b, c, 3 * 10**18)
    t3 = chain.transfer(c, a, 5)
    reader = EvmReader(w3, requests_per_min=None)
    batch = reader.read_range(first, w3.eth.block_number)
    blocks = [dict(zip(EVM_BLOCKS.names, r, strict=True)) for r in batch.blocks]
    txs = [dict(zip(EVM_TRANSACTIONS.names, r, strict=True)) for r in batch.transactions]
    transfers = [dict(zip(EVM_TOKEN_TRANSFERS.names, r, strict=True)) for r in batch.transfers]
    assert [b_["number"] for b_ in blocks] == list(range(first, first + 3))
    assert all(b_["tx_count"] == 1 and b_["time"] % 1000 == 0 for b_ in blocks)
    assert blocks[1]["parent_hash"] == blocks[0]["hash"]
    assert [t["hash"] for t in txs] == [t1, t2, t3]
    assert txs[0]["to_address"] == chain.token.lower() and txs[0]["method_id"] == "0x00000000"
    assert txs[0]["input_size"] == 64
    assert txs[1]["value"] == 3.0 and txs[1]["input_size"] == 0 and txs[1]["method_id"] is None
    assert txs[1]["from_address"] == b.lower() and txs[1]["to_address"] == c.lower()
    assert len(transfers) == 2
    assert transfers[0]["from_address"] == a.lower() and transfers[0]["to_address"] == b.lower()
    assert transfers[0]["amount_raw"] == "12345678" and transfers[0]["decimals"] == 6
    assert transfers[0]["amount"] == pytest.approx(12.345678)
    assert transfers[0]["tx_hash"] == t1 and transfers[0]["token"] == chain.token.lower()
    assert transfers[0]["time"] == blocks[0]["time"] and transfers[1]["block_number"] == first + 2
    # 3 blocks + 1 getLogs + 1 decimals() for the one token (cached afterwards)
    assert reader.requests == 5


def test_contract_creation_has_no_recipient(chain) -> None:  # noqa: ANN001
    reader = EvmReader(chain.w3, requests_per_min=None, lookup_decimals=False)
    batch = reader.read_range(1, 1)
    assert batch.transactions[0][5] is None and batch.transactions[0][10] > 0
    assert batch.transfers == []


def test_rate_limit_paces_requests(chain) -> None:  # noqa: ANN001
    reader = EvmReader(chain.w3, requests_per_min=600)  # 10/s, burst 60
    reader.bucket.try_take(reader.bucket.capacity)  # spend the burst
    t0 = time.monotonic()
    for _ in range(4):
        reader.head()
    assert time.monotonic() - t0 >= 0.3


def _landed(raw: Path, stream: str) -> list[tuple]:
    return duckdb.sql(f"select * from read_parquet('{raw}/{stream}/**/part-*.parquet')").fetchall()


def _follow(chain, tmp_path: Path, until_block: int, start_block: int | None = None) -> EvmFollower:  # noqa: ANN001
    writer = LandingWriter(tmp_path / "raw", ["evm_blocks", "evm_transactions", "evm_token_transfers"])
    stop = threading.Event()
    follower = EvmFollower(EvmReader(chain.w3, None), writer, tmp_path / "state" / "evm.json", stop,
                           poll_s=0.05, start_block=start_block)
    follower.start()
    deadline = time.monotonic() + 20
    while (follower.next_block or 0) <= until_block and time.monotonic() < deadline:
        time.sleep(0.02)
    stop.set()
    follower.join(10)
    writer.flush()
    follower.save_state()
    return follower


def test_follower_lands_blocks_and_resumes_after_restart(chain, tmp_path: Path) -> None:  # noqa: ANN001
    w3 = chain.w3
    a, b = w3.eth.accounts[:2]
    for i in range(3):
        chain.transfer(a, b, 10 + i)
    head1 = w3.eth.block_number
    f1 = _follow(chain, tmp_path, head1, start_block=0)
    assert f1.blocks == head1 + 1
    assert load_next_block(tmp_path / "state" / "evm.json") == head1 + 1
    for i in range(2):
        chain.transfer(b, a, 100 + i)
    head2 = w3.eth.block_number
    f2 = _follow(chain, tmp_path, head2)  # no start block: resumes from the state file
    assert f2.blocks == head2 - head1
    raw = tmp_path / "raw"
    numbers = sorted(r[0] for r in _landed(raw, "evm_blocks"))
    assert numbers == list(range(head2 + 1))  # every block once: no gap, no duplicate
    amounts = sorted(int(r[7]) for r in _landed(raw, "evm_token_transfers"))
    assert amounts == [10, 11, 12, 100, 101]
    assert len(_landed(raw, "evm_transactions")) == head2  # block 0 has none


def test_follower_without_state_starts_at_the_next_block(chain, tmp_path: Path) -> None:  # noqa: ANN001
    w3 = chain.w3
    a, b = w3.eth.accounts[:2]
    writer = LandingWriter(tmp_path / "raw", ["evm_blocks", "evm_transactions", "evm_token_transfers"])
    stop = threading.Event()
    follower = EvmFollower(EvmReader(w3, None), writer, tmp_path / "evm.json", stop, poll_s=0.05)
    start_head = w3.eth.block_number
    follower.start()
    deadline = time.monotonic() + 10
    while follower.next_block is None and time.monotonic() < deadline:
        time.sleep(0.02)
    chain.transfer(a, b, 7)
    while (follower.next_block or 0) <= start_head + 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    stop.set()
    follower.join(10)
    writer.flush()
    assert sorted(r[0] for r in _landed(tmp_path / "raw", "evm_blocks")) == [start_head + 1]
