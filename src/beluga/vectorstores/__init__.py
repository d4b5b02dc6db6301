"""Vector stores: similarity search over embedded documents."""
