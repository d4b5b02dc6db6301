"""Sentence splitting and the aggregator processor."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from beluga.voice.frames import LLMDeltaFrame, LLMReplyEndFrame, TextFrame
from beluga.voice.processors.sentences import SentenceAggregator, split_sentences
from beluga.voice.testing import run_processor


def test_split_handles_abbreviations_decimals_and_initials() -> None:
    assert split_sentences("Hello there. How are you? I am") == (
        ["Hello there.", "How are you?"],
        "I am",
    )
    assert split_sentences("Dr. Smith paid 3.50 for it. Yes! ")[0] == [
        "Dr. Smith paid 3.50 for it.",
        "Yes!",
    ]
    assert split_sentences("Use e.g. apples. Then J. Smith came. And")[0] == [
        "Use e.g. apples.",
        "Then J. Smith came.",
    ]
    assert split_sentences("It costs 3.")[0] == []  # cannot tell yet


@given(st.text(alphabet="ab .!?\n3", max_size=80))
def test_split_loses_no_text(text: str) -> None:
    sentences, rest = split_sentences(text)
    assert "".join(sentences).replace(" ", "").replace("\n", "") + rest.replace(" ", "").replace(
        "\n", ""
    ) == text.replace(" ", "").replace("\n", "")


async def test_aggregator_emits_sentences_and_flushes_at_reply_end() -> None:
    deltas = ["Hi the", "re. How a", "re you? Fi", "ne"]
    down, _ = await run_processor(
        SentenceAggregator(), [*(LLMDeltaFrame(d) for d in deltas), LLMReplyEndFrame("x")]
    )
    assert down == [
        TextFrame("Hi there."),
        TextFrame("How are you?"),
        TextFrame("Fine"),
        LLMReplyEndFrame("x"),
    ]
