"""Tests of the node-archive parsers, pairing, landing and sources."""
