"""Speech-to-text engines, one module each, loaded lazily
through :mod:`beluga.voice.stt.registry`."""

__all__: list[str] = []
