"""Shared fixtures and fakes for the tests (no tests here)."""
