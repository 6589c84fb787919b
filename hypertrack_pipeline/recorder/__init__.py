"""Stage 1: the long-running recorder (WebSocket + HyperEVM → Parquet landing zone)."""
