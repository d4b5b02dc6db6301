"""``beluga memory show / sessions / clear`` over a SQLite store, and ``config check`` of memory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from beluga.cli._errors import EXIT_CONFIG, EXIT_FAILED
from beluga.cli.main import app
from beluga.core.sync import run_sync
from beluga.memory.stores import SqliteStore
from beluga.schema import Message, ToolCall, wire

runner = CliRunner()
WIDE = {"COLUMNS": "200"}


def table_rows(text: str) -> list[list[str]]:
    """The cells of a Rich table's body rows."""
    lines = [line for line in text.splitlines() if line.startswith("│")]
    return [[cell.strip() for cell in line.split("│")[1:-1]] for line in lines]


CONVERSATION = [
    Message.user("What is 12 times 12?"),
    Message.assistant(tool_calls=[ToolCall("c1", "calculator", '{"expression": "12*12"}')]),
    Message.tool("c1", "144", name="calculator"),
    Message.assistant("It is 144. " + "Really, " * 40 + "it is."),
]


@pytest.fixture
def config(tmp_path: Path) -> Path:
    db = tmp_path / "memory.db"

    async def fill() -> None:
        store = SqliteStore(db)
        await store.append("me", CONVERSATION)
        await store.append("you", [Message.user("hi"), Message.assistant("hello")])
        await store.aclose()

    run_sync(fill())
    path = tmp_path / "beluga.yaml"
    path.write_text(f"memory:\n  store: sqlite\n  path: {db}\n")
    return path


def test_show_prints_role_kind_and_truncated_text(config: Path) -> None:
    result = runner.invoke(app, ["memory", "show", "me", "-c", str(config)], env=WIDE)
    assert result.exit_code == 0, result.output
    rows = table_rows(result.stdout)
    assert [r[:3] for r in rows] == [
        ["0", "user", "text"],
        ["1", "assistant", "tool call"],
        ["2", "tool", "tool result"],
        ["3", "assistant", "text"],
    ]
    assert 'calculator({"expression": "12*12"})' in rows[1][3]
    assert rows[3][3].endswith("…") and len(rows[3][3]) == 100


def test_show_json_is_the_wire_form(config: Path) -> None:
    result = runner.invoke(app, ["memory", "show", "me", "--json", "-c", str(config)])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["session_id"] == "me"
    assert [wire.from_json(m, Message) for m in body["messages"]] == CONVERSATION


def test_show_of_an_unknown_session_fails_with_one_line(config: Path) -> None:
    result = runner.invoke(app, ["memory", "show", "nobody", "-c", str(config)])
    assert result.exit_code == EXIT_FAILED
    assert "session 'nobody' has no stored messages in sqlite" in result.stderr
    assert "Traceback" not in result.output


def test_sessions_lists_ids_with_counts(config: Path) -> None:
    result = runner.invoke(app, ["memory", "sessions", "--json", "-c", str(config)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [
        {"session_id": "me", "messages": 4},
        {"session_id": "you", "messages": 2},
    ]
    table = runner.invoke(app, ["memory", "sessions", "-c", str(config)], env=WIDE)
    assert table.exit_code == 0, table.output
    assert table_rows(table.stdout) == [["me", "4"], ["you", "2"]]


def test_clear_asks_first_and_forgets_one_session(config: Path) -> None:
    refused = runner.invoke(app, ["memory", "clear", "me", "-c", str(config)], input="n\n")
    assert refused.exit_code == EXIT_FAILED
    assert "not cleared" in refused.stderr
    assert "Forget session 'me' (4 messages" in refused.stderr
    kept = runner.invoke(app, ["memory", "sessions", "--json", "-c", str(config)])
    assert len(json.loads(kept.stdout)) == 2

    done = runner.invoke(app, ["memory", "clear", "me", "--yes", "-c", str(config)])
    assert done.exit_code == 0, done.output
    assert "cleared session 'me' (4 messages)" in done.stdout
    left = runner.invoke(app, ["memory", "sessions", "--json", "-c", str(config)])
    assert json.loads(left.stdout) == [{"session_id": "you", "messages": 2}]
    again = runner.invoke(app, ["memory", "clear", "me", "--yes", "-c", str(config)])
    assert again.exit_code == 0 and "nothing to clear" in again.stderr


def test_the_in_process_store_cannot_be_inspected(tmp_path: Path) -> None:
    path = tmp_path / "beluga.yaml"
    path.write_text("memory: {store: memory}\n")
    result = runner.invoke(app, ["memory", "sessions", "-c", str(path)])
    assert result.exit_code == EXIT_CONFIG
    assert "(memory.store)" in result.stderr


def test_config_check_describes_and_validates_memory(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(
        f"llm: {{default: test, metrics: {{enabled: false}}}}\n"
        f"memory: {{path: {tmp_path / 'm.db'}, strategy: summary, keep_turns: 2}}\n"
    )
    result = runner.invoke(app, ["config", "check", str(good)])
    assert result.exit_code == 0, result.output
    assert f"memory: sqlite {tmp_path / 'm.db'}, strategy summary" in result.stdout

    bad = tmp_path / "bad.yaml"
    bad.write_text("memory: {strategy: vector, embedder: openai, vector_store: x:y}\n")
    result = runner.invoke(app, ["config", "check", str(bad)])
    assert result.exit_code == EXIT_CONFIG
    assert "(memory.embedder)" in result.stderr
    assert "vector recall needs an embedder and a vector store" in result.stderr


def test_show_marks_the_summary_record(tmp_path: Path) -> None:
    from beluga.llms.testing import FunctionModel
    from beluga.memory import SummaryMemory

    db = tmp_path / "m.db"

    async def fill() -> None:
        summarizer = FunctionModel(lambda m, i: "they met")
        memory = SummaryMemory(SqliteStore(db), summarizer, keep_turns=1)
        for i in range(2):
            await memory.save("s", [Message.user(f"q{i}"), Message.assistant(f"a{i}")])
        await memory.aclose()

    run_sync(fill())
    path = tmp_path / "beluga.yaml"
    path.write_text(f"memory: {{path: {db}}}\n")
    result = runner.invoke(app, ["memory", "show", "s", "-c", str(path)], env=WIDE)
    assert result.exit_code == 0, result.output
    assert table_rows(result.stdout)[-1] == ["4", "system", "summary", "they met"]
