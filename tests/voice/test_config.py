"""The ``voice:`` section: shorthand and mappings, validation errors, masking, build_session."""

from __future__ import annotations

import importlib.util

import pytest
import yaml

from beluga.config import BelugaConfig, ConfigError, parse_config
from beluga.llms.testing import TestModel
from beluga.voice.config import VoiceConfig, build_session, validate_voice
from beluga.voice.processors import UserTurnProcessor
from beluga.voice.speech import STTProcessor, TTSProcessor
from beluga.voice.testing import FakeSTT, FakeTTS, FakeVAD
from beluga.voice.turn import TurnProcessor
from beluga.voice.vad import VADProcessor

SECRET = "dg-PLANTED-voice-0123456789abcdef"
YAML = f"""
voice:
  stt: {{provider: deepgram, model: nova-3, api_key: {SECRET}, language: fr}}
  tts: espeak:en-gb
  vad: {{provider: energy, stop_secs: 0.3, confidence: 0.6}}
  turn: null
  interruption: {{min_duration: 0.3, backchannel: [Yeah, ok], false_interruption_timeout: null}}
  realtime: false
"""


def cfg(text: str) -> BelugaConfig:
    return parse_config(yaml.safe_load(text), source="beluga.yaml")


def test_defaults_are_the_offline_stack() -> None:
    section = VoiceConfig.of(BelugaConfig())
    assert (section.stt.provider, section.tts.provider, section.vad.provider) == (
        "local",
        "local",
        "silero",
    )
    assert section.turn is not None and section.turn.provider == "silence"
    assert section.noise is None and section.realtime


def test_names_mappings_and_secrets() -> None:
    config = cfg(YAML)
    section = VoiceConfig.of(config)
    assert (section.tts.provider, section.tts.model) == ("espeak", "en-gb")
    assert section.stt.options() == {"model": "nova-3", "api_key": SECRET, "language": "fr"}
    for shown in (repr(config), str(section.model_dump()), section.model_dump_json()):
        assert SECRET not in shown
    assert validate_voice(config) == "stt deepgram, tts espeak, vad energy"


@pytest.mark.parametrize(
    ("text", "key", "fix"),
    [
        ("voice: {stt: deepgrm}", "voice.stt.provider", "did you mean 'deepgram'"),
        ("voice: {tts: {provider: espeak, volume: 3}}", "voice.tts.volume", "use one of"),
        ("voice: {vad: {confidence: 2}}", "voice.vad.confidence", ""),
        ("voice: {interruption: {min_duration: -1}}", "voice.interruption.min_duration", ""),
        ("voice: {sampel_rate: 8000}", "voice.sampel_rate", ""),
    ],
)
def test_bad_sections_name_the_key_and_the_fix(text: str, key: str, fix: str) -> None:
    with pytest.raises(ConfigError) as caught:
        validate_voice(cfg(text))
    assert key in str(caught.value) and fix in str(caught.value)


def test_build_session_runs_the_configured_engines() -> None:
    session = build_session(cfg(YAML), TestModel(text="hi"), session_id="call-1")
    kinds = {type(p) for p in session.pipeline.processors}
    assert {VADProcessor, STTProcessor, TTSProcessor, UserTurnProcessor} <= kinds
    assert TurnProcessor not in kinds  # turn: null
    stt = next(p for p in session.pipeline.processors if isinstance(p, STTProcessor)).stt
    assert (stt.provider, stt.model) == ("deepgram", "nova-3")
    assert SECRET not in repr(stt)
    turn = next(p for p in session.pipeline.processors if isinstance(p, UserTurnProcessor))
    assert turn.policy.min_duration == 0.3 and turn.policy.backchannel == {"yeah", "ok"}
    assert turn.policy.false_interruption_timeout is None
    assert session.session_id == "call-1" and not session.output.realtime


def test_build_session_takes_overrides() -> None:
    session = build_session(
        BelugaConfig(), TestModel(), vad=FakeVAD(), stt=FakeSTT([]), tts=FakeTTS(), turn=None
    )
    names = [p.name for p in session.pipeline.processors]
    assert names[:3] == ["fake-vad", "fake-stt", "user-turn"]


@pytest.mark.skipif(
    importlib.util.find_spec("pyrnnoise") is None or importlib.util.find_spec("pipecat") is None,
    reason="needs pyrnnoise and the smart-turn model (make models)",
)
def test_build_session_with_noise_and_smart_turn() -> None:
    config = cfg("voice: {noise: rnnoise, turn: smart_turn, stt: local, tts: espeak}")
    session = build_session(config, TestModel())
    assert [p.order for p in session.pipeline.processors][:4] == [100, 200, 300, 400]
    assert type(session.pipeline.processors[0]).__name__ == "NoiseProcessor"
