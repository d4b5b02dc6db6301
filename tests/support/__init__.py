"""Helpers shared by the test suite (replay servers for recorded provider traffic)."""
