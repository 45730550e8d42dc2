"""A batch's results, as the simulated providers hold them and as the gateway serves them.

Generated from the batch's counts (succeeded, errored, canceled, expired), seeded, item by item and
written in chunks as they are generated: a 100,000-item (~100 MB) body is never held whole.

- ``GET /anthropic/v1/messages/batches/{id}/results``: one JSON object ``{"batch_id", "results",
  "extra_fields"}`` (Bifrost v1.5.1, as recorded). Anthropic items keep a succeeded message; an
  errored item **loses its error** (``"error": {"code": "error"}``, no type, no message). OpenAI and
  Azure items come from the **output file only**. Not ended (Anthropic): the provider's 400; no
  output file (OpenAI): 500 "batch results not available: output_file_id is empty ...".
- ``GET /openai/v1/files/{file_id}/content?provider=P``: the provider's output or error file as it
  is (JSONL): the error file holds the failed requests, and the ones a cancel or an expiry left
  unrun.
- ``ResultsSpec`` (``SimWorld.set_results``) bends a batch's results for tests: the provider's raw
  JSONL with errors intact, gateway parse errors, items dropped, duplicated or without id, hostile
  ids and messages, ``has_more``, long messages (the benchmark's large body).
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bifrost_tui.sim.emit import GatewayFailure, extra_fields
from bifrost_tui.sim.exchange import JSON, Answer, BodyStream, RouteContext
from bifrost_tui.sim.ids import derived
from bifrost_tui.sim.model import Phase, SimBatch

if TYPE_CHECKING:
    from bifrost_tui.sim.world import SimWorld

#: Bytes gathered before a chunk is written.
CHUNK_BYTES = 64 * 1024
OCTETS = "application/octet-stream"

NOT_ENDED = "Batch is not yet ended."
NO_OUTPUT_FILE = "batch results not available: output_file_id is empty (batch may not be completed)"

#: Errors an Anthropic request can end with (type, message), drawn per errored request.
_ANTHROPIC_ERRORS = (
    ("invalid_request_error", "prompt is too long: {n} tokens > 200000 maximum"),
    ("invalid_request_error", "max_tokens: {n} > 64000, which is the maximum allowed"),
    ("overloaded_error", "Overloaded"),
    ("api_error", "Internal server error"),
)
#: Errors an OpenAI request can end with (status, type, message).
_OPENAI_ERRORS = (
    (400, "invalid_request_error", "Invalid model"),
    (400, "invalid_request_error", "This model's maximum context length is 128000 tokens ({n})"),
    (429, "rate_limit_error", "Rate limit reached for requests"),
    (500, "server_error", "The server had an error while processing your request."),
)
_UNRUN = {
    "canceled": (
        "batch_cancelled",
        "This request was not executed because the batch was cancelled.",
    ),
    "expired": (
        "batch_expired",
        "This request could not be executed before the completion window expired.",
    ),
}
#: Ids and messages a hostile upstream (or a hostile submitter) may send.
HOSTILE_IDS = (
    "\x1b[2J\x1b[31mreq-evil",
    "req\nforged: line",
    "\u202ereq-rtl",
    "[bold red]markup[/]",
    "req-" + "A" * 300,
)
HOSTILE_MESSAGES = (
    "Invalid key sk-ant-api03-" + "x" * 40 + " \x1b]8;;http://evil.example\x07click\x1b]8;;\x07",
    "Authorization: Bearer sk-proj-abcdefghijklmnopqrstuvwxyz012345",
    "\r\x1b[1A overwritten [red]markup[/red]",
    "long " + "B" * 500,
)


@dataclass(slots=True)
class ResultsSpec:
    """How a batch's results look (defaults: as recorded, generated from the batch's counts)."""

    #: The results route answers the provider's own JSONL (errored requests keep their error).
    raw_jsonl: bool = False
    #: Characters of each succeeded message's text (``None``: a short reply, as recorded).
    text_bytes: int | None = None
    #: Items the gateway could not parse: left out and listed in ``extra_fields.parse_errors``.
    parse_errors: int = 0
    #: Items left out (the results fall short of the batch's counts).
    drop: int = 0
    #: The first N items sent a second time at the end.
    duplicates: int = 0
    #: The first N items carry no ``custom_id``.
    missing_ids: int = 0
    #: The gateway's answer says ``has_more: true`` (with a ``next_cursor``).
    has_more: bool = False
    #: Every 7th item has a hostile ``custom_id`` and, where one is carried, a hostile message.
    hostile: bool = False
    #: Seed of the generation (``None``: the world's).
    seed: int | None = None


@dataclass(frozen=True, slots=True)
class _Item:
    index: int
    custom_id: str | None
    type: str  # succeeded | errored | canceled | expired
    err_type: str = ""
    message: str = ""
    status: int = 200


@dataclass(frozen=True, slots=True)
class _Snapshot:
    """What the generation needs, copied while the world is locked (the body is written later)."""

    provider: str
    kind: str
    batch_id: str
    model: str
    counts: tuple[tuple[str, int], ...]
    spec: ResultsSpec
    seed: str

    @property
    def total(self) -> int:
        return sum(n for _, n in self.counts)


def give_files(batch: SimBatch) -> None:
    """An ended OpenAI/Azure batch's output and error file ids, derived from its id as the
    progression derives them (an error file also when requests were left unrun)."""
    if batch.kind not in ("openai", "azure") or not batch.phase.terminal:
        return
    counts = batch.counts
    if counts.succeeded and batch.output_file_id is None:
        batch.output_file_id = "file-" + derived(f"{batch.id}:output", 22)
    if (counts.errored or counts.processing) and batch.error_file_id is None:
        batch.error_file_id = "file-" + derived(f"{batch.id}:errors", 22)


def shape_results(
    world: SimWorld, provider: str, batch_id: str | None, spec: ResultsSpec
) -> ResultsSpec:
    """``SimWorld.set_results``: keep ``spec`` for one batch (``batch_id=None``: every batch of
    ``provider``); an ended OpenAI/Azure batch gets its output and error file ids."""
    with world.lock:
        world.results_specs[(provider, batch_id)] = spec
        for batch in world.batches(provider):
            if batch_id is None or batch.id == batch_id:
                give_files(batch)
        return spec


def spec_for(world: SimWorld, batch: SimBatch) -> ResultsSpec:
    specs = world.results_specs
    return (
        specs.get((batch.provider, batch.id)) or specs.get((batch.provider, None)) or ResultsSpec()
    )


def _snapshot(world: SimWorld, batch: SimBatch) -> _Snapshot:
    spec = spec_for(world, batch)
    c = batch.counts_at(world.now())
    counts: tuple[tuple[str, int], ...]
    if batch.kind in ("openai", "azure"):
        unrun = "canceled" if batch.phase is Phase.CANCELLED else "expired"
        counts = (("succeeded", c.succeeded), ("errored", c.errored), (unrun, c.processing))
    else:
        counts = (
            ("succeeded", c.succeeded),
            ("errored", c.errored),
            ("canceled", c.canceled),
            ("expired", c.expired),
        )
    seed = spec.seed if spec.seed is not None else world.seed
    model = batch.model or ("claude-sonnet-4-5" if batch.kind == "anthropic" else "gpt-4o-mini")
    return _Snapshot(
        batch.provider, batch.kind, batch.id, model, counts, spec, f"{seed}:{batch.id}:results"
    )


# --------------------------------------------------------------------------- generation


def _items(snap: _Snapshot) -> Iterator[_Item]:
    """Every request of the batch in submission order, its outcome drawn without replacement so
    the counts come out exact (O(1) memory)."""
    rng = random.Random(snap.seed)
    names = [name for name, n in snap.counts if n > 0]
    left = [n for _, n in snap.counts if n > 0]
    total = snap.total
    width = max(5, len(str(max(0, total - 1))))
    spec = snap.spec
    for i in range(total):
        pick = rng.randrange(total - i)
        slot = 0
        while pick >= left[slot]:
            pick -= left[slot]
            slot += 1
        kind = names[slot]
        left[slot] -= 1
        hostile = spec.hostile and i % 7 == 3
        if i < spec.missing_ids:
            custom_id: str | None = None
        elif hostile:
            custom_id = f"{HOSTILE_IDS[(i // 7) % len(HOSTILE_IDS)]}-{i}"
        else:
            custom_id = f"req-{i:0{width}d}"
        if kind == "errored":
            n = 200_000 + rng.randrange(100_000)
            if snap.kind in ("openai", "azure"):
                status, err_type, message = rng.choice(_OPENAI_ERRORS)
            else:
                status = 400
                err_type, message = rng.choice(_ANTHROPIC_ERRORS)
            message = message.format(n=n)
            if hostile:
                message = HOSTILE_MESSAGES[(i // 7) % len(HOSTILE_MESSAGES)]
            yield _Item(i, custom_id, kind, err_type, message, status)
        else:
            yield _Item(i, custom_id, kind)


def _filler(snap: _Snapshot) -> str:
    size = snap.spec.text_bytes
    if size is None:
        return ""
    rng = random.Random(snap.seed + ":text")
    words = ("the", "batch", "request", "answered", "gateway", "token", "model", "result")
    text = " ".join(rng.choice(words) for _ in range(size // 3 + 80))
    return text


def _text(filler: str, snap: _Snapshot, i: int) -> str:
    size = snap.spec.text_bytes
    if size is None:
        return "ok"
    start = i % 64
    return filler[start : start + size]


def _cid(item: _Item) -> str:
    return "" if item.custom_id is None else f'"custom_id":{_q(item.custom_id)},'


def _q(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def _anthropic_message(snap: _Snapshot, item: _Item, text: str) -> str:
    return (
        '{"stop_reason":"end_turn","id":"msg_'
        + derived(f"{snap.seed}:{item.index}", 24)
        + f'","type":"message","role":"assistant","model":{_q(snap.model)},'
        + f'"content":[{{"type":"text","text":{_q(text)}}}]}}'
    )


def _anthropic_line(snap: _Snapshot, item: _Item, text: str, *, raw: bool) -> str:
    """One Anthropic item: the provider's own (``raw``) or as the gateway re-encodes it."""
    if item.type == "succeeded":
        message = _anthropic_message(snap, item, text)
        return f'{{{_cid(item)}"result":{{"type":"succeeded","message":{message}}}}}'
    if item.type == "errored":
        if not raw:
            return f'{{{_cid(item)}"result":{{"type":"errored"}},"error":{{"code":"error"}}}}'
        error = f'{{"type":{_q(item.err_type)},"message":{_q(item.message)}}}'
        envelope = f'{{"type":"error","error":{error},"request_id":"req_e{item.index}"}}'
        return f'{{{_cid(item)}"result":{{"type":"errored","error":{envelope}}}}}'
    return f'{{{_cid(item)}"result":{{"type":"{item.type}"}}}}'


