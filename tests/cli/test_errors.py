"""Exit codes and the one-line errors of ``beluga``, for hostile and broken configuration."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from beluga.cli import app
from beluga.cli._errors import EXIT_CONFIG

runner = CliRunner()
KEY = "sk-test-PLANTED0123456789abcdef"


def _bomb(path: Path) -> Path:
    lines = ['    a: &a ["x","x","x","x","x","x","x","x","x","x"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"    {name}: &{name} [{', '.join([f'*{prev}'] * 10)}]")
    path.write_text("llm:\n  settings:\n" + "\n".join(lines) + "\n")
    return path


def _fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def _text(text: str) -> Callable[[Path], Path]:
    def make(path: Path) -> Path:
        path.write_text(text)
        return path

    return make


def _raw(data: bytes) -> Callable[[Path], Path]:
    def make(path: Path) -> Path:
        path.write_bytes(data)
        return path

    return make


HOSTILE: dict[str, Callable[[Path], Path]] = {
    "alias bomb": _bomb,
    "self alias": _text("llm: &a\n  settings: *a\n"),
    "non-utf8": _raw(b"llm:\n  default: \xff\n"),
    "huge": _raw(b"#" * ((1 << 20) + 1)),
    "fifo": _fifo,
    "directory": lambda path: path.parent,
    "dev zero": lambda path: Path("/dev/zero"),
    "syntax with a key": _text(f"llm:\n  providers:\n    p: {{api_key: {KEY}, x: a: b}}\n"),
    "missing secret variable": _text("llm:\n  providers:\n    p: {api_key: '${NOPE_KEY}'}\n"),
}


@pytest.mark.timeout(20)
@pytest.mark.parametrize("debug", ["", "1"], ids=["plain", "BELUGA_DEBUG"])
@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_config_is_one_line_and_exit_3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str, debug: str
) -> None:
    path = HOSTILE[case](tmp_path / "beluga.yaml")
    monkeypatch.setenv("BELUGA_DEBUG", debug)
    for args in (["config", "check", str(path)], ["chat", "hi", "--config", str(path)]):
        result = runner.invoke(app, args)
        assert result.exit_code == EXIT_CONFIG, (args, result.output, result.exception)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith("error: ") and str(path) in lines[0] and "Fix:" in lines[0]
        assert "Traceback" not in result.output
        assert "PLANTED" not in result.output
        assert "REDACTED" not in result.output
        assert ("(debug: op config.load" in lines[0]) is bool(debug)


def test_a_yaml_error_in_an_environment_override_is_exit_3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "beluga.yaml"
    path.write_text("llm: {default: test}\n")
    monkeypatch.setenv("BELUGA_LLM__SETTINGS", "{temperature: [1")
    monkeypatch.setenv("BELUGA_DEBUG", "1")
    result = runner.invoke(app, ["config", "check", str(path)])
    assert result.exit_code == EXIT_CONFIG
    assert len(result.stderr.strip().splitlines()) == 1
    assert "$BELUGA_LLM__SETTINGS" in result.stderr and "llm.settings" in result.stderr


def test_debug_still_raises_a_failed_operation_for_its_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from beluga.core.errors import BelugaError, ErrorCode

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    path = tmp_path / "beluga.yaml"
    path.write_text(
        "llm:\n  default: gpt\n  metrics: {enabled: false}\n  providers:\n"
        f"    gpt: {{type: openai, api_key: {KEY}, base_url: 'http://127.0.0.1:{port}/v1'}}\n"
    )
    monkeypatch.setenv("BELUGA_DEBUG", "1")
    result = runner.invoke(app, ["chat", "hi", "--config", str(path)])
    assert isinstance(result.exception, BelugaError)
    assert result.exception.code is not ErrorCode.INVALID_CONFIG


@pytest.mark.parametrize(
    ("option", "value", "named"),
    [("--temperature", "-5", "temperature"), ("--max-tokens", "0", "max_tokens")],
)
def test_a_bad_chat_option_is_one_line_and_exit_3(option: str, value: str, named: str) -> None:
    result = runner.invoke(app, ["chat", option, value, "hi"], env={"BELUGA_CONFIG": ""})
    assert result.exit_code == EXIT_CONFIG, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), result.output
    assert option in lines[0] and named in lines[0] and "Traceback" not in result.output
