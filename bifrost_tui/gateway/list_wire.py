"""A batch list page's envelope (``data``, ``has_more``, ``next_cursor``), read leniently."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator


class _Wire(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class ListPageWire(_Wire):
    """``{"data": [...], "has_more", "next_cursor"?}`` (also the OpenAI-format list)."""

    data: list[Any]
    has_more: bool = False
    next_cursor: str | None = None

    @field_validator("has_more", mode="before")
    @classmethod
    def _lenient_bool(cls, v: Any) -> bool:
        return bool(v) if isinstance(v, bool | int) else False

    @field_validator("next_cursor", mode="before")
    @classmethod
    def _lenient_str(cls, v: Any) -> str | None:
        return v if isinstance(v, str) and v else None


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    kinds: dict[type, str] = {str: "string", list: "array"}
    return kinds.get(type(value), "value")


def parse_list_page(data: Any) -> ListPageWire:
    """Validate a list page; raises ``ValueError`` (pydantic's ``ValidationError`` is one)."""
    if not isinstance(data, dict):
        raise ValueError(f"not a batch list page (a JSON {_json_kind(data)}, not an object)")
    if not isinstance(data.get("data"), list):
        raise ValueError("not a batch list page (no 'data' array)")
    try:
        return ListPageWire.model_validate(data)
    except ValidationError as exc:
        raise ValueError(f"not a batch list page: {exc.error_count()} problem(s)") from exc
