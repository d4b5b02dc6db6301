"""One module per provider API; each is imported only when its provider is first created."""

__all__: list[str] = []
