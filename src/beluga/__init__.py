"""Beluga AI: build, serve and operate production AI agents, text and voice."""

from beluga._version import __version__

__all__ = ["__version__"]
