"""Prompt templates and versioned prompt files."""
