"""``beluga graph list / draw / run / resume / runs / history`` over a SQLite checkpoint file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from beluga.cli._errors import EXIT_CONFIG, EXIT_FAILED
from beluga.cli.main import app
from tests.graphs.test_config import YAML

runner = CliRunner()
WIDE = {"COLUMNS": "200"}


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "beluga.yaml"
    # the tickets graph names a role: give llm: one so the router can be built
    text = YAML % (tmp_path / "g.db")
    path.write_text(text + "llm:\n  roles:\n    planner: {provider: test}\n")
    return path


def test_list_and_draw(config: Path) -> None:
    listed = runner.invoke(app, ["graph", "list", "--json", "-c", str(config)])
    assert listed.exit_code == 0, listed.output
    assert json.loads(listed.stdout) == [
        {"name": "support", "nodes": ["classify", "answer"]},
        {"name": "tickets", "nodes": ["classify", "triage", "answer"]},
    ]
    table = runner.invoke(app, ["graph", "list", "-c", str(config)], env=WIDE)
    assert "tickets" in table.stdout and "classify, triage, answer" in table.stdout
    drawn = runner.invoke(app, ["graph", "draw", "tickets", "-c", str(config)])
    assert drawn.exit_code == 0
    assert drawn.stdout.startswith("flowchart TD")
    assert "n_classify -.-> n_triage" in drawn.stdout
    assert "role: planner" in drawn.stdout


def test_run_interrupt_resume_runs_history(config: Path) -> None:
    run = runner.invoke(
        app,
        [
            *("graph", "run", "tickets", "-c", str(config), "--run-id", "t1"),
            *("--input", '{"text": "app crashes", "steps": []}'),
        ],
    )
    assert run.exit_code == 0, run.output
    body = json.loads(run.stdout)
    assert body["status"] == "interrupted" and body["interrupts"][0]["value"] == "severity?"
    assert "beluga graph resume t1" in run.stderr

    runs = runner.invoke(app, ["graph", "runs", "--json", "-c", str(config)])
    assert [(r["run_id"], r["status"]) for r in json.loads(runs.stdout)] == [("t1", "interrupted")]

    resumed = runner.invoke(
        app, ["graph", "resume", "t1", "--answer", '"high"', "--stream", "-c", str(config)]
    )
    assert resumed.exit_code == 0, resumed.output
    done = json.loads(resumed.stdout)
    assert done["status"] == "done" and done["state"]["reply"] == "severity high"
    assert "triage: reply, steps" in resumed.stderr

    history = runner.invoke(app, ["graph", "history", "t1", "--json", "-c", str(config)])
    assert [h["status"] for h in json.loads(history.stdout)][-1] == "done"


def test_errors_have_exit_codes(config: Path) -> None:
    unknown = runner.invoke(app, ["graph", "draw", "nope", "-c", str(config)])
    assert unknown.exit_code == EXIT_CONFIG and "there is no graph 'nope'" in unknown.stderr
    missing = runner.invoke(app, ["graph", "resume", "ghost", "-c", str(config)])
    assert missing.exit_code == EXIT_FAILED and "not in the checkpoint store" in missing.stderr
    bad = runner.invoke(app, ["graph", "run", "support", "--input", "{x", "-c", str(config)])
    assert bad.exit_code == 2 and "--input is not JSON" in bad.stderr
    check = runner.invoke(app, ["config", "check", str(config)])
    assert check.exit_code == 0, check.output
    assert "graphs: support, tickets" in check.stdout
