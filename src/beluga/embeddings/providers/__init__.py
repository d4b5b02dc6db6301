"""Built-in embedding providers, one module each, loaded lazily through the registry."""

__all__: list[str] = []
