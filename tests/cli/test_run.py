"""``beluga run``: an agent of beluga.yaml streams its answer, shows its tools, keeps memory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from beluga.cli import app
from beluga.cli._errors import EXIT_CONFIG
from beluga.tools import tool

runner = CliRunner()


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "beluga.yaml"
    path.write_text(
        f"""
version: 1
llm: {{default: test, metrics: {{enabled: false}}}}
memory: {{store: sqlite, path: {tmp_path / "memory.db"}, strategy: buffer}}
agents:
  helper:
    tools: [calculator]
    memory: true
  gated:
    tools: ["tests.cli.test_run:delete_everything"]
""",
        encoding="utf-8",
    )
    return path


@tool(requires_approval=True)
def delete_everything() -> str:
    """Delete everything (needs approval)."""
    return "deleted"


def test_the_answer_streams_to_stdout_and_tool_calls_to_stderr(config: Path) -> None:
    result = runner.invoke(app, ["run", "helper", "what is 2+2?", "-c", str(config)])
    assert result.exit_code == 0, result.output
    assert result.stdout == "success (no tool calls)\n"
    assert "→ calculator" in result.stderr
    assert "← calculator" in result.stderr


def test_a_session_goes_on_in_the_next_run(config: Path) -> None:
    for question in ("first", "second"):
        result = runner.invoke(
            app, ["run", "helper", question, "-s", "s1", "-c", str(config), "--json"]
        )
        assert result.exit_code == 0, result.output
    show = runner.invoke(app, ["run", "helper", "third", "-s", "s1", "-c", str(config), "--json"])
    summary = json.loads(show.stdout)
    assert summary["agent"] == "helper"
    from beluga.config import load_config
    from beluga.core.sync import run_sync
    from beluga.memory import MemoryConfig, build_memory

    memory = build_memory(MemoryConfig.of(load_config(config)))
    history = run_sync(memory.load("s1"))
    assert [m.text for m in history if m.role == "user"] == ["first", "second", "third"]
    assert any(m.role == "tool" for m in history)


def test_an_unknown_agent_is_one_line_and_exit_3(config: Path) -> None:
    result = runner.invoke(app, ["run", "nobody", "hi", "-c", str(config)])
    assert result.exit_code == EXIT_CONFIG
    assert "there is no agent 'nobody'" in result.stderr
    assert "Traceback" not in result.output


def test_config_check_lists_the_agents(config: Path) -> None:
    result = runner.invoke(app, ["config", "check", str(config)])
    assert result.exit_code == 0, result.output
    assert "agents: gated, helper" in result.stdout


def test_approval_is_denied_without_a_terminal_and_given_by_yes(config: Path) -> None:
    denied = runner.invoke(app, ["run", "gated", "go", "-c", str(config)])
    assert denied.exit_code == 0, denied.output
    assert "no terminal" in denied.stderr
    assert "← delete_everything: deleted" not in denied.stderr
    approved = runner.invoke(app, ["run", "gated", "go", "--yes", "-c", str(config)])
    assert "← delete_everything: deleted" in approved.stderr
