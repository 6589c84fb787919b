"""HyperEVM via web3.py: blocks, transactions and ERC-20 Transfer logs as landing rows."""
