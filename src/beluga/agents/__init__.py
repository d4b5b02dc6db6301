"""Agents: a model, tools, instructions and memory in a tool-calling loop."""
