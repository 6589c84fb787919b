"""An in-process eth-tester chain with a hand-assembled token whose every call emits an ERC-20
``Transfer(caller, to, amount)`` LOG3 (calldata: 32-byte ``to``, 32-byte amount) and returns 6,
so ``decimals()`` answers 6. eth-tester has no solc, hence the raw bytecode."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from web3 import EthereumTesterProvider, Web3

from hypertrack_pipeline.hyperevm.reader import TRANSFER_TOPIC

# PUSH1 32 CALLDATALOAD PUSH1 0 MSTORE       mem[0:32] = amount
# PUSH1 0 CALLDATALOAD CALLER PUSH32 topic   stack: to, from, topic0
# PUSH1 32 PUSH1 0 LOG3                      Transfer(from=caller, to, amount)
# PUSH1 6 PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN
RUNTIME = (
    bytes.fromhex("602035600052600035337f")
    + bytes.fromhex(TRANSFER_TOPIC[2:])
    + bytes.fromhex("60206000a3")
    + bytes.fromhex("600660005260206000f3")
)
# PUSH1 len DUP1 PUSH1 11 PUSH1 0 CODECOPY PUSH1 0 RETURN, then the runtime
INIT = bytes([0x60, len(RUNTIME), 0x80, 0x60, 11, 0x60, 0, 0x39, 0x60, 0, 0xF3]) + RUNTIME


@dataclass
class Chain:
    w3: Web3
    token: str

    def transfer(self, sender: str, to: str, amount: int) -> str:
        data = bytes(12) + bytes.fromhex(to[2:]) + amount.to_bytes(32, "big")
        return "0x" + bytes(self.w3.eth.send_transaction({"from": sender, "to": self.token, "data": data,
                                                           "gas": 100_000})).hex()

    def pay(self, sender: str, to: str, wei: int) -> str:
        return "0x" + bytes(self.w3.eth.send_transaction({"from": sender, "to": to, "value": wei})).hex()


@pytest.fixture
def chain() -> Chain:
    w3 = Web3(EthereumTesterProvider())
    tx = w3.eth.send_transaction({"from": w3.eth.accounts[0], "data": INIT})
    token = w3.eth.get_transaction_receipt(tx)["contractAddress"]
    assert bytes(w3.eth.get_code(token)) == RUNTIME
    return Chain(w3, token)
