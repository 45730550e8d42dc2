"""Scrubbing known secret values, and any 8+ character piece of one a cut left, from any text."""

from __future__ import annotations

from collections.abc import Iterable

#: A prefix or suffix this long of a known secret is redacted wherever it appears in a text.
MIN_FRAGMENT = 8
#: Shorter secrets are too common a string to hunt for at all (they would blank ordinary words).
MIN_SECRET = 4
MASK = "***"


class Redactor:
    """``redactor(text)``: ``text`` with every known secret, and every piece of one, as ``***``.

    A full occurrence of a secret is replaced; so is any prefix or suffix of it of
    ``MIN_FRAGMENT`` characters or more, anywhere in the text, not only where a cut leaves one (a
    prefix at the end, a suffix at the start): text may have been cut by someone else before it
    arrives, or a gateway may echo a piece. A secret shorter than ``MIN_FRAGMENT`` is replaced
    only whole, and one shorter than ``MIN_SECRET`` not at all.

    How the pieces are found: for each secret, every occurrence of its first ``MIN_FRAGMENT``
    characters is extended forward while the text agrees with the secret (a prefix piece, or the
    whole secret), and every occurrence of its last ``MIN_FRAGMENT`` characters backward (a suffix
    piece). That is one ``str.find`` pass per anchor, linear in the text, whatever the secret's
    length. The spans of every secret are merged before replacing, so overlapping or adjacent
    secrets never leave a piece of one another behind.
    """

    __slots__ = ("_secrets",)

    def __init__(self, secrets: Iterable[str]) -> None:
        unique = {s for s in secrets if len(s) >= MIN_SECRET}
        self._secrets: tuple[str, ...] = tuple(sorted(unique, key=len, reverse=True))

    def __repr__(self) -> str:
        return f"Redactor(<{len(self._secrets)} secrets>)"

    def __bool__(self) -> bool:
        return bool(self._secrets)

    def __call__(self, text: str) -> str:
        if not self._secrets or not text:
            return text
        spans: list[tuple[int, int]] = []
        for secret in self._secrets:
            spans += _spans(text, secret)
        if not spans:
            return text
        spans.sort()
        out: list[str] = []
        position = 0
        start, end = spans[0]
        for next_start, next_end in spans[1:]:
            if next_start <= end:  # overlapping or touching: one mask
                end = max(end, next_end)
                continue
            out += [text[position:start], MASK]
            position = end
            start, end = next_start, next_end
        out += [text[position:start], MASK, text[end:]]
        return "".join(out)


def _find_all(text: str, needle: str) -> Iterable[int]:
    index = text.find(needle)
    while index >= 0:
        yield index
        index = text.find(needle, index + 1)


def _spans(text: str, secret: str) -> list[tuple[int, int]]:
    """Where ``secret``, or a prefix or suffix of it of ``MIN_FRAGMENT``+ characters, appears."""
    if len(secret) < MIN_FRAGMENT:
        return [(i, i + len(secret)) for i in _find_all(text, secret)]
    spans: list[tuple[int, int]] = []
    size = len(text)
    for start in _find_all(text, secret[:MIN_FRAGMENT]):
        length = MIN_FRAGMENT
        while length < len(secret) and start + length < size:
            if text[start + length] != secret[length]:
                break
            length += 1
        spans.append((start, start + length))
    for anchor in _find_all(text, secret[-MIN_FRAGMENT:]):
        end = anchor + MIN_FRAGMENT
        length = MIN_FRAGMENT
        while length < len(secret) and end - length > 0:
            if text[end - length - 1] != secret[-length - 1]:
                break
            length += 1
        spans.append((end - length, end))
    return spans
