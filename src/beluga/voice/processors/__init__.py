"""The session's own steps: user turns and barge-in, responder, sentence aggregation, output."""

from beluga.voice.processors.output import OutputProcessor
from beluga.voice.processors.responder import Responder, ResponderProcessor
from beluga.voice.processors.sentences import ABBREVIATIONS, SentenceAggregator, split_sentences
from beluga.voice.processors.state import STAGES, LatencyReport, SessionState, TurnLatency
from beluga.voice.processors.user_turn import (
    BACKCHANNEL_WORDS,
    InterruptionPolicy,
    UserTurnProcessor,
    is_backchannel,
)

__all__ = [
    "ABBREVIATIONS",
    "BACKCHANNEL_WORDS",
    "STAGES",
    "InterruptionPolicy",
    "LatencyReport",
    "OutputProcessor",
    "Responder",
    "ResponderProcessor",
    "SentenceAggregator",
    "SessionState",
    "TurnLatency",
    "UserTurnProcessor",
    "is_backchannel",
    "split_sentences",
]
