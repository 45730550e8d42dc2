"""One table cell's text: gateway strings escaped and capped, then fitted to a column's width."""

from __future__ import annotations

from rich.cells import cell_len, set_cell_size

from bifrost_tui.formatting import counts_text
from bifrost_tui.gateway.counts import RequestCounts
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


def table_id(batch_id: str) -> str:
    """The id as the table shows it: a job ARN (``arn:aws:bedrock:…:model-invocation-job/abc``)
    by its job id (``abc``), the part that tells one job from another; any other id as it is.
    The detail screen shows the whole id."""
    if batch_id.startswith("arn:"):
        job = batch_id.rpartition("/")[2]
        if job:
            return job
    return batch_id


#: Characters a middle-cut id keeps at its end (``msgbatch_01Hk…DV8d``).
ID_TAIL = 4


def fit_middle(text: str, width: int) -> str:
    """``text`` padded, or cut in the middle to exactly ``width`` cells: the start and the end of
    an id are what tell it apart (``msgbatch_01Hk…DV8d``)."""
    if width <= 0:
        return ""
    if text.isascii():
        n = len(text)
        if n <= width:
            return text + " " * (width - n)
    elif cell_len(text) <= width:
        return text + " " * (width - cell_len(text))
    if width < 5:
        return fit(text, width)
    tail = ID_TAIL if width >= 12 else (width - 1) // 3
    head = width - 1 - tail
    if text.isascii():
        return text[:head] + ELLIPSIS + text[-tail:]
    end: list[str] = []
    used = 0
    for char in reversed(text):
        size = cell_len(char)
        if used + size > tail:
            break
        end.append(char)
        used += size
    return set_cell_size(text, width - 1 - used) + ELLIPSIS + "".join(reversed(end))


#: Which request count a narrow REQUESTS cell keeps first, by provider kind: the numbers the
#: gateway reports faithfully for it (``gateway.counts``). For openai, azure and bedrock only
#: ``errored`` is real on every route; anthropic and gemini report all five.
_ERRORED_FIRST = ("errored", "processing", "succeeded", "canceled", "expired")
_PROCESSING_FIRST = ("processing", "errored", "succeeded", "canceled", "expired")
_COUNT_WORDS = {
    "processing": "proc",
    "succeeded": "ok",
    "errored": "err",
    "canceled": "canc",
    "expired": "exp",
}


def counts_cell(counts: RequestCounts | None, provider_kind: str, width: int) -> str:
    """The REQUESTS cell in ``width`` cells: every count when they fit, else the real ones the
    provider's batches are best told by (``21 err`` for openai), never a cut-off number."""
    text = counts_text(counts, TABLE_COUNT_SEP)
    if counts is None or len(text) <= width:
        return text
    shown: dict[str, str] = {}
    for name in ("processing", "succeeded", "errored", "canceled", "expired"):
        value = getattr(counts, name)
        if value is not None and (value or name in ("processing", "succeeded", "errored")):
            shown[name] = f"{value} {_COUNT_WORDS[name]}"
    order = _PROCESSING_FIRST if provider_kind in ("anthropic", "gemini") else _ERRORED_FIRST
    keep: set[str] = set()
    for name in order:
        if name not in shown:
            continue
        trial = keep | {name}
        joined = TABLE_COUNT_SEP.join(v for k, v in shown.items() if k in trial)
        if keep and len(joined) > width:
            break  # the same counts on every row of a provider, not whichever fit
        keep = trial
    if not keep:
        return text  # nothing known: the ``?`` are the truth, cut at the edge
    return TABLE_COUNT_SEP.join(v for k, v in shown.items() if k in keep)
