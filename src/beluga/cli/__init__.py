"""The ``beluga`` command line (Typer + Rich)."""

from beluga.cli.main import app, main

__all__ = ["app", "main"]