def _openai_response(snap: _Snapshot, item: _Item, text: str) -> str:
    """The ``response`` of an OpenAI batch line (``null`` for a request that never ran)."""
    if item.type == "succeeded":
        body = f'{{"id":"chatcmpl-{item.index}","object":"chat.completion"'
        if snap.spec.text_bytes is not None:
            body += (
                ',"choices":[{"index":0,"message":{"role":"assistant","content":'
                + _q(text)
                + '},"finish_reason":"stop"}]'
            )
        body += "}"
        status = 200
    elif item.type == "errored":
        body = f'{{"error":{{"message":{_q(item.message)},"type":{_q(item.err_type)}}}}}'
        status = item.status
    else:
        return "null"
    return f'{{"status_code":{status},"request_id":"req_up{item.index}","body":{body}}}'


def _openai_file_line(snap: _Snapshot, item: _Item, text: str) -> str:
    response = _openai_response(snap, item, text)
    error = "null"
    if item.type in _UNRUN:
        code, message = _UNRUN[item.type]
        error = f'{{"code":"{code}","message":{_q(message)}}}'
    return f'{{"id":"batch_req_{item.index}",{_cid(item)}"response":{response},"error":{error}}}'


def _openai_gateway_item(snap: _Snapshot, item: _Item, text: str) -> str:
    return f'{{{_cid(item)}"response":{_openai_response(snap, item, text)}}}'


