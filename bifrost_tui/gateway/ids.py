"""Batch ids: normalising the forms the gateway emits and putting one safely into a URL path."""

from __future__ import annotations

import base64
import binascii
from urllib.parse import quote


def normalise_id(provider_kind: str, raw_id: str) -> str:
    """The one form of an id used for de-duplication and as the store key.

    - Bedrock: the OpenAI-format routes return the job ARN base64-encoded; the Anthropic route
      returns it plain. Both become the plain ARN.
    - Gemini: the lists return the bare id (``x``), retrieve returns ``batches-x`` and a cancel
      reply echoes whatever was sent (``batches/x`` for ``batches-x``): all three are one batch,
      kept as ``batches-x`` (the form retrieve returns and the gateway accepts on every route).
    """
    if provider_kind == "bedrock" and not raw_id.startswith("arn:"):
        decoded = _b64_text(raw_id)
        if decoded is not None and decoded.startswith("arn:"):
            return decoded
    if provider_kind == "gemini" and raw_id:
        if raw_id.startswith("batches/"):
            raw_id = raw_id[len("batches/") :]
        elif raw_id.startswith("batches-"):
            return raw_id
        return "batches-" + raw_id
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

    - Bedrock ids are job ARNs with a ``/`` inside: a raw ``/`` never reaches the provider and a
      percent-encoded ARN is encoded a second time by the gateway, so only the trailing job id
      works (``tests/gateway/test_recorded_ids.py`` checks this against a real gateway's answers).
    - Gemini: ``batches-x`` (a bare ``x`` works too); never ``batches/x``, which the gateway
      cannot take either raw or percent-encoded.
    """
    if provider_kind == "bedrock" and batch_id.startswith("arn:") and "/" in batch_id:
        return batch_id.rsplit("/", 1)[1]
    if provider_kind == "gemini":
        return normalise_id(provider_kind, batch_id)
    return batch_id


def openai_path_id(provider_kind: str, batch_id: str) -> str | None:
    """The form of an id for ``/openai/v1/batches/{id}``, or ``None`` when none can be sent.

    - Bedrock: the gateway base64-decodes it, so a bare job id becomes garbage there; send the
      base64 of the ARN (as the OpenAI-format list gives it), else of the trailing job id, and
      only one the gateway reads literally (no ``+``, ``/`` or ``=``, which would be encoded).
    - Gemini: ``batches-x``, as on the Anthropic-format routes.
    """
    if provider_kind == "gemini":
        return normalise_id(provider_kind, batch_id)
    if provider_kind != "bedrock":
        return batch_id
    for text in dict.fromkeys((batch_id, batch_id.rsplit("/", 1)[-1])):
        encoded = base64.b64encode(text.encode("utf-8", "surrogatepass")).decode("ascii")
        if not set(encoded) & set("+/="):
            return encoded
    return None


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
