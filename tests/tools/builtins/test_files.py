from __future__ import annotations

import os
from pathlib import Path

import pytest

from beluga.core import BelugaError, ErrorCode
from beluga.schema import TextPart, ToolCall
from beluga.tools import RunContext, Tool, ToolRetry
from beluga.tools.builtins import read_file
from beluga.tools.builtins.files import _open_below
from beluga.tools.execute import run_tool


@pytest.fixture
def root(tmp_path: Path) -> Path:
    base = tmp_path / "root"
    (base / "docs").mkdir(parents=True)
    (base / "docs" / "a.txt").write_text("alpha\n", encoding="utf-8")
    (base / "top.md").write_text("# top", encoding="utf-8")
    (tmp_path / "secret.txt").write_text("outside secret", encoding="utf-8")
    return base


async def _read(tool: Tool, path: str) -> str:
    result = await tool.call({"path": path}, RunContext(None))
    (part,) = result.content
    assert isinstance(part, TextPart)
    return part.text


async def test_reads_files_inside_the_root(root: Path) -> None:
    tool = read_file(root)
    assert tool.definition.name == "read_file"
    assert list(tool.definition.parameters["properties"]) == ["path"]
    assert await _read(tool, "docs/a.txt") == "alpha\n"
    assert await _read(tool, "./docs/../top.md") == "# top"
    assert await _read(tool, str(root / "top.md")) == "# top"  # absolute, but inside


@pytest.mark.parametrize("path", ["../secret.txt", "docs/../../secret.txt", "/etc/passwd"])
async def test_paths_escaping_the_root_are_refused(root: Path, path: str) -> None:
    with pytest.raises(ToolRetry, match="outside the folder"):
        await _read(read_file(root), path)


async def test_a_symlink_out_of_the_root_is_refused(root: Path) -> None:
    (root / "link.txt").symlink_to(root.parent / "secret.txt")
    (root / "linkdir").symlink_to(root.parent)
    tool = read_file(root)
    with pytest.raises(ToolRetry, match="outside the folder"):
        await _read(tool, "link.txt")
    with pytest.raises(ToolRetry, match="outside the folder"):
        await _read(tool, "linkdir/secret.txt")


async def test_a_symlink_inside_the_root_is_followed(root: Path) -> None:
    (root / "alias.txt").symlink_to(root / "docs" / "a.txt")
    assert await _read(read_file(root), "alias.txt") == "alpha\n"


async def test_a_root_given_through_a_symlink_works(root: Path, tmp_path: Path) -> None:
    (tmp_path / "via").symlink_to(root)
    assert await _read(read_file(tmp_path / "via"), "top.md") == "# top"


def test_a_swapped_directory_is_not_followed(root: Path) -> None:
    """The open itself never follows a symlink, even one that appeared after the check."""
    (root / "swapped").symlink_to(root.parent)
    with pytest.raises(OSError, match=r"Too many levels of symbolic links|Not a directory"):
        _open_below(root, ("swapped", "secret.txt"))


async def test_a_fifo_is_refused_without_blocking(root: Path) -> None:
    os.mkfifo(root / "pipe")
    with pytest.raises(ToolRetry, match="not a regular file"):
        await _read(read_file(root), "pipe")


async def test_a_device_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ToolRetry, match="not a regular file"):
        await _read(read_file("/dev"), "null")


async def test_a_folder_is_refused(root: Path) -> None:
    tool = read_file(root)
    with pytest.raises(ToolRetry, match="not a regular file"):
        await _read(tool, "docs")
    with pytest.raises(ToolRetry, match="is a folder"):
        await _read(tool, ".")


async def test_a_file_over_the_limit_is_refused(root: Path) -> None:
    (root / "big.txt").write_text("b" * 101, encoding="utf-8")
    (root / "fits.txt").write_text("b" * 100, encoding="utf-8")
    tool = read_file(root, max_bytes=100)
    with pytest.raises(ToolRetry, match="larger than the 100 bytes"):
        await _read(tool, "big.txt")
    assert await _read(tool, "fits.txt") == "b" * 100


async def test_binary_files_are_refused(root: Path) -> None:
    (root / "blob.bin").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ToolRetry, match="not a UTF-8 text file"):
        await _read(read_file(root), "blob.bin")


@pytest.mark.parametrize(("path", "match"), [("missing.txt", "no file"), ("", "give the path")])
async def test_missing_or_empty_paths(root: Path, path: str, match: str) -> None:
    with pytest.raises(ToolRetry, match=match):
        await _read(read_file(root), path)


async def test_a_nul_byte_is_refused(root: Path) -> None:
    with pytest.raises(ToolRetry, match="give the path"):
        await _read(read_file(root), "top.md\x00.txt")


async def test_a_file_under_a_file_is_not_found(root: Path) -> None:
    with pytest.raises(ToolRetry, match="not a folder"):
        await _read(read_file(root), "top.md/inner")


async def test_refusals_reach_the_model_as_error_results(root: Path) -> None:
    result = await run_tool(
        read_file(root), ToolCall("c", "read_file", '{"path": "../secret.txt"}'), RunContext(None)
    )
    assert result.is_error
    assert "outside secret" not in repr(result)


def test_a_missing_root_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(BelugaError, match="does not exist") as info:
        read_file(tmp_path / "nope")
    assert info.value.code is ErrorCode.INVALID_CONFIG
    (tmp_path / "file").write_text("x")
    with pytest.raises(BelugaError, match="not a folder"):
        read_file(tmp_path / "file")
    with pytest.raises(BelugaError, match="max_bytes"):
        read_file(tmp_path, max_bytes=0)
