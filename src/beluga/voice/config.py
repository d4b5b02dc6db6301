"""The ``voice:`` section of ``beluga.yaml``, and the one path from it to a live session.

::

    voice:
      stt: local                    # a registered name, "provider:model", or a mapping:
      tts:
        provider: elevenlabs
        model: eleven_flash_v2_5
        api_key: ${ELEVENLABS_API_KEY}   # any other key is the provider's keyword
      vad: {provider: silero, stop_secs: 0.2, confidence: 0.7}
      turn: silence                 # or smart_turn, or null (end of turn = VAD stop)
      noise: null                   # or rnnoise
      interruption:
        min_duration: 0.5           # seconds of speech before it interrupts
        min_words: 0                # or this many words (not backchannel) of transcript
        false_interruption_timeout: 1.0   # resume after a cough; null: never pause
        backchannel: [yeah, uh-huh, right]  # replaces the built-in list when given
      sample_rate: 16000
      frame_ms: 20
      realtime: true

With no section the offline stack is used (local Whisper, hibari or espeak-ng, Silero, silence
turns). Keys, URLs with passwords and header values are credentials: masked in every repr,
dump and error. Nothing heavy is imported until a session is built.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import (
    ConfigDict,
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveInt,
    model_validator,
)

from beluga.config import BelugaConfig, ConfigError, ConfigModel, Section
from beluga.core.errors import BelugaError, ErrorCode
from beluga.core.registry import Registry

if TYPE_CHECKING:
    from beluga.memory.base import Memory
    from beluga.voice.processors import InterruptionPolicy
    from beluga.voice.session import SessionHooks, VoiceSession

__all__ = [
    "EngineConfig",
    "InterruptionConfig",
    "VADConfig",
    "VoiceConfig",
    "build_session",
    "validate_voice",
]

_DOCS = "see docs/readme/voice.md"


class EngineConfig(ConfigModel):
    """One engine: its registered provider, model, and any other key as its own keyword."""

    model_config = ConfigDict(extra="allow", frozen=True)

    provider: str
    model: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_name(cls, data: Any) -> Any:
        if isinstance(data, str):  # "deepgram:nova-3" or "local"
            provider, _, model = data.partition(":")
            return {"provider": provider, "model": model or None}
        return data

    def options(self) -> dict[str, Any]:
        """The provider's keywords: ``model`` and every extra key, credentials unmasked."""
        options: dict[str, Any] = dict(self.__pydantic_extra__ or {})
        if self.model is not None:
            options["model"] = self.model
        return options


class VADConfig(EngineConfig):
    """The VAD engine and the analyzer's parameters (the same for every engine)."""

    provider: str = "silero"
    start_secs: NonNegativeFloat = 0.2
    stop_secs: NonNegativeFloat = 0.2
    confidence: float = Field(0.7, ge=0.0, le=1.0)
    min_volume: float = Field(-50.0, le=0.0)

    def options(self) -> dict[str, Any]:
        options = super().options()
        options.pop("model", None)
        return options


class InterruptionConfig(ConfigModel):
    """When user speech during a reply interrupts it (barge-in)."""

    enabled: bool = True
    min_duration: NonNegativeFloat = 0.5
    min_words: NonNegativeInt = 0
    false_interruption_timeout: NonNegativeFloat | None = 1.0
    backchannel: list[str] | None = None

    def policy(self) -> InterruptionPolicy:
        """The processors' policy object."""
        from beluga.voice.processors import BACKCHANNEL_WORDS, InterruptionPolicy

        words = (
            BACKCHANNEL_WORDS
            if self.backchannel is None
            else frozenset(w.lower() for w in self.backchannel)
        )
        return InterruptionPolicy(
            min_duration=self.min_duration,
            min_words=self.min_words,
            backchannel=words,
            false_interruption_timeout=self.false_interruption_timeout,
            enabled=self.enabled,
        )


class VoiceConfig(Section):
    """The voice pipeline every session of this configuration runs."""

    key: ClassVar[str] = "voice"

    stt: EngineConfig = EngineConfig(provider="local")
    tts: EngineConfig = EngineConfig(provider="local")
    vad: VADConfig = VADConfig()
    turn: EngineConfig | None = EngineConfig(provider="silence")
    noise: EngineConfig | None = None
    interruption: InterruptionConfig = InterruptionConfig()
    sample_rate: PositiveInt = 16000
    frame_ms: PositiveInt = 20
    realtime: bool = True


