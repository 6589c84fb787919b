"""The simulator server's Info endpoint and its HyperEVM JSON-RPC, used through real clients
(urllib for Info, web3.py's HTTPProvider for the chain)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from web3 import Web3
from web3.exceptions import BlockNotFound

from hypertrack_pipeline.landing.schemas import BBO, EVM_BLOCKS, EVM_TOKEN_TRANSFERS, EVM_TRANSACTIONS, TRADES
from hypertrack_pipeline.simulator.server import SimServer, TableSource
from hypertrack_pipeline.simulator.wire import TRANSFER_TOPIC

T0 = 1_736_683_200_000  # a minute boundary
ALICE, BOB, CAROL = "0x" + "a1" * 20, "0x" + "b2" * 20, "0x" + "c3" * 20
TOKEN_X, TOKEN_Y = "0x" + "11" * 20, "0x" + "22" * 20


def h(i: int) -> str:
    return "0x" + format(i, "064x")


def post(url: str, body: Any) -> tuple[int, Any]:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def evm_tables() -> dict[str, pa.Table]:
    blocks = [{"number": 100 + i, "hash": h(1000 + i), "parent_hash": h(999 + i), "time": T0 + i * 1000,
               "miner": "0x" + "00" * 20, "gas_used": 21_000 * (i + 1), "gas_limit": 30_000_000,
               "base_fee": 1e8, "tx_count": [2, 1, 0][i], "recv_ns": 0} for i in range(3)]
    txs = [
        {"hash": h(1), "block_number": 100, "time": T0, "tx_index": 0, "from_address": ALICE, "to_address": TOKEN_X,
         "value": 0.0, "gas": 60_000, "gas_price": 1.5e8, "nonce": 3, "input_size": 68, "method_id": "0xa9059cbb",
         "recv_ns": 0},
        {"hash": h(2), "block_number": 100, "time": T0, "tx_index": 1, "from_address": BOB, "to_address": CAROL,
         "value": 1.25, "gas": 21_000, "gas_price": 1e8, "nonce": 0, "input_size": 0, "method_id": None,
         "recv_ns": 0},
        {"hash": h(3), "block_number": 101, "time": T0 + 1000, "tx_index": 0, "from_address": CAROL,
         "to_address": None, "value": 0.0, "gas": 900_000, "gas_price": 1e8, "nonce": 7, "input_size": 10,
         "method_id": "0x60806040", "recv_ns": 0},
    ]
    transfers = [
        {"block_number": 100, "time": T0, "tx_hash": h(1), "log_index": 0, "token": TOKEN_X, "from_address": ALICE,
         "to_address": BOB, "amount_raw": str(5 * 10**18), "decimals": 18, "amount": 5.0, "recv_ns": 0},
        {"block_number": 100, "time": T0, "tx_hash": h(1), "log_index": 1, "token": TOKEN_Y, "from_address": BOB,
         "to_address": CAROL, "amount_raw": "123456", "decimals": 6, "amount": 0.123456, "recv_ns": 0},
        {"block_number": 101, "time": T0 + 1000, "tx_hash": h(3), "log_index": 0, "token": TOKEN_X,
         "from_address": CAROL, "to_address": ALICE, "amount_raw": str(2**200), "decimals": 18,
         "amount": 2**200 / 1e18, "recv_ns": 0},
    ]
    return {"evm_blocks": pa.Table.from_pylist(blocks, schema=EVM_BLOCKS),
            "evm_transactions": pa.Table.from_pylist(txs, schema=EVM_TRANSACTIONS),
            "evm_token_transfers": pa.Table.from_pylist(transfers, schema=EVM_TOKEN_TRANSFERS)}


@pytest.fixture(scope="module")
def served():
    """A finished small market: trades over two minutes, one BBO, three HyperEVM blocks."""
    trades = pa.Table.from_pylist([
        {"coin": "ETH", "side": "B", "px": px, "sz": 0.5, "time": t, "tid": i, "hash": h(50 + i), "buyer": ALICE,
         "seller": BOB, "recv_ns": 0}
        for i, (t, px) in enumerate([(T0 + 5_000, 3300.0), (T0 + 30_000, 3310.5), (T0 + 65_000, 3290.25)])
    ], schema=TRADES)
    bbo = pa.Table.from_pylist([{"coin": "ETH", "time": T0 + 66_000, "bid_px": 3290.0, "bid_sz": 1.0, "bid_n": 1,
                                 "ask_px": 3291.0, "ask_sz": 2.0, "ask_n": 2, "recv_ns": 0}], schema=BBO)
    universe = [{"name": "ETH", "szDecimals": 4, "maxLeverage": 25}, {"name": "BTC", "szDecimals": 5,
                                                                       "maxLeverage": 40}]
    src = TableSource([{**evm_tables(), "trades": trades, "bbo": bbo}], universe=universe)
    with SimServer(src, speed=0) as server:
        assert server.wait_done(10)
        yield server


def test_meta_lists_the_universe_with_delisted_markets(served: SimServer, hl_fixtures: Path) -> None:
    status, meta = post(served.info_url, {"type": "meta"})
    assert status == 200
    live = [u for u in meta["universe"] if not u.get("isDelisted")]
    assert [u["name"] for u in live] == ["ETH", "BTC"]
    assert any(u.get("isDelisted") is True for u in meta["universe"])
    real = json.loads((hl_fixtures / "info" / "test_get_info__meta.json").read_text())["response"]["universe"][0]
    for entry in meta["universe"]:
        assert set(real) <= set(entry)
        assert all(type(entry[k]) is type(real[k]) for k in real)


def test_candle_snapshot_returns_candles_overlapping_the_range(served: SimServer, hl_fixtures: Path) -> None:
    status, candles = post(served.info_url, {"type": "candleSnapshot", "req": {
        "coin": "ETH", "interval": "1m", "startTime": T0 + 10_000, "endTime": T0 + 120_000}})
    assert status == 200
    assert [c["t"] for c in candles] == [T0, T0 + 60_000]
    first = candles[0]
    assert first == {"t": T0, "T": T0 + 59_999, "s": "ETH", "i": "1m", "o": "3300.0", "c": "3310.5",
                     "h": "3310.5", "l": "3300.0", "v": "1.0", "n": 2}
    real = json.loads((hl_fixtures / "info" / "test_get_candles_snapshot__candleSnapshot.json").read_text())
    assert {k: type(v) for k, v in first.items()} == {k: type(v) for k, v in real["response"][0].items()}
    _, later = post(served.info_url, {"type": "candleSnapshot", "req": {
        "coin": "ETH", "interval": "1m", "startTime": T0 + 60_000, "endTime": T0 + 120_000}})
    assert [c["t"] for c in later] == [T0 + 60_000]
    status, _ = post(served.info_url, {"type": "candleSnapshot", "req": {"coin": "ETH", "interval": "5m"}})
    assert status == 422


def test_l2book_allmids_and_unknown_requests(served: SimServer) -> None:
    assert post(served.info_url, {"type": "allMids"}) == (200, {"ETH": "3290.5"})
    assert post(served.info_url, {"type": "l2Book", "coin": "BTC"}) == (200, None)
    assert post(served.info_url, {"type": "userFills", "user": ALICE})[0] == 422
    req = urllib.request.Request(served.info_url, data=b"{nope", headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=5)
    assert err.value.code == 400


def test_web3_reads_blocks_transactions_and_transfer_logs(served: SimServer) -> None:
    w3 = Web3(Web3.HTTPProvider(served.evm_url))
    assert w3.eth.chain_id == 999
    assert w3.net.version == "999"
    assert w3.eth.block_number == 102
    block = w3.eth.get_block(100, full_transactions=True)
    assert block["number"] == 100 and block["hash"].to_0x_hex() == h(1000)
    assert block["parentHash"].to_0x_hex() == h(999) and block["timestamp"] == T0 // 1000
    assert [tx["hash"].to_0x_hex() for tx in block["transactions"]] == [h(1), h(2)]
    erc20, plain = block["transactions"]
    assert erc20["from"].lower() == ALICE and erc20["to"].lower() == TOKEN_X
    assert erc20["input"].to_0x_hex().startswith("0xa9059cbb") and len(erc20["input"]) == 68
    assert plain["value"] == 1_250_000_000_000_000_000 and plain["input"] == b""
    creation = w3.eth.get_block("latest")
    assert creation["number"] == 102 and creation["transactions"] == []
    hashes_only = w3.eth.get_block(101)
    assert [t.to_0x_hex() for t in hashes_only["transactions"]] == [h(3)]
    assert w3.eth.get_block(101, full_transactions=True)["transactions"][0]["to"] is None
    with pytest.raises(BlockNotFound):
        w3.eth.get_block(103)

    logs = w3.eth.get_logs({"fromBlock": 100, "toBlock": 102, "topics": [TRANSFER_TOPIC]})
    assert [(lg["blockNumber"], lg["logIndex"]) for lg in logs] == [(100, 0), (100, 1), (101, 0)]
    big = logs[2]
    assert int.from_bytes(big["data"], "big") == 2**200
    assert big["topics"][1].to_0x_hex() == "0x" + "0" * 24 + CAROL[2:]
    assert big["transactionHash"].to_0x_hex() == h(3) and big["blockHash"].to_0x_hex() == h(1001)
    only_x = w3.eth.get_logs({"fromBlock": 100, "toBlock": "latest",
                              "address": Web3.to_checksum_address(TOKEN_X)})
    assert [lg["logIndex"] for lg in only_x] == [0, 0] and {lg["blockNumber"] for lg in only_x} == {100, 101}
    to_bob = w3.eth.get_logs({"fromBlock": 0, "toBlock": 102,
                              "topics": [TRANSFER_TOPIC, None, "0x" + "0" * 24 + BOB[2:]]})
    assert [(lg["blockNumber"], lg["logIndex"]) for lg in to_bob] == [(100, 0)]
    assert w3.eth.get_logs({"fromBlock": 101, "toBlock": 101, "topics": [h(7)]}) == []


def test_evm_blocks_are_invisible_before_their_time_and_rpc_errors_are_json() -> None:
    with SimServer(TableSource([evm_tables()]), paused=True) as server:
        w3 = Web3(Web3.HTTPProvider(server.evm_url))
        assert w3.eth.block_number == 0
        with pytest.raises(BlockNotFound):
            w3.eth.get_block(100)
        status, reply = post(server.evm_url, [{"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"},
                                              {"jsonrpc": "2.0", "id": 2, "method": "eth_mine"}])
        assert status == 200
        assert reply[0] == {"jsonrpc": "2.0", "id": 1, "result": "0x3e7"}
        assert reply[1]["id"] == 2 and reply[1]["error"]["code"] == -32601
        server.resume()
        assert server.wait_done(5)
        assert w3.eth.block_number == 102
