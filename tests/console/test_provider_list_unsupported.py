"""The provider list says ``unsupported`` when the gateway itself says a provider's batches
cannot be listed (never the "listing…" ellipsis of a first listing still running)."""

from __future__ import annotations

from bifrost_tui.core.store import BatchStore
from bifrost_tui.gateway.outcomes import ProviderListing
from bifrost_tui.ui.widgets.providers import provider_prompt
from tests.support.clocks import T0


def test_an_unsupported_listing_reads_unsupported() -> None:
    store = BatchStore()
    reason = "batch_list is not supported by groq provider"
    store.apply_listing(ProviderListing.unsupported("groq", reason), T0)
    text = provider_prompt(store.providers["groq"]).plain
    assert "unsupported" in text and "…" not in text
