"""bifrost-tui: a terminal console for the batch jobs behind a Bifrost AI gateway."""

import os
import sys

__version__ = "0.1.0"

# Start-up savings, set before any module of the program imports httpx or pydantic:
# - ``import httpx`` also imports its own command line (``httpx._main``: click, rich, pygments)
#   when those are installed, as rich is here (for Textual): 40-60 ms that no command of this
#   program uses, and rich in every one-shot command. ``None`` in ``sys.modules`` makes that one
#   import fail, which httpx expects (it says so only if its command line is run).
# - pydantic scans every installed distribution's entry points for plugins when it builds the
#   first model (~10 ms); this program's models use none. An operator's own setting is kept.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]  # None blocks an import
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