def _registries() -> dict[str, Registry[Any]]:
    from beluga.voice.noise.registry import registry as noise
    from beluga.voice.stt.registry import registry as stt
    from beluga.voice.tts.registry import registry as tts
    from beluga.voice.turn.registry import registry as turn
    from beluga.voice.vad.registry import registry as vad

    return {"stt": stt, "tts": tts, "vad": vad, "turn": turn, "noise": noise}


def _engines(section: VoiceConfig) -> dict[str, EngineConfig]:
    named = {
        "stt": section.stt,
        "tts": section.tts,
        "vad": section.vad,
        "turn": section.turn,
        "noise": section.noise,
    }
    return {k: v for k, v in named.items() if v is not None}


def validate_voice(config: BelugaConfig) -> str:
    """Check every engine name and option without creating any; a one-line summary."""
    section = VoiceConfig.of(config)
    registries = _registries()
    parts: list[str] = []
    for slot, entry in _engines(section).items():
        where = f"voice.{slot}"
        try:
            factory = _factory(registries[slot], entry.provider, where, config.source)
        except ConfigError:
            raise
        except BelugaError as exc:  # registered but its extra is not installed here
            parts.append(f"{slot} {entry.provider} (not usable here: {exc.message})")
            continue
        _check_options(factory, entry, where, config.source)
        parts.append(f"{slot} {entry.provider}")
    return ", ".join(parts)


def build_session(
    config: BelugaConfig,
    responder: Any,
    *,
    memory: Memory | None = None,
    session_id: str | None = None,
    hooks: SessionHooks | None = None,
    **overrides: Any,
) -> VoiceSession:
    """A :class:`VoiceSession` running the configured engines (``overrides``: any
    ``VoiceSession`` keyword, e.g. ``output=`` or ``realtime=False``)."""
    from beluga.voice.session import VoiceSession
    from beluga.voice.vad.base import VADParams

    section = VoiceConfig.of(config)
    registries = _registries()
    engines: dict[str, Any] = {}
    for slot, entry in _engines(section).items():
        if slot in overrides:
            continue
        where = f"voice.{slot}"
        factory = _factory(registries[slot], entry.provider, where, config.source)
        _check_options(factory, entry, where, config.source)
        keywords = entry.options()
        if slot == "noise":
            keywords.setdefault("sample_rate", section.sample_rate)
        engines[slot] = _call(functools.partial(factory, **keywords), where, config.source)
    vad = section.vad
    options: dict[str, Any] = {
        "vad_params": VADParams(
            start_secs=vad.start_secs,
            stop_secs=vad.stop_secs,
            confidence=vad.confidence,
            min_volume=vad.min_volume,
        ),
        "interruption": section.interruption.policy(),
        "sample_rate": section.sample_rate,
        "frame_ms": section.frame_ms,
        "realtime": section.realtime,
        "turn": None,
        "noise": None,
        **engines,
        **overrides,
    }
    session = VoiceSession(responder, memory=memory, session_id=session_id, hooks=hooks, **options)
    session._owned.extend(e for k in ("stt", "tts") if hasattr(e := engines.get(k), "aclose"))
    return session


def _factory(registry: Registry[Any], provider: str, key: str, source: str) -> Any:
    if provider not in registry:
        guess = registry.suggest(provider)
        hint = f"did you mean {guess!r}? " if guess else ""
        raise ConfigError(
            source,
            f"{key}.provider",
            f"unknown {registry.kind} {provider!r}",
            f"{hint}use one of {', '.join(registry.names())}, or install the plugin that "
            "provides it",
        )
    return registry.get(provider)


def _check_options(factory: Callable[..., Any], entry: EngineConfig, key: str, source: str) -> None:
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    for option in entry.options():
        if option not in params:
            allowed = sorted(n for n in params if not n.startswith("_") and n != "client")
            raise ConfigError(
                source,
                f"{key}.{option}",
                f"{entry.provider!r} has no option {option!r}",
                f"use one of {', '.join(allowed) or '(none)'}",
            )


def _call(make: Callable[[], Any], key: str, source: str) -> Any:
    try:
        return make()
    except ConfigError:
        raise
    except BelugaError as exc:
        if exc.code is not ErrorCode.INVALID_CONFIG:
            raise
        raise ConfigError(source, key, exc.message, _DOCS) from exc
