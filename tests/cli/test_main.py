from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from beluga import __version__
from beluga.cli import app
from beluga.cli._errors import EXIT_CONFIG, EXIT_FAILED

runner = CliRunner()
KEY = "sk-test-PLANTED0123456789abcdef"


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"beluga {__version__}"


def test_chat_streams_the_answer_of_the_chosen_model() -> None:
    result = runner.invoke(app, ["chat", "hello", "--model", "test"])
    assert result.exit_code == 0, result.output
    assert result.stdout == "success (no tool calls)\n"


def test_providers_list_json_and_table() -> None:
    result = runner.invoke(app, ["providers", "list", "--json"])
    assert result.exit_code == 0
    rows = {r["name"]: r for r in json.loads(result.stdout)}
    assert {"local", "openai", "test"} <= set(rows)
    assert rows["openai"]["extra"] == "openai"
    table = runner.invoke(app, ["providers", "list"])
    assert "beluga-ai[openai]" in table.stdout


def test_config_check_ok(tmp_path: Path) -> None:
    path = tmp_path / "beluga.yaml"
    path.write_text("llm:\n  default: t\n  providers:\n    t: {type: test, text: hi}\n")
    result = runner.invoke(app, ["config", "check", str(path)])
    assert result.exit_code == 0, result.output
    assert "OK" in result.stdout and "'t'" in result.stdout


@pytest.mark.parametrize(
    ("yaml_text", "expected"),
    [
        ("llm:\n  defualt: x\n", "llm.defualt"),
        ("llm:\n  providers:\n    p: {type: nope}\n", "llm.providers.p.type"),
        ("llm:\n  providers:\n    p: {type: test, colour: red}\n", "llm.providers.p.colour"),
        ("llm:\n  providers:\n    p: {type: test, settings: {temprature: 1}}\n", "temprature"),
        ("llm:\n  default: nope\n", "llm.default"),
    ],
)
def test_config_check_errors_are_one_line_with_path_and_fix(
    tmp_path: Path, yaml_text: str, expected: str
) -> None:
    path = tmp_path / "beluga.yaml"
    path.write_text(yaml_text)
    result = runner.invoke(app, ["config", "check", str(path)])
    assert result.exit_code == EXIT_CONFIG
    message = result.stderr.strip()
    assert message.startswith("error:")
    assert str(path) in message.replace("\n", "")
    assert expected in message
    assert "Fix:" in message
    assert "Traceback" not in result.output


def test_unreachable_provider_fails_with_exit_1_and_no_key(tmp_path: Path) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    path = tmp_path / "beluga.yaml"
    path.write_text(
        "llm:\n  default: gpt\n  providers:\n    gpt:\n      type: openai\n"
        f"      api_key: {KEY}\n      base_url: http://127.0.0.1:{port}/v1\n"
    )
    result = runner.invoke(app, ["chat", "hi", "--config", str(path)])
    assert result.exit_code == EXIT_FAILED, result.output
    assert result.stderr.startswith("error:")
    assert KEY not in result.output
    assert "Traceback" not in result.output


