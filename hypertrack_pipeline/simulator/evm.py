"""Simulated HyperEVM: one fast block a second (a big 30M-gas block every minute), wallet
transactions and ERC-20 ``Transfer`` logs.

Only simulated wallets send transactions (contracts never do), so every EVM sender has ground
truth. Token collectors call a distributor contract that transfers several tokens to them per call
(many transfers, many token contracts, few transactions); other EVM users send native transfers,
approvals and swaps through a router (two transfers per swap). A collector that also trades on
HyperCore farms in proportion to its trading (``CLAIMS_PER_FILL``): what makes it a collector is
that token transfers stay the bulk of its footprint, however busy its other behaviour is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from hypertrack_pipeline.landing.schemas import EVM_BLOCKS, EVM_TOKEN_TRANSFERS, EVM_TRANSACTIONS
from hypertrack_pipeline.simulator.agents import Population
from hypertrack_pipeline.simulator.book import hex_strings, take_strings
from hypertrack_pipeline.simulator.universe import Token

CLAIM, SWAP, APPROVE, NATIVE = 0, 1, 2, 3
METHOD = {CLAIM: "0x4e71d92d", SWAP: "0x38ed1739", APPROVE: "0x095ea7b3"}
INPUT_SIZE = {CLAIM: 4 + 32 * 3, SWAP: 4 + 32 * 7, APPROVE: 4 + 32 * 2, NATIVE: 0}
GAS = {CLAIM: 180_000, SWAP: 150_000, APPROVE: 46_000, NATIVE: 21_000}
COLLECTOR_CLAIMS_PER_HOUR = 0.8
CLAIMS_PER_FILL = 0.7  # a trading collector's extra transactions per expected fill
CLAIM_TOKENS = (4, 13)  # tokens a distributor call transfers: [low, high)
OTHER_TX_PER_HOUR = 0.15
# Ordinary users swap and approve only the two everyday tokens (a stablecoin and wrapped HYPE), so
# breadth of ERC-20 contracts stays the token collectors' signature.
COMMON_TOKENS = 2


@dataclass
class EvmWorld:
    """Contracts, validators and the chain's carried state."""

    tokens: tuple[Token, ...]
    router: str
    pools: list[str]
    distributor: str
    validators: list[str]
    first_block: int
    nonce: np.ndarray  # per wallet
    parent_hash: str


