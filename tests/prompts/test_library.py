from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from beluga.config import ConfigError
from beluga.core.errors import BelugaError, ErrorCode
from beluga.prompts import (
    ChatTemplate,
    PromptLibrary,
    PromptsConfig,
    PromptTemplate,
    build_library,
)
from beluga.prompts.library import version_key

ROOT = Path(__file__).resolve().parents[2]


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    write(tmp_path, "support.v1.yaml", "name: support\nversion: 1\ntemplate: 'v1 {{ q }}'\n")
    write(tmp_path, "support.v2.md", "---\nname: support\nversion: 2\n---\nv2 {{ q }}\n")
    write(tmp_path, "support.v10.md", "---\nname: support\nversion: '10'\n---\nv10 {{ q }}\n")
    write(
        tmp_path,
        "chat.yaml",
        "name: chat\nversion: '1.0'\ndescription: a chat\nmessages:\n"
        "  - role: system\n    content: 'be {{ tone }}'\n"
        "  - examples: [{input: a, output: b}]\n"
        "  - placeholder: history\n    optional: true\n"
        "  - role: user\n    content: ['{{ q }}', {image: photo}]\n"
        "defaults: {tone: kind}\n",
    )
    return tmp_path


def test_versions_latest_and_kinds(folder: Path) -> None:
    lib = PromptLibrary(folder)
    assert lib.versions("support") == ("1", "2", "10")
    latest = lib.get("support")
    assert isinstance(latest, PromptTemplate) and latest.render(q="x") == "v10 x"
    assert lib.get("support", version=2).render(q="x") == "v2 x"
    chat = lib.get("chat")
    assert isinstance(chat, ChatTemplate)
    out = chat.render(q="hi", photo="https://x/p.png")
    assert [m.role for m in out] == ["system", "user", "assistant", "user"]
    assert [(i.name, i.latest, i.kind) for i in lib.list()] == [
        ("chat", "1.0", "chat"),
        ("support", "10", "text"),
    ]


def test_unknown_prompt_and_version(folder: Path) -> None:
    lib = PromptLibrary(folder)
    with pytest.raises(BelugaError, match="did you mean 'support'") as info:
        lib.get("suport")
    assert info.value.code is ErrorCode.NOT_FOUND
    with pytest.raises(BelugaError, match="its versions: 1, 2, 10"):
        lib.get("support", version="3")


def test_duplicate_version_names_both_files(folder: Path) -> None:
    write(folder, "again.yaml", "name: support\nversion: 2\ntemplate: x\n")
    with pytest.raises(ConfigError, match="also defined in"):
        PromptLibrary(folder)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("name: a\nversion: 1\ntemplate: [unclosed\n", "invalid YAML at line"),
        ("name: a\ntemplate: x\n", "version"),
        ("name: a\nversion: 1\n", "exactly one of template"),
        ("name: a\nversion: 1\ntemplat: x\n", "did you mean 'template'"),
        ("name: a\nversion: 1.10\ntemplate: x\n", "quote the version"),
        ("name: a\nversion: 1\ntemplate: '{{ x '\n", "syntax error"),
    ],
)
def test_broken_files_are_one_line_errors(tmp_path: Path, text: str, needle: str) -> None:
    path = write(tmp_path, "a.yaml", text)
    with pytest.raises(ConfigError) as info:
        PromptLibrary(tmp_path)
    assert needle in info.value.message and str(path) in info.value.message
    assert "\n" not in info.value.message


def test_markdown_needs_front_matter(tmp_path: Path) -> None:
    write(tmp_path, "a.md", "just text")
    with pytest.raises(ConfigError, match="front matter"):
        PromptLibrary(tmp_path)


def test_symlink_out_of_folder_is_refused(tmp_path: Path) -> None:
    outside = write(tmp_path, "secret.yaml", "name: s\nversion: 1\ntemplate: x\n")
    inside = tmp_path / "lib"
    inside.mkdir()
    (inside / "s.yaml").symlink_to(outside)
    with pytest.raises(ConfigError, match="symbolic link out of"):
        PromptLibrary(inside)
    (inside / "s.yaml").unlink()
    (inside / "d").symlink_to(tmp_path, target_is_directory=True)
    with pytest.raises(ConfigError, match="symbolic link out of"):
        PromptLibrary(inside)


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        PromptLibrary(tmp_path / "nope")


def test_version_order_is_numeric_aware() -> None:
    assert sorted(["10", "2", "1.10", "1.9", "2b"], key=version_key) == [
        "1.9",
        "1.10",
        "2",
        "2b",
        "10",
    ]


class _Fake:
    source = "<python>"


def test_config_section_and_build_library(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Composing a whole BelugaConfig would import every section the venv's entry points name
    # (other areas' too); the section itself is what is under test here.
    section = PromptsConfig(folder=str(folder))
    monkeypatch.setattr(PromptsConfig, "of", classmethod(lambda cls, config: section))
    assert build_library(_Fake()).versions("support") == (  # type: ignore[arg-type]
        "1",
        "2",
        "10",
    )
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]
    assert declared["beluga.config"]["prompts"] == "beluga.prompts.config:PromptsConfig"
