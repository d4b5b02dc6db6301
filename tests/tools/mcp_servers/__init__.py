"""Real MCP servers for the MCP tests, and the harness that starts them."""