def evm_hour(
    rng: np.random.Generator, world: EvmWorld, pop: Population, start_ms: int, sim_start_ms: int,
    collector_share: np.ndarray,
) -> dict[str, pa.Table]:
    """Blocks, transactions and transfer logs of one hour (deterministic for the generator)."""
    S = 3600
    block0 = world.first_block + (start_ms - sim_start_ms) // 1000
    # ---- transactions
    users = np.flatnonzero(pop.uses_evm)
    is_coll = collector_share[users] > 0
    rate = np.where(is_coll, COLLECTOR_CLAIMS_PER_HOUR * collector_share[users], OTHER_TX_PER_HOUR)
    sender = np.repeat(users, rng.poisson(rate))
    n_tx = len(sender)
    sec = rng.integers(0, S, n_tx)
    order = np.lexsort((sender, sec))
    sender, sec = sender[order], sec[order]
    coll = collector_share[sender] > 0
    kind = np.where(coll & (rng.random(n_tx) < 0.85), CLAIM, rng.choice([SWAP, SWAP, APPROVE, NATIVE], n_tx))
    block = block0 + sec
    tx_index = np.arange(n_tx) - np.searchsorted(sec, sec)  # rank within the block (sorted by sec)
    # nonces continue per wallet
    nonce = np.zeros(n_tx, np.int64)
    for w in np.unique(sender):
        pos = np.flatnonzero(sender == w)
        nonce[pos] = world.nonce[w] + np.arange(len(pos))
        world.nonce[w] += len(pos)
    tx_hash = hex_strings(rng, n_tx, 32)
    addr = pa.array(pop.addresses, pa.string())
    to = np.empty(n_tx, dtype=object)
    tok_addr = [t.address for t in world.tokens]
    for i in range(n_tx):
        k = kind[i]
        if k == CLAIM:
            to[i] = world.distributor
        elif k == SWAP:
            to[i] = world.router
        elif k == APPROVE:
            to[i] = tok_addr[int(rng.integers(COMMON_TOKENS))]
        else:
            other = int(rng.integers(pop.n - 1))
            to[i] = pop.addresses[other + (other >= sender[i])]
    time_ms = start_ms + sec * 1000
    base_fee = np.rint(1e8 * np.exp(rng.normal(0, 0.1, S)))
    tip = np.rint(rng.uniform(0, 2e8, n_tx))
    gas = np.array([GAS[k] for k in kind], np.int64)
    value = np.where(kind == NATIVE, np.round(np.exp(rng.normal(0, 1.5, n_tx)), 4), 0.0)
    txs = pa.table(
        {
            "hash": tx_hash,
            "block_number": pa.array(block, pa.int64()),
            "time": pa.array(time_ms, pa.int64()),
            "tx_index": pa.array(tx_index, pa.int32()),
            "from_address": take_strings(addr, sender),
            "to_address": pa.array(to.tolist(), pa.string()),
            "value": pa.array(value, pa.float64()),
            "gas": pa.array(gas, pa.int64()),
            "gas_price": pa.array(base_fee[sec] + tip, pa.float64()),
            "nonce": pa.array(nonce, pa.int64()),
            "input_size": pa.array([INPUT_SIZE[k] for k in kind], pa.int32()),
            "method_id": pa.array([METHOD.get(int(k)) for k in kind], pa.string()),
            "recv_ns": pa.array(time_ms * 1_000_000, pa.int64()),
        },
        schema=EVM_TRANSACTIONS,
    )
    # ---- transfer logs
    rows: dict[str, list] = {k: [] for k in ("i", "token", "from", "to", "raw", "dec", "amount")}
    for i in range(n_tx):
        k = kind[i]
        me = pop.addresses[sender[i]]
        if k == CLAIM:
            legs = [(int(t), world.distributor, me) for t in rng.choice(len(world.tokens), int(rng.integers(*CLAIM_TOKENS)))]
        elif k == SWAP:
            a, b = rng.permutation(COMMON_TOKENS)[:2]
            pool = world.pools[int(rng.integers(len(world.pools)))]
            legs = [(int(a), me, pool), (int(b), pool, me)]
        else:
            legs = []
        for t, frm, dst in legs:
            tok = world.tokens[t]
            mant = int(np.exp(rng.normal(12, 2.5))) + 1  # amount in 1e-4 token units
            rows["i"].append(i)
            rows["token"].append(tok.address)
            rows["from"].append(frm)
            rows["to"].append(dst)
            rows["raw"].append(str(mant) + "0" * (tok.decimals - 4))
            rows["dec"].append(tok.decimals)
            rows["amount"].append(mant / 1e4)
    ti = np.asarray(rows["i"], np.int64)
    t_block = block[ti] if len(ti) else np.empty(0, np.int64)
    log_index = np.arange(len(ti)) - np.searchsorted(t_block, t_block)
    transfers = pa.table(
        {
            "block_number": pa.array(t_block, pa.int64()),
            "time": pa.array(time_ms[ti] if len(ti) else np.empty(0, np.int64), pa.int64()),
            "tx_hash": tx_hash.take(pa.array(ti, pa.int64())),
            "log_index": pa.array(log_index, pa.int32()),
            "token": pa.array(rows["token"], pa.string()),
            "from_address": pa.array(rows["from"], pa.string()),
            "to_address": pa.array(rows["to"], pa.string()),
            "amount_raw": pa.array(rows["raw"], pa.string()),
            "decimals": pa.array(rows["dec"], pa.int32()),
            "amount": pa.array(rows["amount"], pa.float64()),
            "recv_ns": pa.array((time_ms[ti] if len(ti) else np.empty(0, np.int64)) * 1_000_000, pa.int64()),
        },
        schema=EVM_TOKEN_TRANSFERS,
    )
    # ---- blocks: every second; hashes chain through parent_hash
    numbers = block0 + np.arange(S)
    hashes = hex_strings(rng, S, 32)
    parents = pa.concat_arrays([pa.array([world.parent_hash], pa.string()), hashes.slice(0, S - 1)])
    world.parent_hash = hashes[S - 1].as_py()
    per_block = np.bincount(sec, minlength=S)
    gas_used = np.bincount(sec, weights=gas, minlength=S).astype(np.int64) + rng.integers(0, 50_000, S)
    big = (numbers % 60) == 0
    blocks = pa.table(
        {
            "number": pa.array(numbers, pa.int64()),
            "hash": hashes,
            "parent_hash": parents,
            "time": pa.array(start_ms + np.arange(S) * 1000, pa.int64()),
            "miner": take_strings(pa.array(world.validators, pa.string()), numbers % len(world.validators)),
            "gas_used": pa.array(gas_used, pa.int64()),
            "gas_limit": pa.array(np.where(big, 30_000_000, 2_000_000), pa.int64()),
            "base_fee": pa.array(base_fee, pa.float64()),
            "tx_count": pa.array(per_block, pa.int32()),
            "recv_ns": pa.array((start_ms + np.arange(S) * 1000) * 1_000_000, pa.int64()),
        },
        schema=EVM_BLOCKS,
    )
    return {"evm_blocks": blocks, "evm_transactions": txs, "evm_token_transfers": transfers}


def collector_shares(pop: Population) -> np.ndarray:
    """Transaction rate factor per wallet (times ``COLLECTOR_CLAIMS_PER_HOUR``); 0 for non-collectors.

    1 for a pure collector; a mixed one (SECONDARY_RATE) plus ``CLAIMS_PER_FILL`` transactions per
    fill it is expected to make, so its ERC-20 transfers keep outnumbering its fills and transactions.
    """
    from hypertrack_pipeline.simulator.flows import expected_fills_per_hour

    w, f = pop.with_behaviour("token_collector")
    out = np.zeros(pop.n)
    fills = expected_fills_per_hour(pop)[w]
    out[w] = f + CLAIMS_PER_FILL * fills / COLLECTOR_CLAIMS_PER_HOUR
    return out
