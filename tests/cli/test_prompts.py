from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from beluga.cli.main import app

runner = CliRunner()


def _folder(tmp_path: Path) -> Path:
    (tmp_path / "s.yaml").write_text("name: s\nversion: 1\ntemplate: 'Hi {{ who }}'\n")
    (tmp_path / "s2.yaml").write_text("name: s\nversion: 2\ntemplate: 'Yo {{ who }}'\n")
    (tmp_path / "c.yaml").write_text(
        "name: c\nversion: 1\nmessages:\n  - role: user\n    content: '{{ q }}'\n"
    )
    return tmp_path


def test_list_show_render(tmp_path: Path) -> None:
    f = str(_folder(tmp_path))
    out = runner.invoke(app, ["prompts", "list", "--folder", f, "--json"])
    assert out.exit_code == 0, out.output
    assert [r["name"] for r in json.loads(out.stdout)] == ["c", "s"]
    out = runner.invoke(app, ["prompts", "show", "s", "--version", "1", "--folder", f])
    assert out.exit_code == 0 and "Hi {{ who }}" in out.stdout
    out = runner.invoke(app, ["prompts", "render", "s", "--var", "who=Ann", "--folder", f])
    assert out.exit_code == 0 and out.stdout.strip() == "Yo Ann"
    out = runner.invoke(app, ["prompts", "render", "c", "--var", "q=hi", "--folder", f, "--json"])
    assert json.loads(out.stdout)["messages"][0]["role"] == "user"


def test_errors_are_one_line_with_exit_codes(tmp_path: Path) -> None:
    f = str(_folder(tmp_path))
    out = runner.invoke(app, ["prompts", "render", "s", "--folder", f])
    assert out.exit_code == 1 and "'who'" in out.output
    out = runner.invoke(app, ["prompts", "show", "x", "--folder", f])
    assert out.exit_code == 1 and "no prompt 'x'" in out.output
    out = runner.invoke(app, ["prompts", "render", "s", "--var", "bad", "--folder", f])
    assert out.exit_code == 2
    (tmp_path / "broken.yaml").write_text("name: [\n")
    out = runner.invoke(app, ["prompts", "list", "--folder", f])
    assert out.exit_code == 3
