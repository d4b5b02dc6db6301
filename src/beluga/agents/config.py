"""The ``agents:`` section of ``beluga.yaml``: agents declared by name, built by name.

Each entry names its model (a provider entry, a role, or an id such as ``openai:gpt-4o-mini``;
default ``llm.default``), instructions, tools, memory, output type, limits and settings::

    agents:
      assistant:
        model: local
        instructions: You answer in one sentence.
        tools:
          - calculator                        # a built-in by name
          - {builtin: http_fetch, allowed_hosts: [docs.python.org]}
          - myapp.tools:lookup                # a function, Tool or Toolset by import path
          - mcp: {command: python, args: [server.py]}
        memory: true                          # the memory: section's store and strategy
        output_type: myapp.models:Answer      # a pydantic model, dataclass or TypedDict
        limits: {max_steps: 8}
        handoffs: [billing]                   # other agents of this section

Everything is checked when the file is read except what needs imports or connections (tools by
import path, MCP servers, memory stores): :func:`validate_agents` builds each agent without
running it, which is what ``beluga config check`` calls.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import Field, NonNegativeInt, ValidationError, model_validator

from beluga.agents.agent import Agent
from beluga.agents.limits import UsageLimits
from beluga.config import BelugaConfig, ConfigError, ConfigModel, Section
from beluga.config.errors import from_validation
from beluga.core.errors import BelugaError
from beluga.llms.config import LLMConfig
from beluga.llms.registry import settings_from

__all__ = ["AgentConfig", "AgentsConfig", "build_agent", "validate_agents"]


class AgentConfig(ConfigModel):
    """One agent of ``beluga.yaml`` (see the module docstring for each key)."""

    model: str | None = None
    instructions: str | None = None
    description: str | None = None
    tools: list[str | dict[str, Any]] = Field(default_factory=list)
    memory: bool | dict[str, Any] = False
    output_type: str | None = None
    output_retries: NonNegativeInt = 2
    limits: dict[str, Any] = Field(default_factory=dict)
    settings: dict[str, Any] = Field(default_factory=dict)
    handoffs: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check_limits(self) -> AgentConfig:
        known = set(UsageLimits.__dataclass_fields__)
        unknown = sorted(set(self.limits) - known)
        if unknown:
            raise ValueError(f"unknown limit {unknown[0]!r}; limits are {', '.join(sorted(known))}")
        return self


class AgentsConfig(Section):
    """Agents by name."""

    key: ClassVar[str] = "agents"
    by_name: ClassVar[str | None] = "agents"

    agents: dict[str, AgentConfig] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _by_name(cls, data: Any) -> Any:
        """The YAML maps names to agents directly (``agents: {assistant: {...}}``)."""
        if isinstance(data, Mapping):
            return {"agents": dict(data)}
        return data


def build_agent(config: BelugaConfig, name: str) -> Agent[Any, Any]:
    """The agent ``name`` of ``config``'s ``agents:`` section, with its tools, memory and
    handoffs built (its model is resolved on the first run)."""
    return _Builder(config).agent(name, ())


def validate_agents(config: BelugaConfig) -> list[str]:
    """Build every declared agent (importing its tools and output type, without connecting
    to anything); the names of those built. A problem raises its ConfigError."""
    builder = _Builder(config)
    names = sorted(AgentsConfig.of(config).agents)
    for name in names:
        builder.agent(name, ())
    return names


class _Builder:
    """Builds agents of one configuration; handoffs refer to agents by name (no cycles)."""

    def __init__(self, config: BelugaConfig) -> None:
        self.config = config
        self.agents = AgentsConfig.of(config).agents

    def agent(self, name: str, chain: tuple[str, ...]) -> Agent[Any, Any]:
        entry = self._entry(name, chain)
        key = f"agents.{name}"
        handoffs = [self.agent(other, (*chain, name)) for other in entry.handoffs]
        try:
            return Agent(
                entry.model or LLMConfig.of(self.config).default,
                tools=[self._tool(spec, f"{key}.tools[{i}]") for i, spec in enumerate(entry.tools)],
                instructions=entry.instructions,
                output_type=self._import(entry.output_type, f"{key}.output_type"),
                memory=self._memory(entry.memory, f"{key}.memory"),
                name=name,
                description=entry.description,
                settings=settings_from(
                    entry.settings, where=f"{key}.settings", source=self.config.source
                ),
                limits=UsageLimits(**entry.limits),
                handoffs=handoffs,
                output_retries=entry.output_retries,
                config=self.config,
            )
        except ConfigError:
            raise
        except BelugaError as exc:
            raise self._error(key, exc.message, "fix the agent's entry") from exc

    def _entry(self, name: str, chain: tuple[str, ...]) -> AgentConfig:
        if name in chain:
            raise self._error(
                f"agents.{chain[-1]}.handoffs",
                f"handoffs loop back to {name!r} ({' -> '.join((*chain, name))})",
                "an agent can hand off only to agents that do not hand back",
            )
        if name not in self.agents:
            where = f"agents.{chain[-1]}.handoffs" if chain else "agents"
            known = ", ".join(sorted(self.agents)) or "none are declared"
            raise self._error(where, f"there is no agent {name!r}", f"use one of: {known}")
        return self.agents[name]

    def _tool(self, spec: str | dict[str, Any], key: str) -> Any:
        from beluga.tools.mcp import MCPServerConfig
        from beluga.tools.registry import load_tool

        try:
            if isinstance(spec, str):
                return load_tool(spec)
            if set(spec) == {"mcp"}:
                from beluga.tools.mcp import MCPServer

                return MCPServer.from_config(MCPServerConfig.model_validate(spec["mcp"]))
            options = dict(spec)
            builtin = options.pop("builtin", None)
            if not isinstance(builtin, str):
                raise self._error(
                    key,
                    "a tool entry is a name or import path, {builtin: NAME, ...options} or "
                    "{mcp: {...}}",
                    "write e.g. 'calculator' or {builtin: http_fetch, allowed_hosts: [...]}",
                )
            return load_tool(builtin, **options)
        except BelugaError as exc:
            if isinstance(exc, ConfigError):
                raise
            raise self._error(key, exc.message, "fix the tool entry") from exc
        except ValidationError as exc:  # the MCP entry's own validation
            raise from_validation(exc, self.config.source, MCPServerConfig, (key, "mcp")) from exc

    def _import(self, path: str | None, key: str) -> Any:
        if path is None:
            return None
        from beluga.core.registry import import_path

        if ":" not in path:
            raise self._error(key, f"{path!r} is not an import path", "give 'package.module:Name'")
        try:
            return import_path(path)
        except BelugaError as exc:
            raise self._error(key, exc.message, "give 'package.module:Name'") from exc

    def _memory(self, value: bool | dict[str, Any], key: str) -> Any:
        if value is False:
            return None
        from beluga.memory.config import MemoryConfig, build_memory

        section = MemoryConfig.of(self.config)
        try:
            chosen = section if value is True else section.model_validate(value)
            return build_memory(chosen, root=self.config, where="memory" if value is True else key)
        except ConfigError:
            raise
        except BelugaError as exc:
            raise self._error(key, exc.message, "fix the memory entry") from exc
        except ValidationError as exc:
            raise from_validation(exc, self.config.source, MemoryConfig, key.split(".")) from exc
        except ValueError as exc:
            raise self._error(key, str(exc).splitlines()[0], "fix the memory entry") from exc

    def _error(self, key: str, problem: str, fix: str) -> ConfigError:
        return ConfigError(self.config.source, key, problem, fix)
