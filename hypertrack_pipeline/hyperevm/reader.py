"""HyperEVM through web3.py: blocks, transactions and ERC-20 ``Transfer`` logs as landing rows.

Every JSON-RPC request first takes a token from a per-minute bucket (the public RPC allows 100
requests a minute). A block range costs one request per block (with full transactions) plus one
``eth_getLogs`` for the range, plus one ``decimals()`` call per token never seen before.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from web3 import Web3

from hypertrack_pipeline.hyperliquid.pacing import TokenBucket

TRANSFER_TOPIC = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
DECIMALS_SELECTOR = "0x313ce567"
DEFAULT_DECIMALS = 18


def _hex(value: Any) -> str:
    """HexBytes / bytes / str → lowercase 0x-hex."""
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    return str(value).lower()


def _addr(value: Any) -> str | None:
    """An address or None (contract creation shows up as None or an empty string)."""
    if value is None or value == "" or value == b"":
        return None
    return _hex(value).lower()


def _get(obj: Any, *names: str) -> Any:
    """First present field: JSON-RPC spells it camelCase, eth-tester's raw objects snake_case."""
    for name in names:
        value = obj.get(name)
        if value is not None:
            return value
    return None


def _int(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, str):
        return int(value, 16) if value.startswith("0x") else int(value)
    return int(value)


def _bytes(value: Any) -> bytes:
    if value is None:
        return b""
    if isinstance(value, str):
        return bytes.fromhex(value[2:] if value.startswith("0x") else value)
    return bytes(value)


@dataclass
class EvmBatch:
    """Rows of a block range, in the EVM_BLOCKS / EVM_TRANSACTIONS / EVM_TOKEN_TRANSFERS layouts."""

    first: int
    last: int
    blocks: list[tuple] = field(default_factory=list)
    transactions: list[tuple] = field(default_factory=list)
    transfers: list[tuple] = field(default_factory=list)
    last_time_ms: int | None = None


class EvmReader:
    def __init__(self, w3: Web3, requests_per_min: float | None = 100.0, lookup_decimals: bool = True) -> None:
        self.w3 = w3
        self.bucket = TokenBucket(requests_per_min, burst=max(1.0, requests_per_min / 10)) if requests_per_min else None
        self.lookup_decimals = lookup_decimals
        self.requests = 0
        self._decimals: dict[str, int] = {}

    @classmethod
    def from_url(cls, url: str, requests_per_min: float | None = 100.0, timeout_s: float = 15.0) -> EvmReader:
        return cls(Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": timeout_s})), requests_per_min)

    def _req(self) -> None:
        if self.bucket is not None:
            self.bucket.take()
        self.requests += 1

    def head(self) -> int:
        self._req()
        return int(self.w3.eth.block_number)

    def decimals(self, token: str) -> int:
        """The token's ``decimals()``, cached; 18 when the call fails or answers nonsense."""
        if token in self._decimals:
            return self._decimals[token]
        dec = DEFAULT_DECIMALS
        if self.lookup_decimals:
            try:
                self._req()
                out = self.w3.eth.call({"to": Web3.to_checksum_address(token), "data": DECIMALS_SELECTOR})
                if len(out) >= 32:
                    value = int.from_bytes(bytes(out[:32]), "big")
                    if value <= 77:
                        dec = value
            except Exception:  # noqa: BLE001 - not an ERC-20, a revert, a transport hiccup: use the default
                dec = DEFAULT_DECIMALS
        self._decimals[token] = dec
        return dec

    def read_range(self, first: int, last: int) -> EvmBatch:
        """Blocks ``first..last`` (inclusive) with their transactions and Transfer logs."""
        recv_ns = time.time_ns()
        batch = EvmBatch(first, last)
        times: dict[int, int] = {}
        for number in range(first, last + 1):
            self._req()
            block = self.w3.eth.get_block(number, full_transactions=True)
            t_ms = _int(block["timestamp"]) * 1000
            times[number] = t_ms
            txs = block.get("transactions") or []
            base_fee = _int(_get(block, "baseFeePerGas", "base_fee_per_gas"))
            batch.blocks.append(
                (
                    _int(block["number"]),
                    _hex(block["hash"]),
                    _hex(_get(block, "parentHash", "parent_hash")),
                    t_ms,
                    _addr(_get(block, "miner", "coinbase")),
                    _int(_get(block, "gasUsed", "gas_used")),
                    _int(_get(block, "gasLimit", "gas_limit")),
                    float(base_fee) if base_fee is not None else None,
                    len(txs),
                    recv_ns,
                )
            )
            for tx in txs:
                data = _bytes(_get(tx, "input", "data"))
                gas_price = _get(tx, "gasPrice", "gas_price")
                batch.transactions.append(
                    (
                        _hex(tx["hash"]),
                        number,
                        t_ms,
                        _int(_get(tx, "transactionIndex", "transaction_index")) or 0,
                        _addr(tx["from"]),
                        _addr(tx.get("to")),
                        (_int(tx.get("value")) or 0) / 1e18,
                        _int(tx.get("gas")),
                        float(_int(gas_price)) if gas_price is not None else None,
                        _int(tx.get("nonce")),
                        len(data),
                        "0x" + data[:4].hex() if len(data) >= 4 else None,
                        recv_ns,
                    )
                )
            batch.last_time_ms = t_ms
        self._req()
        logs = self.w3.eth.get_logs({"fromBlock": first, "toBlock": last, "topics": [TRANSFER_TOPIC]})
        for lg in logs:
            topics = lg["topics"]
            data = _bytes(lg["data"])
            if len(topics) != 3 or len(data) != 32:  # ERC-721 Transfer has the id as a 4th topic
                continue
            token = _hex(lg["address"]).lower()
            dec = self.decimals(token)
            raw = int.from_bytes(data, "big")
            number = _int(lg["blockNumber"])
            batch.transfers.append(
                (
                    number,
                    times.get(number, batch.last_time_ms or 0),
                    _hex(lg["transactionHash"]),
                    _int(lg["logIndex"]),
                    token,
                    "0x" + _bytes(topics[1])[-20:].hex(),
                    "0x" + _bytes(topics[2])[-20:].hex(),
                    str(raw),
                    dec,
                    raw / 10**dec,
                    recv_ns,
                )
            )
        return batch