def _selected(snap: _Snapshot, keep: frozenset[str]) -> Iterator[_Item]:
    """The items of one file (or the results route) in order, ``drop`` left out, the first
    ``duplicates`` sent again at the end."""
    spec = snap.spec
    wanted = sum(n for name, n in snap.counts if name in keep)
    last = wanted - spec.drop
    again: list[_Item] = []
    seen = 0
    for item in _items(snap):
        if item.type not in keep:
            continue
        seen += 1
        if seen > last:
            continue
        if len(again) < spec.duplicates:
            again.append(item)
        yield item
    yield from again


def _count_selected(snap: _Snapshot, keep: frozenset[str]) -> int:
    wanted = sum(n for name, n in snap.counts if name in keep)
    kept = max(0, wanted - snap.spec.drop)
    return kept + min(snap.spec.duplicates, kept)


def _chunked(pieces: Iterator[str]) -> Iterator[bytes]:
    buffer: list[str] = []
    size = 0
    for piece in pieces:
        buffer.append(piece)
        size += len(piece)
        if size >= CHUNK_BYTES:
            yield "".join(buffer).encode()
            buffer, size = [], 0
    if buffer:
        yield "".join(buffer).encode()


_ALL = frozenset({"succeeded", "errored", "canceled", "expired"})
_OUTPUT = frozenset({"succeeded"})
_ERRORS = frozenset({"errored", "canceled", "expired"})


