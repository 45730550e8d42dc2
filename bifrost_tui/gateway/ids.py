"""Batch ids: normalising the forms the gateway emits and putting one safely into a URL path."""

from __future__ import annotations

import base64
import binascii
from urllib.parse import quote


def normalise_id(provider_kind: str, raw_id: str) -> str:
    """The one form of an id used for de-duplication and as the store key.

    - Bedrock: the OpenAI-format routes return the job ARN base64-encoded; the Anthropic route
      returns it plain. Both become the plain ARN.
    - Gemini: ``batches/x`` is rewritten ``batches-x`` by the gateway on every route; do the same.
    """
    if provider_kind == "bedrock" and not raw_id.startswith("arn:"):
        decoded = _b64_text(raw_id)
        if decoded is not None and decoded.startswith("arn:"):
            return decoded
    if provider_kind == "gemini" and raw_id.startswith("batches/"):
        return "batches-" + raw_id[len("batches/") :]
    return raw_id


#: What each id shape says about the provider kind that issued it (the first prefix that fits).
_SHAPES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("msgbatch_", ("anthropic",)),
    ("batch_", ("openai", "azure")),
    ("arn:aws:bedrock", ("bedrock",)),
    ("batches/", ("gemini",)),
    ("batches-", ("gemini",)),
)


def candidate_kinds(batch_id: str) -> tuple[str, ...] | None:
    """The provider kinds whose ids have ``batch_id``'s shape, or ``None`` when the shape is not
    known (then any batch provider may hold it).

    ``batch_`` is OpenAI's and Azure's, ``msgbatch_`` Anthropic's, ``arn:aws:bedrock`` a Bedrock job
    ARN (also base64-encoded, as the OpenAI-format routes return it), ``batches/`` or ``batches-``
    Gemini's.
    """
    for prefix, kinds in _SHAPES:
        if batch_id.startswith(prefix):
            return kinds
    decoded = _b64_text(batch_id) if batch_id else None
    if decoded is not None and decoded.startswith("arn:aws:bedrock"):
        return ("bedrock",)
    return None


def path_id(provider_kind: str, batch_id: str) -> str:
    """The form of an id to put in ``/anthropic/v1/messages/batches/{id}`` for retrieve and cancel.

    [verify] Bedrock ids are job ARNs with a ``/`` inside, which the gateway's router cannot take as
    one path segment; Bedrock's GetModelInvocationJob/StopModelInvocationJob accept the trailing job
    id, so that is what we send. This is the single place to change if the deployed gateway differs.
    """
    if provider_kind == "bedrock" and batch_id.startswith("arn:") and "/" in batch_id:
        return batch_id.rsplit("/", 1)[1]
    return batch_id


def encode_segment(value: str) -> str:
    """Percent-encode ``value`` as exactly one path segment.

    ``/``, ``?``, ``#``, ``%``, spaces and non-ASCII are encoded by ``quote(safe="")``. A segment
    made only of dots would still be read as ``.``/``..`` by a path normaliser, so its dots are
    encoded too.

    Raises ``ValueError`` saying what is wrong (for "the batch id ..."): empty, or not valid text
    (a lone surrogate, which JSON can carry but UTF-8 and so no URL can).
    """
    if value == "":
        raise ValueError("is empty")
    bad = unencodable(value)
    if bad is not None:
        raise ValueError(f"is not valid text ({bad})")
    segment = quote(value, safe="")
    if set(value) == {"."}:
        segment = value.replace(".", "%2E")
    return segment


def unencodable(value: str) -> str | None:
    """Why ``value`` cannot be encoded as UTF-8 (``lone surrogate U+D800 at position 9``), or
    ``None`` when it can."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"lone surrogate U+{ord(value[exc.start]):04X} at position {exc.start}"
    return None


def _b64_text(value: str) -> str | None:
    padded = value + "=" * (-len(value) % 4)
    for decode in (base64.urlsafe_b64decode, base64.b64decode):
        try:
            return decode(padded.encode("ascii")).decode("utf-8")
        except (binascii.Error, UnicodeError, ValueError):
            continue
    return None
