"""Tools that test_registry loads by import path."""

from __future__ import annotations

from beluga.tools import tool
from beluga.tools.toolset import Tools


def shout(text: str) -> str:
    """Say it louder."""
    return text.upper()


@tool(name="whisper")
def quiet(text: str) -> str:
    return text.lower()


group = Tools(shout)
not_a_tool = 42


class Helper:
    """A class, not a tool."""

    value = 1