def _gateway_pieces(snap: _Snapshot, latency: int) -> Iterator[str]:
    """The results route's one JSON object, piece by piece."""
    spec = snap.spec
    openai = snap.kind in ("openai", "azure")
    keep = _OUTPUT if openai else _ALL
    count = _count_selected(snap, keep)
    skipped = min(spec.parse_errors, count)
    filler = _filler(snap)
    yield f'{{"batch_id":{_q(snap.batch_id)},"results":'
    if count - skipped <= 0:
        yield "null"
    else:
        first = True
        for n, item in enumerate(_selected(snap, keep)):
            if n >= count - skipped:
                break
            text = _text(filler, snap, item.index)
            if openai:
                line = _openai_gateway_item(snap, item, text)
            else:
                line = _anthropic_line(snap, item, text, raw=False)
            yield ("[" if first else ",") + line
            first = False
        yield "]"
    if spec.has_more:
        cursor = derived(f"{snap.seed}:cursor", 16)
        yield f',"has_more":true,"next_cursor":"{cursor}"'
    extra = extra_fields("batch_results", snap.provider, latency)
    if skipped:
        first_line = count - skipped + 1
        extra["parse_errors"] = [
            f"line {first_line + k}: invalid character 'x' looking for beginning of value"
            for k in range(skipped)
        ]
    yield f',"extra_fields":{json.dumps(extra, separators=(",", ":"), ensure_ascii=False)}}}'


def _raw_pieces(snap: _Snapshot) -> Iterator[str]:
    """The provider's own JSONL (what the gateway would pass through raw): errors intact."""
    openai = snap.kind in ("openai", "azure")
    filler = _filler(snap)
    for item in _selected(snap, _OUTPUT if openai else _ALL):
        text = _text(filler, snap, item.index)
        if openai:
            yield _openai_file_line(snap, item, text) + "\n"
        else:
            yield _anthropic_line(snap, item, text, raw=True) + "\n"


def _file_pieces(snap: _Snapshot, keep: frozenset[str]) -> Iterator[str]:
    filler = _filler(snap)
    for item in _selected(snap, keep):
        yield _openai_file_line(snap, item, _text(filler, snap, item.index)) + "\n"


# --------------------------------------------------------------------------- the routes


def refusal(batch: SimBatch) -> GatewayFailure | None:
    """Why the results route refuses this batch (``None``: it answers)."""
    if batch.kind == "anthropic":
        if not batch.phase.terminal:
            return GatewayFailure(NOT_ENDED, status=400, type="invalid_request_error")
        return None
    if batch.kind in ("openai", "azure"):
        return None if batch.output_file_id else GatewayFailure(NO_OUTPUT_FILE)
    return GatewayFailure(
        f"batch_results for {batch.kind} is not implemented by the bifrost-tui simulator",
        status=501,
    )


def results_answer(ctx: RouteContext, batch: SimBatch, latency: int) -> Answer:
    """The results route's answer for a batch it does not refuse: streamed."""
    snap = _snapshot(ctx.world, batch)
    if snap.spec.raw_jsonl:
        ctx.stream = BodyStream(lambda: _chunked(_raw_pieces(snap)))
        return 200, [("content-type", OCTETS)], b""
    ctx.stream = BodyStream(lambda: _chunked(_gateway_pieces(snap, latency)))
    return 200, [("content-type", JSON)], b""


def find_file(world: SimWorld, provider: str, file_id: str) -> tuple[SimBatch, str] | None:
    """The batch whose output (``"output"``) or error (``"error"``) file this is."""
    for batch in world.batches(provider):
        if batch.output_file_id == file_id:
            return batch, "output"
        if batch.error_file_id == file_id:
            return batch, "error"
    return None


def unknown_file(file_id: str) -> GatewayFailure:
    return GatewayFailure(
        f"No such File object: {file_id}", status=404, type="invalid_request_error"
    )


def file_answer(ctx: RouteContext, batch: SimBatch, which: str) -> Answer:
    """``GET /openai/v1/files/{id}/content``: the provider's file as it is (JSONL), streamed."""
    snap = _snapshot(ctx.world, batch)
    keep = _OUTPUT if which == "output" else _ERRORS
    ctx.stream = BodyStream(lambda: _chunked(_file_pieces(snap, keep)))
    return 200, [("content-type", OCTETS)], b""
