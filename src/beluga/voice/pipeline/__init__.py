"""The frame pipeline: processors (``@handles`` handlers, default forwarding) and the runner."""

from beluga.voice.pipeline._processor import Direction, FrameProcessor, ProcessorStats, handles
from beluga.voice.pipeline._runner import Pipeline

__all__ = ["Direction", "FrameProcessor", "Pipeline", "ProcessorStats", "handles"]
