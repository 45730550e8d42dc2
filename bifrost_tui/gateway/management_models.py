"""The management API's answers (``/api/providers``, ``/api/providers/{p}/keys``) as read here."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class _Wire(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class ProviderWire(_Wire):
    """One entry of ``GET /api/providers``; only what the console reads."""

    name: str
    provider_status: str | None = None
    custom_provider_config: dict[str, Any] | None = None

    @property
    def base_kind(self) -> str:
        cfg = self.custom_provider_config or {}
        base = cfg.get("base_provider_type")
        return base if isinstance(base, str) and base else self.name

    def allows_batch(self) -> bool:
        cfg = self.custom_provider_config or {}
        allowed = cfg.get("allowed_requests")
        if not isinstance(allowed, dict):
            return True
        return all(
            allowed.get(op) is True for op in ("batch_list", "batch_retrieve", "batch_cancel")
        )


class KeyWire(_Wire):
    """One entry of ``GET /api/providers/{p}/keys``; ``use_for_batch_api`` missing means false."""

    id: str | None = None
    name: str | None = None
    enabled: bool | None = None
    use_for_batch_api: bool | None = None

    @property
    def usable_for_batch(self) -> bool:
        return self.use_for_batch_api is True and self.enabled is not False
