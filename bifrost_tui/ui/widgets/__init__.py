"""Reusable console widgets: the virtual batch table and its friends."""

from .batch_table import BatchTable

__all__ = ["BatchTable"]
