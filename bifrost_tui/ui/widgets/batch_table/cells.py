"""One table cell's text: gateway strings escaped and capped, then fitted to a column's width."""

from __future__ import annotations

from rich.cells import cell_len, set_cell_size

from bifrost_tui.textsafe import ELLIPSIS, safe_text

#: Caps on what is measured and rendered per cell: a 10,000-character id must cost no more than a
#: normal one. Ids are shown whole up to ID_CAP cells.
ID_CAP = 100
PROVIDER_CAP = 24
STATUS_RAW_CAP = 24
REQUESTS_CAP = 40
#: Request counts in the table: single spaces, so "1234 proc 0 ok 3 err" fits a narrow column.
TABLE_COUNT_SEP = " "


def safe_cell(text: str, cap: int) -> str:
    """``text`` escaped and cut to ``cap`` characters; only the first ``cap + 1`` are looked at."""
    if len(text) <= cap and text.isascii() and text.isprintable():
        return text  # the common case, without a Python-level pass over each character
    return safe_text(text[: cap + 1], cap)


def text_width(text: str, cap: int) -> int:
    """Cells ``safe_cell(text, cap)`` takes, capped, without building it in the common case."""
    if text.isascii() and text.isprintable():
        return min(len(text), cap)
    return min(cell_len(safe_cell(text, cap)), cap)


def fit(text: str, width: int) -> str:
    """``text`` padded or cut (with an ellipsis) to exactly ``width`` cells."""
    if width <= 0:
        return ""
    if text.isascii():
        n = len(text)
        if n <= width:
            return text + " " * (width - n)
        return text[: width - 1] + ELLIPSIS
    n = cell_len(text)
    if n <= width:
        return text + " " * (width - n)
    return set_cell_size(text, width - 1) + ELLIPSIS
