"""Settling what the Anthropic-format retrieve leaves open: whether a Bedrock or Gemini batch that
says ``ended`` completed or was canceled (only the OpenAI-format routes tell)."""

from __future__ import annotations

from dataclasses import replace

from bifrost_tui.gateway.credentials import Route
from bifrost_tui.gateway.errors import GatewayError
from bifrost_tui.gateway.http import HttpCore
from bifrost_tui.gateway.ids import encode_segment, openai_path_id
from bifrost_tui.gateway.listing import OPENAI_BATCHES
from bifrost_tui.gateway.models import Batch, State
from bifrost_tui.gateway.reply import decode_json


async def settle_batch(core: HttpCore, provider: str, kind: str, batch: Batch) -> Batch:
    """``batch`` (an Anthropic-format retrieve) with the outcome the OpenAI-format retrieve
    (``completed``/``cancelled``) tells when its own ``ended`` does not; one request, only for a
    batch in ``State.ENDED_UNSURE``. Never raises: on any failure ``batch`` comes back as it was."""
    segment = openai_path_id(kind, batch.id)
    if batch.state is not State.ENDED_UNSURE or segment is None:
        return batch
    try:
        reply = await core.call(
            "GET",
            f"{OPENAI_BATCHES}/{encode_segment(segment)}",
            route=Route.INFERENCE,
            params={"provider": provider},
            provider=provider,
        )
        other = Batch.from_openai(decode_json(reply), provider=provider, provider_kind=kind)
    except (GatewayError, ValueError):
        return batch
    if other.id != batch.id or not other.state.terminal:
        return batch
    return replace(batch, native_status=other.native_status)
