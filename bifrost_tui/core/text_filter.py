"""The ``/`` filter's text match, and the haystack the store keeps per batch to match it fast.

A batch matches when the text is a case-insensitive substring of its id, raw status, normalised
state or provider.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from bifrost_tui.gateway.models import Batch, State

#: Joins the fields the text filter searches; a filter text containing it takes the slow path.
SEP = "\x00"


def haystack(batch: Batch, state: State) -> str:
    """The fields ``text_matches`` searches, joined by ``SEP`` and lower-cased once."""
    # One lower() over the joined fields equals lowering each: the separator is neither cased nor
    # case-ignorable, so even a final sigma lowers the same.
    sep = SEP
    return (
        f"{batch.id}{sep}{batch.processing_status}{sep}{state.value}{sep}{batch.provider}".lower()
    )


def haystacks(
    batches: Mapping[tuple[str, str], Batch],
    keys: Iterable[tuple[str, str]],
    known: Mapping[tuple[str, str], str] | None = None,
) -> list[str]:
    """The haystack of each of ``keys`` (of ``batches``), taken from ``known`` where it has it."""
    if not known:
        return [haystack(b, b.state) for b in map(batches.__getitem__, keys)]
    return [
        h if (h := known.get(k)) is not None else haystack(batches[k], batches[k].state)
        for k in keys
    ]


def text_matches(batch: Batch, text: str) -> bool:
    """Case-insensitive substring over id, raw status, normalised state and provider."""
    if not text:
        return True
    needle = text.lower()
    return any(
        needle in hay.lower()
        for hay in (batch.id, batch.processing_status, batch.state.value, batch.provider)
    )
