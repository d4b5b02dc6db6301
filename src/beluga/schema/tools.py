"""What a model is told about a tool, and how structured output is asked for."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from beluga.core.errors import BelugaError, ErrorCode

__all__ = ["OutputSchema", "ToolDefinition"]


@dataclass(slots=True, frozen=True)
class ToolDefinition:
    """A tool offered to a model: its name, what it is for, and a JSON schema of its arguments."""

    name: str
    description: str = ""
    parameters: dict[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})
    strict: bool | None = None

    def __post_init__(self) -> None:
        if not self.name or not self.name.replace("-", "_").isidentifier():
            raise BelugaError(
                "schema.tool",
                ErrorCode.INVALID_REQUEST,
                f"tool name {self.name!r} must be letters, digits, '_' or '-' (providers reject "
                "other characters)",
            )


@dataclass(slots=True, frozen=True)
class OutputSchema:
    """Ask the model for JSON matching ``schema`` (structured output)."""

    schema: dict[str, Any]
    name: str = "output"
    strict: bool = True

    @classmethod
    def of(
        cls, model: type[BaseModel] | dict[str, Any], *, name: str | None = None
    ) -> OutputSchema:
        """From a pydantic model class or a JSON schema dict."""
        if isinstance(model, dict):
            return cls(model, name or str(model.get("title", "output")))
        return cls(model.model_json_schema(), name or model.__name__)
