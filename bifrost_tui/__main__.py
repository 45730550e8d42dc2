"""``python -m bifrost_tui``: the same entry point as the ``bifrost-tui`` script."""

from bifrost_tui.cli import main

raise SystemExit(main())
