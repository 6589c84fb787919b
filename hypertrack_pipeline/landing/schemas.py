"""Landing-zone views of the dataset registry (:mod:`hypertrack_pipeline.datasets`): the pyarrow schema,
partition time column and stream group of every landed stream, under the names the recorder,
simulator and tests use. Nothing is declared here: edit the registry."""

from __future__ import annotations

import pyarrow as pa

from hypertrack_pipeline.datasets import DATASETS, STREAM_GROUPS

STREAM_SCHEMAS: dict[str, pa.Schema] = {name: d.landing for name, d in DATASETS.items()}
PARTITION_TIME_COLUMN: dict[str, str] = {name: d.time_column for name, d in DATASETS.items()}

TRADES = STREAM_SCHEMAS["trades"]
BBO = STREAM_SCHEMAS["bbo"]
L2BOOK = STREAM_SCHEMAS["l2book"]
CANDLES = STREAM_SCHEMAS["candles"]
EVM_BLOCKS = STREAM_SCHEMAS["evm_blocks"]
EVM_TRANSACTIONS = STREAM_SCHEMAS["evm_transactions"]
EVM_TOKEN_TRANSFERS = STREAM_SCHEMAS["evm_token_transfers"]
GAPS = STREAM_SCHEMAS["gaps"]
ACCOUNT_STATE = STREAM_SCHEMAS["account_state"]
ACCOUNT_POSITIONS = STREAM_SCHEMAS["account_positions"]

__all__ = ["ACCOUNT_POSITIONS", "ACCOUNT_STATE", "BBO", "CANDLES", "EVM_BLOCKS", "EVM_TOKEN_TRANSFERS", "EVM_TRANSACTIONS", "GAPS", "L2BOOK",
           "PARTITION_TIME_COLUMN", "STREAM_GROUPS", "STREAM_SCHEMAS", "TRADES"]
