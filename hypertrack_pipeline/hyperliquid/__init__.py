"""Hyperliquid: wire formats → landing rows, the WebSocket session client, the Info REST client."""
