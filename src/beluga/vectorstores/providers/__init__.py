"""One module per vector store; the registry imports them lazily."""
