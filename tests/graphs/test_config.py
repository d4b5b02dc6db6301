"""The graphs: section: settings, graphs declared in YAML or by import path, errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from beluga.config import ConfigError, load_config
from beluga.graphs import MemoryCheckpointer, SqliteCheckpointer
from beluga.graphs.config import GraphsConfig, build_checkpointer, build_graph, validate_graphs

YAML = """
graphs:
  checkpoints: {store: sqlite, path: "%s"}
  durability: async
  step_limit: 9
  support:
    graph: tests.graphs._flows:support
  tickets:
    state: tests.graphs._flows:Ticket
    step_limit: 4
    nodes:
      classify: {fn: tests.graphs._flows:classify, role: planner}
      triage: tests.graphs._flows:triage
      answer: tests.graphs._flows:answer
    edges: [[START, classify], [triage, END], [answer, END]]
    routes:
      classify: {fn: tests.graphs._flows:route, targets: [triage, answer]}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "beluga.yaml"
    path.write_text(text)
    return path


async def test_yaml_graphs_build_and_run(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, YAML % (tmp_path / "g.db")))
    section = GraphsConfig.of(cfg)
    assert sorted(section.graphs) == ["support", "tickets"]
    assert section.durability == "async" and section.step_limit == 9
    assert validate_graphs(cfg) == ["support", "tickets"]

    support = build_graph(cfg, "support")
    assert isinstance(support.checkpointer, SqliteCheckpointer)
    assert support.step_limit == 9 and support.durability == "async"
    done = await support.run({"text": "how do I?", "steps": []})
    assert done.values["reply"] == "see the docs"

    tickets = build_graph(cfg, "tickets", checkpointer=MemoryCheckpointer(), router=object())
    assert tickets.step_limit == 4 and tickets.nodes["classify"].role == "planner"
    paused = await tickets.run({"text": "it crashes", "steps": []})
    assert paused.interrupts[0].value == "severity?"
    done = await tickets.resume(paused.run_id, "high")
    assert done.values["steps"] == ["classify", "triage"]
    assert done.values["reply"] == "severity high"
    await support.checkpointer.aclose()  # type: ignore[union-attr]


def test_default_section_is_sqlite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BELUGA_GRAPHS_DB", str(tmp_path / "d.db"))
    cfg = load_config(write(tmp_path, "version: 1\n"))
    store = build_checkpointer(cfg)
    assert isinstance(store, SqliteCheckpointer) and store.path == tmp_path / "d.db"
    assert validate_graphs(cfg) == []


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("  bad: {graph: tests.graphs._flows:not_a_graph}", "is a int"),
        ("  bad: {graph: nowhere}", "not an import path"),
        ("  bad: {graph: tests.graphs._flows:missing_thing}", "missing_thing"),
        (
            "  bad:\n    nodes: {a: tests.graphs._flows:answer}\n    edges: [[START, b]]",
            "START -> b",
        ),
    ],
)
def test_bad_entries_name_the_key(tmp_path: Path, body: str, problem: str) -> None:
    cfg = load_config(write(tmp_path, "graphs:\n" + body + "\n"))
    with pytest.raises(ConfigError) as info:
        validate_graphs(cfg)
    assert problem in str(info.value)
    assert "graphs.bad" in str(info.value)


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("  checkpoints: {store: postgres}", "needs url"),
        ("  checkpoints: {store: sqlite, url: redis://x}", "url is for"),
        ("  bad: {}", "needs graph"),
        ("  bad: {graph: a:b, nodes: {x: a:b}}", "not both"),
        ("  durability: sometimes", "durability"),
    ],
)
def test_invalid_yaml_is_refused_on_load(tmp_path: Path, body: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        load_config(write(tmp_path, "graphs:\n" + body + "\n"))


def test_unknown_graph_lists_the_known_ones(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, YAML % (tmp_path / "g.db")))
    with pytest.raises(ConfigError, match="support, tickets"):
        build_graph(cfg, "nope")


def test_postgres_url_is_a_secret(tmp_path: Path) -> None:
    text = "graphs:\n  checkpoints: {store: postgres, url: 'postgresql://u:pw-s3cret@h/db'}\n"
    cfg = load_config(write(tmp_path, text))
    assert "pw-s3cret" not in repr(GraphsConfig.of(cfg))
    assert "pw-s3cret" not in str(GraphsConfig.of(cfg).model_dump())
