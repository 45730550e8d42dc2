"""Everything that talks to the gateway. Never imports Textual, never prints."""
