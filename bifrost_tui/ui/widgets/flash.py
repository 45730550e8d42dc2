"""The one-line flash area: short feedback that clears itself (k9s style)."""

from __future__ import annotations

from rich.text import Text
from textual.timer import Timer
from textual.widgets import Static

from bifrost_tui.textsafe import safe_text

STYLES = {"info": "", "success": "bold green", "warning": "bold yellow", "error": "bold red"}


class FlashBar(Static):
    DEFAULT_CSS = """
    FlashBar { height: 1; padding: 0 1; background: $surface; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id, markup=False)
        self.message = ""
        self.severity = "info"
        self._timer: Timer | None = None

    def flash(self, message: str, severity: str = "info", timeout: float | None = 8.0) -> None:
        """Show ``message`` (untrusted parts already inside are escaped here)."""
        self.message = safe_text(message, 300)
        self.severity = severity
        prefix = {"error": "✗ ", "warning": "! ", "success": "✓ "}.get(severity, "")
        self.update(
            Text(prefix + self.message, style=STYLES.get(severity, ""), no_wrap=True), layout=False
        )
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(timeout, self.clear) if timeout else None

    def clear(self) -> None:
        self.message = ""
        self.update("", layout=False)
