"""Loading folders: globs, dispatch by extension, binaries and outside links skipped, errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from beluga.core.errors import BelugaError, ErrorCode
from beluga.documents import load, load_sync


def _tree(root: Path, outside: Path) -> None:
    (root / "sub").mkdir(parents=True)
    (root / ".git").mkdir()
    (root / "a.md").write_text("# A\n\ntext\n")
    (root / "sub" / "b.txt").write_text("b text\n")
    (root / "sub" / "skip.txt").write_text("excluded\n")
    (root / ".git" / "c.txt").write_text("hidden\n")
    (root / "img.txt").write_bytes(b"\x89PNG\x00\x00binary")
    (root / "data.bin").write_bytes(b"unknown extension")
    (outside / "secret.txt").write_text("outside the root\n")
    (root / "link.txt").symlink_to(outside / "secret.txt")


def test_walk_dispatches_and_skips(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    outside.mkdir()
    _tree(root, outside)
    docs = load_sync(root, exclude=["**/.*", "**/skip.txt"])
    assert sorted(Path(d.metadata["source"]).name for d in docs) == ["a.md", "b.txt"]
    only = load_sync(root, include=["sub/**"])
    assert [Path(d.metadata["source"]).name for d in only] == ["b.txt", "skip.txt"]


async def test_async_load_matches_sync(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    outside.mkdir()
    _tree(root, outside)
    got = [doc.id async for doc in load(root)]
    assert got == [d.id for d in load_sync(root)] and len(got) == 3


def test_unsupported_and_missing_files(tmp_path: Path) -> None:
    path = tmp_path / "x.bin"
    path.write_bytes(b"data")
    with pytest.raises(BelugaError) as info:
        load_sync(path)
    assert info.value.code is ErrorCode.INVALID_REQUEST
    assert ".md" in info.value.message and "default_loader" in info.value.message
    assert [d.text for d in load_sync(path, default_loader="text")] == ["data"]
    with pytest.raises(BelugaError) as missing:
        load_sync(tmp_path / "nope")
    assert missing.value.code is ErrorCode.NOT_FOUND