def test_help_is_fast_and_lazy() -> None:
    code = (
        "import sys; from beluga.cli.main import app;"
        "print(','.join(m for m in ('openai','llama_cpp','pydantic') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_providers_check_reports_each_provider(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio
    import threading

    from tests.llms._servers import completion
    from tests.support.replay_server import ReplayServer

    monkeypatch.delenv("GROQ_API_KEY", raising=False)
    loop = asyncio.new_event_loop()  # the server runs beside the CLI's own event loop
    server = ReplayServer()
    loop.run_until_complete(server.start())
    server.enqueue(completion("pong"))
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        path = tmp_path / "beluga.yaml"
        path.write_text(
            "llm:\n  default: good\n  routing: {check_timeout: 2}\n  providers:\n"
            f"    good: {{type: openai, base_url: '{server.url}/v1', api_key: {KEY}}}\n"
            "    nokey: {type: groq}\n"
        )
        result = runner.invoke(app, ["providers", "check", "--config", str(path), "--json"])
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.run_until_complete(server.aclose())
        loop.close()
    rows = {r["name"]: r for r in json.loads(result.stdout)}
    assert result.exit_code == EXIT_FAILED
    assert rows["good"]["ok"] is True
    assert rows["nokey"]["ok"] is False
    assert "GROQ_API_KEY" in rows["nokey"]["error"]
    assert KEY not in result.output


@pytest.mark.parametrize(
    ("roles", "key"),
    [
        ("    a: {provider: b}\n    b: {provider: a}\n", "llm.roles.b.provider"),
        ("    a: {provider: t, fallbacks: [ghost]}\n", "llm.roles.a.fallbacks.0"),
    ],
)
def test_config_check_catches_role_cycles_and_dangling_names(
    tmp_path: Path, roles: str, key: str
) -> None:
    path = tmp_path / "beluga.yaml"
    path.write_text(f"llm:\n  default: t\n  providers:\n    t: {{type: test}}\n  roles:\n{roles}")
    result = runner.invoke(app, ["config", "check", str(path)])
    assert result.exit_code == EXIT_CONFIG
    assert key in result.stderr


def test_config_check_prints_each_role_chain(tmp_path: Path) -> None:
    path = tmp_path / "beluga.yaml"
    path.write_text(
        "llm:\n  default: t\n  providers:\n    t: {type: test}\n    u: {type: test}\n"
        "  roles:\n    planner: {provider: u, fallbacks: [t]}\n    clarifier: {provider: planner}\n"
    )
    result = runner.invoke(app, ["config", "check", str(path)])
    assert result.exit_code == 0, result.output
    assert "role planner: u -> t" in result.stdout
    assert "role clarifier: u -> t" in result.stdout


def test_the_example_config_in_the_repository_is_valid() -> None:
    example = Path(__file__).resolve().parents[2] / "beluga.yaml"
    result = runner.invoke(app, ["config", "check", str(example)])
    assert result.exit_code == 0, result.output
    assert "role clarifier: local" in result.stdout


def test_config_check_accepts_a_role_as_default(tmp_path: Path) -> None:
    path = tmp_path / "beluga.yaml"
    path.write_text(
        "llm:\n  default: helper\n  providers:\n    t: {type: test}\n"
        "  roles:\n    helper: {provider: t}\n"
    )
    result = runner.invoke(app, ["config", "check", str(path)])
    assert result.exit_code == 0, result.output
    assert "role helper: t" in result.stdout


@pytest.mark.parametrize(
    ("settings", "key"),
    [
        ("{tempreature: 0.5}", "llm.settings.tempreature"),
        ("{temperature: hot}", "llm.settings.temperature"),
        ("{stop: 5}", "llm.settings.stop"),
        ("{output: 5}", "llm.settings.output"),
        ("{max_tokens: many}", "llm.settings.max_tokens"),
    ],
)
def test_config_check_validates_every_setting(tmp_path: Path, settings: str, key: str) -> None:
    path = tmp_path / "beluga.yaml"
    path.write_text(f"llm:\n  default: test\n  settings: {settings}\n")
    result = runner.invoke(app, ["config", "check", str(path)])
    assert result.exit_code == EXIT_CONFIG, result.output
    assert key in result.output
    assert "Traceback" not in result.output


def test_config_check_validates_role_settings(tmp_path: Path) -> None:
    path = tmp_path / "beluga.yaml"
    path.write_text(
        "llm:\n  default: test\n  roles:\n    r: {provider: test, settings: {temperature: hot}}\n"
    )
    result = runner.invoke(app, ["config", "check", str(path)])
    assert result.exit_code == EXIT_CONFIG, result.output
    assert "llm.roles.r.settings.temperature" in result.output


def _roles_config(tmp_path: Path, default: str = "t") -> Path:
    with socket.socket() as s:  # a port nobody listens on: the primary is down
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    path = tmp_path / "beluga.yaml"
    path.write_text(
        f"llm:\n  default: {default}\n  providers:\n    t: {{type: test, text: from t}}\n"
        f"    down: {{type: openai, api_key: {KEY}, base_url: 'http://127.0.0.1:{port}/v1'}}\n"
        "  roles:\n    helper: {provider: down, fallbacks: [t]}\n"
    )
    return path


def test_chat_role_answers_through_the_roles_chain(tmp_path: Path) -> None:
    path = _roles_config(tmp_path)
    result = runner.invoke(app, ["chat", "hi", "--role", "helper", "--config", str(path)])
    assert result.exit_code == 0, result.output
    assert result.stdout == "from t\n"  # the primary is down: its fallback answered
    assert KEY not in result.output


def test_chat_uses_a_role_named_by_llm_default(tmp_path: Path) -> None:
    path = _roles_config(tmp_path, default="helper")
    result = runner.invoke(app, ["chat", "hi", "--config", str(path)])
    assert result.exit_code == 0, result.output
    assert result.stdout == "from t\n"


def test_chat_unknown_role_is_a_config_error_listing_the_roles(tmp_path: Path) -> None:
    path = _roles_config(tmp_path)
    result = runner.invoke(app, ["chat", "hi", "-r", "helpr", "--config", str(path)])
    assert result.exit_code == EXIT_CONFIG, result.output
    assert "no role 'helpr'" in result.stderr and "use one of helper" in result.stderr


def test_chat_role_and_model_together_is_a_usage_error(tmp_path: Path) -> None:
    path = _roles_config(tmp_path)
    result = runner.invoke(
        app, ["chat", "hi", "--role", "helper", "--model", "t", "--config", str(path)]
    )
    assert result.exit_code == 2
    assert "not both" in result.output


def test_config_check_rejects_headers_given_as_a_string(tmp_path: Path) -> None:
    path = tmp_path / "beluga.yaml"
    path.write_text(
        "llm:\n  default: gpt\n  providers:\n    gpt:\n      type: openai\n"
        f"      api_key: {KEY}\n      default_headers: 'X-Team: hdr-secret-1234'\n"
    )
    result = runner.invoke(app, ["config", "check", str(path)])
    assert result.exit_code == EXIT_CONFIG, result.output
    message = result.stderr.strip()
    assert message.startswith("error:") and str(path) in message.replace("\n", "")
    assert "llm.providers.gpt.default_headers" in message and "Fix:" in message
    assert "hdr-secret-1234" not in result.output and "Traceback" not in result.output


def test_an_unquoted_api_version_date_is_kept_as_its_text(tmp_path: Path) -> None:
    from beluga.config import load_config
    from beluga.llms.config import LLMConfig

    path = tmp_path / "beluga.yaml"
    path.write_text(
        "llm:\n  default: az\n  providers:\n    az:\n      type: azure\n"
        f"      api_key: {KEY}\n      endpoint: https://x.openai.azure.com\n"
        "      api_version: 2024-10-21\n"
    )
    result = runner.invoke(app, ["config", "check", str(path)])
    assert result.exit_code == 0, result.output
    options = LLMConfig.of(load_config(path)).providers["az"].factory_options()
    assert options["api_version"] == "2024-10-21"
