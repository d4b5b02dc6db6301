"""Prompt templates and versioned prompt files.

``PromptTemplate`` (text) and ``ChatTemplate`` (messages) render with a sandboxed, strict and
bounded Jinja2 (see ``beluga.prompts._engine``); ``PromptLibrary`` loads a folder of YAML and
Markdown prompt files with versions. Guide: docs/readme/prompts.md.
"""

from beluga.prompts._engine import RenderLimits
from beluga.prompts._media import FileSlot, ImageSlot
from beluga.prompts.config import PromptsConfig, build_library
from beluga.prompts.library import PromptInfo, PromptLibrary
from beluga.prompts.templates import (
    ChatTemplate,
    FewShot,
    MessageLike,
    Placeholder,
    PromptTemplate,
)

__all__ = [
    "ChatTemplate",
    "FewShot",
    "FileSlot",
    "ImageSlot",
    "MessageLike",
    "Placeholder",
    "PromptInfo",
    "PromptLibrary",
    "PromptTemplate",
    "PromptsConfig",
    "RenderLimits",
    "build_library",
]
