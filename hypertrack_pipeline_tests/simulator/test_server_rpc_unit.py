"""The HyperEVM chain store and its JSON-RPC alone (the handler behind a bare aiohttp app on 127.0.0.1)."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from hypertrack_pipeline.simulator.server.rpc import CHAIN_ID, EvmRpc, block_json, topics_match
from hypertrack_pipeline.simulator.server.state import EvmChain
from hypertrack_pipeline.simulator.wire import TRANSFER_TOPIC, EvmBlock

TOKEN_X, TOKEN_Y = "0x" + "11" * 20, "0x" + "22" * 20


def h(i: int) -> str:
    return "0x" + format(i, "064x")


def block(n: int, logs: list[dict[str, Any]] | None = None) -> EvmBlock:
    txs = [{"hash": h(10_000 + n), "blockNumber": hex(n)}]
    return EvmBlock(n, n * 1000, {"number": hex(n), "hash": h(n).upper().replace("0X", "0x")}, txs, logs or [])


def log(n: int, token: str, sender: int) -> dict[str, Any]:
    return {"address": token, "blockNumber": hex(n), "topics": [TRANSFER_TOPIC, h(sender), h(99)]}


def chain_of(*numbers: int, keep: int = 200_000) -> EvmChain:
    chain = EvmChain(keep)
    for n in numbers:
        chain.add(block(n, [log(n, TOKEN_X, 1), log(n, TOKEN_Y, 2)]))
    return chain


def test_chain_keeps_the_last_blocks_by_number_and_hash() -> None:
    chain = chain_of(5, 6, 7, keep=2)
    assert sorted(chain.blocks) == [6, 7] and chain.first == 6 and chain.latest == 7
    assert h(5) not in chain.by_hash and h(7) in chain.by_hash  # hashes are kept lowercase


def test_rpc_methods_and_errors() -> None:
    rpc = EvmRpc(chain_of(5, 6, 7))
    ok = lambda method, *params: rpc.answer({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)})  # noqa: E731
    assert ok("eth_chainId")["result"] == hex(CHAIN_ID) and ok("net_version")["result"] == "999"
    assert ok("eth_blockNumber")["result"] == "0x7" and ok("eth_syncing")["result"] is False
    assert ok("eth_getBlockByNumber", "latest")["result"]["transactions"] == [h(10_007)]
    assert ok("eth_getBlockByNumber", "0x6", True)["result"]["transactions"][0]["blockNumber"] == "0x6"
    assert ok("eth_getBlockByNumber", "earliest")["result"]["number"] == "0x5"
    assert ok("eth_getBlockByNumber", 99)["result"] is None
    assert ok("eth_getBlockByHash", h(6).upper().replace("0X", "0x"))["result"]["number"] == "0x6"
    assert ok("eth_getBlockByNumber", "zz")["error"] == {"code": -32602, "message": "invalid block number 'zz'"}
    assert ok("eth_foo") == {"jsonrpc": "2.0", "id": 1,
                             "error": {"code": -32601, "message": "the method eth_foo does not exist/is not available"}}
    assert rpc.answer([1]) == {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "Invalid request"}}
    assert EvmRpc(EvmChain()).call("eth_blockNumber", []) == "0x0"
    assert EvmRpc(EvmChain()).block_number("latest") == -1


def test_get_logs_filters() -> None:
    rpc = EvmRpc(chain_of(5, 6, 7))
    every = rpc.get_logs({"fromBlock": "0x0", "toBlock": "latest"})
    assert len(every) == 6
    assert len(rpc.get_logs({"fromBlock": "0x6", "toBlock": "0x6"})) == 2
    assert [x["address"] for x in rpc.get_logs({"fromBlock": 0, "address": TOKEN_Y.upper().replace("0X", "0x")})] \
        == [TOKEN_Y] * 3
    assert len(rpc.get_logs({"fromBlock": 0, "topics": [TRANSFER_TOPIC, [h(2), h(3)]]})) == 3
    assert len(rpc.get_logs({"blockHash": h(5)})) == 2 and rpc.get_logs({"blockHash": h(1)}) == []
    assert len(rpc.get_logs({"fromBlock": "0x0", "toBlock": hex(10**9)})) == 6  # capped at the latest block
    far = EvmRpc(chain_of(5, 100_006))
    err = far.answer({"id": 2, "method": "eth_getLogs", "params": [{"fromBlock": "0x5"}]})
    assert err["error"] == {"code": -32602, "message": "block range too large (max 100000)"}
    assert len(far.get_logs({"fromBlock": "0x6"})) == 2
    err = rpc.answer({"id": 3, "method": "eth_getLogs", "params": ["nope"]})
    assert err["error"] == {"code": -32602, "message": "invalid filter"}


def test_topics_match_and_block_json() -> None:
    assert topics_match(["0xA", "0xB"], [None, "0xb"])
    assert topics_match(["0xA", "0xB"], [["0xc", "0xa"]])
    assert not topics_match(["0xA"], [None, "0xb"])
    assert not topics_match(["0xA"], ["0xb"])
    assert block_json(block(3), full=False) == {"number": "0x3", "hash": h(3), "transactions": [h(10_003)]}


def test_handler_over_http_single_batch_and_parse_error() -> None:
    rpc = EvmRpc(chain_of(5))

    async def main() -> list[Any]:
        app = web.Application()
        app.router.add_post("/evm", rpc.handle)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        out = []
        try:
            async with aiohttp.ClientSession() as http:
                for body in ({"jsonrpc": "2.0", "id": 7, "method": "eth_blockNumber"},
                             [{"id": 1, "method": "eth_chainId"}, {"id": 2, "method": "nope"}], b"{"):
                    kw: dict[str, Any] = {"data": body} if isinstance(body, bytes) else {"json": body}
                    async with http.post(server.make_url("/evm"), **kw) as resp:
                        out.append(await resp.json())
        finally:
            await server.close()
        return out

    single, batch, broken = asyncio.run(main())
    assert single == {"jsonrpc": "2.0", "id": 7, "result": "0x5"}
    assert [r.get("result") for r in batch] == ["0x3e7", None] and batch[1]["error"]["code"] == -32601
    assert broken == {"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "Parse error"}}
