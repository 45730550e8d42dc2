"""Snapshot tests: what an operator sees."""
