"""Text-to-speech engines, one module each, loaded lazily
through :mod:`beluga.voice.tts.registry`."""

__all__: list[str] = []
