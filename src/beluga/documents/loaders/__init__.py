"""Built-in loaders, one parser each (imported when first used, see the registry)."""
