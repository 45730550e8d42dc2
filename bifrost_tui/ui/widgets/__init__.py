"""Reusable console widgets: the virtual batch table and its friends."""

from bifrost_tui.ui.widgets.batch_table import BatchTable

__all__ = ["BatchTable"]
