"""Chains: the linear case (prompt -> model -> parser) without a graph.

``Chain(template, model, Answer)`` runs its steps in order, each on the previous one's output:

- a :class:`~beluga.prompts.PromptTemplate` or :class:`~beluga.prompts.ChatTemplate` renders
  with a mapping of values (the chain's input) into text or messages;
- a :class:`~beluga.llms.ChatModel` answers a prompt (text, a message or messages) and passes
  on its text (or its structured output, when the chain's settings ask for one);
- a pydantic model or dataclass type parses JSON text into itself;
- any other callable (sync or async) is called with the value.

A chain is itself an async callable of one value, so it can be a step of another chain or the
body of a graph node. Each run is one ``chain {name}`` span.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from beluga.core.errors import BelugaError, ErrorCode
from beluga.core.sync import run_sync
from beluga.observability.genai import start_operation

__all__ = ["Chain"]

_OP = "graphs.chain"


class Chain:
    """Steps run one after the other (see the module docstring)."""

    def __init__(self, *steps: Any, name: str = "chain") -> None:
        if not steps:
            raise BelugaError(_OP, ErrorCode.INVALID_CONFIG, "a chain needs at least one step")
        self.name = name
        self.steps = tuple(_step(s, i) for i, s in enumerate(steps))

    def __or__(self, other: Any) -> Chain:
        return Chain(*self.steps, other, name=self.name)

    async def run(self, value: Any) -> Any:
        with start_operation(
            "chain", self.name, attributes={"beluga.chain.steps": len(self.steps)}
        ):
            for step in self.steps:
                value = step(value)
                if inspect.isawaitable(value):
                    value = await value
            return value

    async def __call__(self, value: Any) -> Any:
        return await self.run(value)

    def run_sync(self, value: Any) -> Any:
        return run_sync(self.run(value))

    def __repr__(self) -> str:
        return f"Chain({self.name!r}, steps={len(self.steps)})"


def _step(step: Any, index: int) -> Any:
    from beluga.llms import ChatModel
    from beluga.prompts import ChatTemplate, PromptTemplate

    if isinstance(step, Chain):
        return step.run
    if isinstance(step, PromptTemplate | ChatTemplate):
        return _template(step)
    if isinstance(step, ChatModel):
        return _model(step)
    if isinstance(step, type) and (issubclass(step, BaseModel) or dataclasses.is_dataclass(step)):
        return _parser(step)
    if callable(step):
        return step
    raise BelugaError(
        _OP,
        ErrorCode.INVALID_CONFIG,
        f"chain step {index} is a {type(step).__name__}: steps are templates, chat models, "
        "pydantic models or dataclasses (parsers) and callables",
    )


def _template(template: Any) -> Any:
    def render(values: Any) -> Any:
        if not isinstance(values, Mapping):
            raise BelugaError(
                _OP,
                ErrorCode.INVALID_REQUEST,
                f"a template step renders a mapping of its variables, got {type(values).__name__}",
            )
        return template.render(**values)

    return render


def _model(model: Any) -> Any:
    async def answer(prompt: Any) -> Any:
        response = await model.generate(prompt)
        if response.output_schema is not None:
            return response.output
        return response.message.text

    return answer


def _parser(kind: type[Any]) -> Any:
    adapter: TypeAdapter[Any] = TypeAdapter(kind)

    def parse(value: Any) -> Any:
        try:
            if isinstance(value, str | bytes):
                return adapter.validate_json(value)
            return adapter.validate_python(value)
        except ValidationError as exc:
            raise BelugaError(
                _OP,
                ErrorCode.INVALID_REQUEST,
                f"the chain's output does not parse as {kind.__name__}: {exc}",
                cause=exc,
            ) from exc

    return parse
