"""Reusable console widgets: the virtual batch table and its friends."""
