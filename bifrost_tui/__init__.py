"""bifrost-tui: a terminal console for the batch jobs behind a Bifrost AI gateway."""

__version__ = "0.1.0"
