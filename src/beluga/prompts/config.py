"""The ``prompts:`` section of ``beluga.yaml``: where the prompt files are.

``folder`` is relative to the directory of the configuration file (to the working directory for
a configuration made in Python), so a project moves as one piece. The section is registered under
the ``beluga.config`` entry-point group (see ``pyproject.toml``); :func:`build_library` is the one
path from configuration to a :class:`~beluga.prompts.PromptLibrary`.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field

from beluga.config import BelugaConfig, Section
from beluga.config._yaml import MAX_BYTES
from beluga.prompts.library import PromptLibrary

__all__ = ["PromptsConfig", "build_library", "prompts_folder"]


class PromptsConfig(Section):
    """Prompt files: ``folder`` (default ``prompts``) and the largest file read."""

    key: ClassVar[str] = "prompts"

    folder: str = Field(default="prompts", min_length=1)
    max_file_bytes: int = Field(default=MAX_BYTES, gt=0)


def prompts_folder(config: BelugaConfig) -> Path:
    """``prompts.folder``, resolved against the configuration file's directory."""
    folder = Path(PromptsConfig.of(config).folder).expanduser()
    source = Path(config.source)
    if folder.is_absolute() or not source.is_file():
        return folder
    return source.parent / folder


def build_library(config: BelugaConfig) -> PromptLibrary:
    """The prompt library ``config`` describes (read now: a broken file fails here)."""
    return PromptLibrary(
        prompts_folder(config), max_file_bytes=PromptsConfig.of(config).max_file_bytes
    )
