"""How an agent's ``model`` argument becomes a :class:`ChatModel`.

A ChatModel is used as is. A string is resolved on the first run (so building an agent reads no
file and opens no client) through :func:`beluga.llms.from_config`, the one path from
configuration to a model: a role of ``llm.roles`` (answered by the router with its fallbacks),
a provider entry of ``llm.providers``, or a registry id such as ``"openai:gpt-4o-mini"``. The
configuration is the one given to the agent, else ``beluga.yaml`` as
:func:`beluga.config.load_config` finds it (the offline defaults without one).
"""

from __future__ import annotations

from beluga.config import BelugaConfig, load_config
from beluga.core.errors import BelugaError, ErrorCode
from beluga.llms import ChatModel, LLMConfig, from_config, registry

__all__ = ["resolve_model"]


def resolve_model(spec: str, config: BelugaConfig | None, agent: str) -> ChatModel:
    """The model ``spec`` names in ``config`` (default: the loaded ``beluga.yaml``)."""
    config = config if config is not None else load_config()
    llm = LLMConfig.of(config)
    known = spec in llm.roles or spec in llm.providers or spec.partition(":")[0] in registry
    if not known:
        roles = ", ".join(sorted(llm.roles)) or "(none configured)"
        providers = ", ".join(sorted(llm.providers)) or "(none configured)"
        raise BelugaError(
            "agents.model",
            ErrorCode.INVALID_CONFIG,
            f"agent {agent!r}: model {spec!r} is not a role, a provider entry or a registry id "
            f"in {config.source}; roles: {roles}; providers: {providers}; or pass "
            f"'provider:model' with provider one of {', '.join(registry.names())}",
        )
    return from_config(config, spec)
