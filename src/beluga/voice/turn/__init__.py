"""Turn detection: has the user finished speaking? (silence timeout, or the smart-turn model)."""

from beluga.voice.turn.base import TurnDetector, TurnPrediction
from beluga.voice.turn.processor import TurnProcessor
from beluga.voice.turn.registry import create, registry

__all__ = ["TurnDetector", "TurnPrediction", "TurnProcessor", "create", "registry"]
