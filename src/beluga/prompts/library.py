"""A folder of versioned prompt files: ``PromptLibrary("prompts").get("support", version="2")``.

The scheme: every file says who it is with two required keys, ``name`` and ``version``; the
file's own name is free (``support.v2.yaml`` is a good habit, not a rule), and sub-folders are
read too. Versions are text, ordered numeric-aware (``2 < 10``, ``1.9 < 1.10``, ``1.0 < 1.0.1``,
``2 < 2b``): ``get(name)`` gives the latest. Two files with the same name and version are an
error naming both.

The folder is read once, when the library is made, so a broken file fails at start-up (and in
``beluga prompts list``), not at the first request. Hidden files and folders (``.name``) are
skipped, files other than ``.yaml``, ``.yml`` and ``.md`` are ignored, and a symbolic link that
leads out of the folder is refused, never followed.
"""

from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from beluga.config import ConfigError
from beluga.config._yaml import MAX_BYTES
from beluga.core.errors import BelugaError, ErrorCode
from beluga.prompts._files import SUFFIXES, load_prompt_file
from beluga.prompts.templates import ChatTemplate, PromptTemplate

__all__ = ["PromptInfo", "PromptLibrary", "version_key"]

_RUNS = re.compile(r"\d+|[^\d.]+")


def version_key(version: str) -> tuple[tuple[int, int | str], ...]:
    """Numeric-aware sort key: runs of digits compare as numbers, the rest as text, and a
    number sorts before text at the same place (``2 < 2b``)."""
    return tuple((0, int(run)) if run.isdigit() else (1, run) for run in _RUNS.findall(version))


@dataclass(slots=True, frozen=True)
class PromptInfo:
    """A prompt of the library: its versions (oldest first) and what its latest one is."""

    name: str
    versions: tuple[str, ...]
    kind: str
    """``text`` (a string template) or ``chat`` (messages), of the latest version."""
    description: str
    source: str

    @property
    def latest(self) -> str:
        return self.versions[-1]


class PromptLibrary:
    """Every prompt of ``folder``, by name and version."""

    def __init__(self, folder: str | Path, *, max_file_bytes: int = MAX_BYTES) -> None:
        self.folder = Path(folder)
        self._prompts: dict[str, dict[str, PromptTemplate | ChatTemplate]] = {}
        for path in _prompt_files(self.folder):
            self._add(load_prompt_file(path, max_bytes=max_file_bytes))
        for name, versions in self._prompts.items():
            self._prompts[name] = dict(sorted(versions.items(), key=lambda kv: version_key(kv[0])))

    def get(self, name: str, version: str | int | None = None) -> PromptTemplate | ChatTemplate:
        """The prompt ``name`` at ``version``, the latest when none is given."""
        versions = self._versions_of(name)
        if version is None:
            return next(reversed(versions.values()))
        template = versions.get(str(version))
        if template is None:
            raise BelugaError(
                "prompts.get",
                ErrorCode.NOT_FOUND,
                f"prompt {name!r} has no version {str(version)!r}; its versions: "
                f"{', '.join(versions)}",
            )
        return template

    def versions(self, name: str) -> tuple[str, ...]:
        """The versions of ``name``, oldest first."""
        return tuple(self._versions_of(name))

    def list(self) -> list[PromptInfo]:
        """Every prompt, by name."""
        out = []
        for name in sorted(self._prompts):
            latest = self.get(name)
            out.append(
                PromptInfo(
                    name,
                    self.versions(name),
                    "text" if isinstance(latest, PromptTemplate) else "chat",
                    latest.description,
                    latest.source or "",
                )
            )
        return out

    def __contains__(self, name: object) -> bool:
        return name in self._prompts

    def __len__(self) -> int:
        return len(self._prompts)

    def __repr__(self) -> str:
        return f"PromptLibrary({str(self.folder)!r}, prompts={sorted(self._prompts)})"

    def _versions_of(self, name: str) -> dict[str, PromptTemplate | ChatTemplate]:
        versions = self._prompts.get(name)
        if versions is not None:
            return versions
        names = sorted(self._prompts)
        guess = difflib.get_close_matches(name, names, n=1)
        hint = f"did you mean {guess[0]!r}? " if guess else ""
        listed = ", ".join(names) if names else "none"
        raise BelugaError(
            "prompts.get",
            ErrorCode.NOT_FOUND,
            f"no prompt {name!r} in {self.folder}; {hint}(prompts: {listed})",
        )

    def _add(self, template: PromptTemplate | ChatTemplate) -> None:
        name, version = template.name or "", template.version or ""
        versions = self._prompts.setdefault(name, {})
        if version in versions:
            raise ConfigError(
                template.source or "",
                "version",
                f"prompt {name!r} version {version!r} is also defined in "
                f"{versions[version].source}",
                "give one of them another version, or remove one",
            )
        versions[version] = template


def _prompt_files(folder: Path) -> list[Path]:
    """The prompt files under ``folder``, sorted; links out of it are refused."""
    if not folder.is_dir():
        raise ConfigError(
            str(folder),
            "",
            "the prompts folder does not exist" if not folder.exists() else "it is not a folder",
            "create it, or set prompts.folder in beluga.yaml to the folder of your prompt files",
        )
    root = folder.resolve()
    found: list[Path] = []
    for here, dirs, files in os.walk(folder, followlinks=False):
        base = Path(here)
        for sub in list(dirs):
            if sub.startswith(".") or (base / sub).is_symlink():
                dirs.remove(sub)
                if not sub.startswith("."):
                    _refuse_outside(base / sub, root)
        for file in files:
            path = base / file
            if file.startswith(".") or path.suffix not in SUFFIXES:
                continue
            if path.is_symlink():
                _refuse_outside(path, root)
            found.append(path)
    return sorted(found)


def _refuse_outside(link: Path, root: Path) -> None:
    """A link whose target is outside ``root`` is an error (a link inside it is fine: a link to
    a folder is not walked, its target is walked where it is)."""
    target = link.resolve()
    if not target.is_relative_to(root):
        raise ConfigError(
            str(link),
            "",
            "it is a symbolic link out of the prompts folder, which is not followed",
            "copy the file into the folder instead",
        )
