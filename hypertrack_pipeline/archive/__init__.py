"""Hyperliquid node archives (``s3://hl-mainnet-node-data``): hourly LZ4 JSON-lines files of fills,
parsed into the ``exchange_fills`` landing schema and paired into ``trades`` for ``hypertrack backfill``.

Split by responsibility: :mod:`.schema` (the landed schema and fill → trade pairing), :mod:`.parse`
(bytes of one hourly file → Arrow), :mod:`.source` (listing and opening files, local or S3),
:mod:`.land` (one part per stream-hour in the landing zone), :mod:`.synth` (realistic synthetic
archives for tests and the benchmark). No Dagster here.
"""
