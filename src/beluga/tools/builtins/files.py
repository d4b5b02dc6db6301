"""Read text files inside one sandbox root, and nothing outside it.

A path is resolved to its real path first (``..``, symlinks and absolute paths included) and
refused unless that real path is inside the root. The file is then opened component by component
from the root with ``O_NOFOLLOW``, so a directory swapped for a symlink after the check makes the
open fail rather than leave the root. Only regular files are read (no FIFO, socket or device,
which could block or never end), up to ``max_bytes``. The content is returned as UTF-8 text; a
file that is not UTF-8 is refused with a clear error (this tool is for text: documents, code,
configuration).
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from beluga.core.errors import BelugaError, ErrorCode
from beluga.tools.base import Tool, ToolRetry
from beluga.tools.function import FunctionTool

__all__ = ["read_file"]

_DIRECTORY_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0)
_FILE_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)


def read_file(
    root: str | os.PathLike[str], *, max_bytes: int = 1_000_000, name: str = "read_file"
) -> Tool:
    """A tool that reads UTF-8 text files under ``root`` (at most ``max_bytes`` each)."""
    base = _root(root)
    if max_bytes <= 0:
        raise BelugaError(
            "tools.read_file",
            ErrorCode.INVALID_CONFIG,
            f"max_bytes must be positive, not {max_bytes}",
        )
    sandbox = _Sandbox(base, max_bytes)

    def read(path: str) -> str:
        """Read a text file.

        Args:
            path: The file's path, relative to the folder this tool may read.
        """
        return sandbox.read(path)

    return FunctionTool(read, name=name)


def _root(root: str | os.PathLike[str]) -> Path:
    try:
        base = Path(root).resolve(strict=True)
    except OSError as exc:
        raise BelugaError(
            "tools.read_file",
            ErrorCode.INVALID_CONFIG,
            f"the sandbox root {str(root)!r} does not exist ({exc.strerror}); give an existing "
            "folder",
        ) from exc
    if not base.is_dir():
        raise BelugaError(
            "tools.read_file",
            ErrorCode.INVALID_CONFIG,
            f"the sandbox root {str(root)!r} is not a folder",
        )
    return base


class _Sandbox:
    __slots__ = ("max_bytes", "root")

    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = root
        self.max_bytes = max_bytes

    def read(self, path: str) -> str:
        parts = self.parts(path)
        data = self.read_bytes(parts, path)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise ToolRetry(
                f"{path!r} is not a UTF-8 text file; this tool reads text files only"
            ) from None

    def parts(self, path: str) -> tuple[str, ...]:
        """The components of ``path``'s real path below the root, or a refusal."""
        if not path or "\x00" in path:
            raise ToolRetry("give the path of a file, e.g. 'notes/todo.txt'")
        real = Path(os.path.realpath(self.root / path))
        if real != self.root and not real.is_relative_to(self.root):
            raise ToolRetry(
                f"{path!r} is outside the folder this tool may read; give a path inside it"
            )
        return real.relative_to(self.root).parts

    def read_bytes(self, parts: tuple[str, ...], path: str) -> bytes:
        if not parts:
            raise ToolRetry(f"{path!r} is a folder, not a file")
        try:
            fd = _open_below(self.root, parts)
        except FileNotFoundError:
            raise ToolRetry(f"no file {path!r}; check the name") from None
        except NotADirectoryError:
            raise ToolRetry(f"no file {path!r}: a part of the path is not a folder") from None
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise ToolRetry(f"{path!r} changed while it was opened; try again") from None
            raise ToolRetry(f"cannot open {path!r} ({exc.strerror})") from None
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise ToolRetry(f"{path!r} is not a regular file; only files can be read")
            if info.st_size > self.max_bytes:
                raise ToolRetry(self._too_big(path))
            data = _read_up_to(fd, self.max_bytes + 1)
        finally:
            os.close(fd)
        if len(data) > self.max_bytes:  # it grew after the check
            raise ToolRetry(self._too_big(path))
        return data

    def _too_big(self, path: str) -> str:
        return f"{path!r} is larger than the {self.max_bytes} bytes this tool may read"


def _read_up_to(fd: int, limit: int) -> bytes:
    chunks: list[bytes] = []
    left = limit
    while left > 0:
        chunk = os.read(fd, min(left, 1 << 16))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _open_below(root: Path, parts: tuple[str, ...]) -> int:
    """Open ``root/parts...`` without following any symlink on the way."""
    if os.open not in os.supports_dir_fd:  # Windows: the checked real path, opened directly
        return os.open(root.joinpath(*parts), _FILE_FLAGS)
    fd = os.open(root, _DIRECTORY_FLAGS)
    try:
        for part in parts[:-1]:
            inner = os.open(part, _DIRECTORY_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = inner
        return os.open(parts[-1], _FILE_FLAGS, dir_fd=fd)
    finally:
        os.close(fd)
