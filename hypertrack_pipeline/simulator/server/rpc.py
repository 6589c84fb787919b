"""``POST /evm``: HyperEVM JSON-RPC over the simulated blocks, enough for web3.py's HTTPProvider."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from hypertrack_pipeline.simulator.server.responses import json_response
from hypertrack_pipeline.simulator.server.state import EvmChain
from hypertrack_pipeline.simulator.wire import EvmBlock

CHAIN_ID = 999


class RpcError(Exception):
    """A JSON-RPC error answer (``code``, message)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


class EvmRpc:
    """Answers JSON-RPC requests (single or batched) from an :class:`EvmChain`.

    Only reads the chain the pump fills; the methods are those a block/log reader needs
    (chain id, block number, blocks by number or hash, ``eth_getLogs`` with address/topic filters).
    """

    def __init__(self, chain: EvmChain) -> None:
        self.chain = chain

    async def handle(self, request: web.Request) -> web.Response:
        """The aiohttp handler of ``POST /evm``."""
        try:
            body = orjson.loads(await request.read())
        except ValueError:
            return json_response({"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "Parse error"}})
        if isinstance(body, list):
            return json_response([self.answer(item) for item in body])
        return json_response(self.answer(body))

    def answer(self, req: Any) -> dict[str, Any]:
        """One JSON-RPC request object → its response object (result or error)."""
        if not isinstance(req, dict) or not isinstance(req.get("method"), str):
            return {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "Invalid request"}}
        rid = req.get("id")
        params = req.get("params") or []
        try:
            result = self.call(req["method"], params)
        except RpcError as exc:
            return {"jsonrpc": "2.0", "id": rid, "error": {"code": exc.code, "message": str(exc)}}
        return {"jsonrpc": "2.0", "id": rid, "result": result}

    def call(self, method: str, params: list[Any]) -> Any:
        """The result of ``method``; raises :class:`RpcError`."""
        chain = self.chain
        if method == "eth_chainId":
            return hex(CHAIN_ID)
        if method == "net_version":
            return str(CHAIN_ID)
        if method == "web3_clientVersion":
            return "hypertrack-simulator/1"
        if method == "eth_syncing":
            return False
        if method == "eth_blockNumber":
            return hex(chain.latest or 0)
        if method == "eth_getBlockByNumber":
            blk = chain.blocks.get(self.block_number(params[0] if params else "latest"))
            return None if blk is None else block_json(blk, bool(params[1]) if len(params) > 1 else False)
        if method == "eth_getBlockByHash":
            blk = chain.by_hash.get(str(params[0]).lower()) if params else None
            return None if blk is None else block_json(blk, bool(params[1]) if len(params) > 1 else False)
        if method == "eth_getLogs":
            return self.get_logs(params[0] if params else {})
        raise RpcError(-32601, f"the method {method} does not exist/is not available")

    def block_number(self, tag: Any) -> int:
        """A block tag (``latest``, ``earliest``, hex, int) → a block number (-1: no block yet)."""
        chain = self.chain
        latest = chain.latest if chain.latest is not None else -1
        if tag in (None, "latest", "pending", "safe", "finalized"):
            return latest
        if tag == "earliest":
            return chain.first if chain.first is not None else 0
        if isinstance(tag, int):
            return tag
        try:
            return int(str(tag), 16)
        except ValueError:
            raise RpcError(-32602, f"invalid block number {tag!r}") from None

    def get_logs(self, flt: Any) -> list[dict[str, Any]]:
        """``eth_getLogs``: logs of a block hash or a block range (≤ 100000), by address and topics."""
        chain = self.chain
        if not isinstance(flt, dict):
            raise RpcError(-32602, "invalid filter")
        if flt.get("blockHash"):
            blk = chain.by_hash.get(str(flt["blockHash"]).lower())
            blocks = [blk] if blk is not None else []
        else:
            lo = self.block_number(flt.get("fromBlock", "latest"))
            hi = min(self.block_number(flt.get("toBlock", "latest")), chain.latest or -1)
            if hi - lo > 100_000:
                raise RpcError(-32602, "block range too large (max 100000)")
            blocks = [chain.blocks[n] for n in range(max(lo, 0), hi + 1) if n in chain.blocks]
        addresses = flt.get("address")
        if isinstance(addresses, str):
            addresses = [addresses]
        addr_set = {a.lower() for a in addresses} if addresses else None
        topics = flt.get("topics") or []
        out = []
        for blk in blocks:
            for log in blk.logs:
                if addr_set is not None and log["address"].lower() not in addr_set:
                    continue
                if topics_match(log["topics"], topics):
                    out.append(log)
        return out


def topics_match(have: list[str], want: list[Any]) -> bool:
    """Ethereum topic filter: position i is null (any), a topic, or a list of alternatives."""
    for i, w in enumerate(want):
        if w is None:
            continue
        if i >= len(have):
            return False
        options = [w] if isinstance(w, str) else list(w)
        if have[i].lower() not in {o.lower() for o in options if isinstance(o, str)}:
            return False
    return True


def block_json(blk: EvmBlock, full: bool) -> dict[str, Any]:
    """A block as ``eth_getBlockBy*`` returns it (full transactions or their hashes)."""
    out = dict(blk.header)
    out["transactions"] = list(blk.transactions) if full else [t["hash"] for t in blk.transactions]
    return out
