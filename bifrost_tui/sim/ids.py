"""Ids and file names in each provider's own format, drawn from a seed or derived from a hash.

A derived one depends only on something stable (the batch's id), never on the order events happen
in.
"""

from __future__ import annotations

import hashlib
import random
import uuid

from bifrost_tui.sim.model import BEDROCK_ARN_PREFIX

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_LOWER = "abcdefghijklmnopqrstuvwxyz0123456789"
_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def new_batch_id(kind: str, rng: random.Random) -> str:
    """A fresh id in the provider's own format."""
    if kind == "openai":
        return f"batch_{rng.getrandbits(128):032x}"
    if kind == "azure":
        return "batch_" + str(uuid.UUID(int=rng.getrandbits(128), version=4))
    if kind == "anthropic":
        return "msgbatch_01" + _pick(rng, _B58, 22)
    if kind == "gemini":
        return "batches/" + _pick(rng, _LOWER, 22)
    if kind == "bedrock":
        return BEDROCK_ARN_PREFIX + _pick(rng, _LOWER, 12)
    return "batch_" + _pick(rng, _LOWER, 16)


_TABLES: dict[str, bytes] = {}


def _spell(raw: bytes, alphabet: str) -> str:
    """Bytes -> characters of ``alphabet`` (one byte each; a translate table keeps it fast)."""
    table = _TABLES.get(alphabet)
    if table is None:
        table = _TABLES[alphabet] = bytes(ord(alphabet[i % len(alphabet)]) for i in range(256))
    return raw.translate(table).decode("ascii")


def _pick(rng: random.Random, alphabet: str, n: int) -> str:
    return _spell(rng.getrandbits(8 * n).to_bytes(n, "big"), alphabet)


def derived(seed: str, n: int, alphabet: str = _ALNUM) -> str:
    """``n`` (<= 64) characters that depend only on ``seed``: a hash, not a seeded generator."""
    return _spell(hashlib.blake2b(seed.encode(), digest_size=64).digest()[:n], alphabet)


def new_input_file(kind: str, batch_id: str) -> str | None:
    """The input file a batch of this provider kind names, derived from its id."""
    seed = f"{batch_id}:input"
    if kind == "openai":
        return "file-" + derived(seed, 22)
    if kind == "azure":
        return "file-" + derived(seed, 32, "0123456789abcdef")
    if kind == "bedrock":
        return f"s3://bifrost-batch-input/jobs/{derived(seed, 10, _LOWER)}.jsonl"
    if kind == "gemini":
        return "files/" + derived(seed, 12, _LOWER)
    return None
