"""The ``voice:`` section reaches the Google and Azure engines: their keywords are its keys."""

from __future__ import annotations

import pytest
import yaml

from beluga.config import BelugaConfig, ConfigError, parse_config
from beluga.voice import stt, tts
from beluga.voice.config import VoiceConfig, validate_voice
from beluga.voice.stt.providers.google import GoogleSTT
from beluga.voice.tts.providers.azure import AzureTTS

KEY = "azure-PLANTED-speech-0123456789abcdef"
YAML = f"""
voice:
  stt: {{provider: google, model: latest_short, language: en-GB, api_endpoint: "127.0.0.1:1",
         insecure: true, word_time_offsets: true}}
  tts: {{provider: azure, model: en-GB-SoniaNeural, api_key: {KEY}, region: westeurope,
         sample_rate: 16000, rate: "+5%"}}
"""


def cfg(text: str) -> BelugaConfig:
    return parse_config(yaml.safe_load(text), source="beluga.yaml")


def test_google_stt_and_azure_tts_from_the_section() -> None:
    config = cfg(YAML)
    assert validate_voice(config).startswith("stt google, tts azure")
    section = VoiceConfig.of(config)
    listener = stt.create(section.stt.provider, **section.stt.options())
    speaker = tts.create(section.tts.provider, **section.tts.options())
    assert isinstance(listener, GoogleSTT) and listener.model == "latest_short"
    assert isinstance(speaker, AzureTTS) and speaker.sample_rate == 16000
    assert speaker.model == "en-GB-SoniaNeural"
    for shown in (repr(config), section.model_dump_json(), repr(speaker)):
        assert KEY not in shown


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("voice: {stt: {provider: google, langauge: en-US}}", "voice.stt.langauge"),
        ("voice: {tts: {provider: azure, regoin: eastus}}", "voice.tts.regoin"),
    ],
)
def test_a_misspelt_key_is_named(text: str, key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        validate_voice(cfg(text))
    assert key in str(caught.value)
