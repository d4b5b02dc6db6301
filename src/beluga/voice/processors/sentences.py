"""Sentence aggregation: LLM deltas in, one :class:`TextFrame` per sentence out.

TTS engines speak best (and start sooner) a sentence at a time. A period ends a sentence only
when whitespace follows and the next word does not start in lower case, and not after a known
abbreviation ("Dr.", "e.g.") or an initial ("J."); decimals ("3.14") never split because no
whitespace follows the point. ``!``, ``?``, ``…`` and line breaks end a sentence when
whitespace follows. The rest is held until more text or the end of the reply flushes it.
"""

from __future__ import annotations

import re

from beluga.voice.frames import LLMDeltaFrame, LLMReplyEndFrame, TextFrame
from beluga.voice.pipeline import FrameProcessor, handles

__all__ = ["ABBREVIATIONS", "SentenceAggregator", "split_sentences"]

ABBREVIATIONS = frozenset(
    {
        "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "vs", "etc", "e.g", "i.e", "approx",
        "no", "fig", "inc", "ltd", "co", "corp", "mt", "jan", "feb", "mar", "apr", "jun", "jul",
        "aug", "sep", "sept", "oct", "nov", "dec", "a.m", "p.m", "u.s", "cf", "al",
    }
)  # fmt: skip
_END = re.compile(r"([.!?…。！？]+)([\"'”’)\]]*)(\s+)|\n\s*")
_WORD_BEFORE = re.compile(r"(\S+)$")


def split_sentences(text: str) -> tuple[list[str], str]:
    """Split ``text`` into complete sentences and the unfinished rest (kept verbatim)."""
    sentences: list[str] = []
    start = 0
    for match in _END.finditer(text):
        if match.group(1) is not None:
            cut = match.end(2)
            if match.group(1)[-1] == "." and not _period_ends(text, start, match):
                continue
        else:
            cut = match.start()
        sentence = text[start:cut].strip()
        if sentence:
            sentences.append(sentence)
        start = match.end()
    return sentences, text[start:]


def _period_ends(text: str, start: int, match: re.Match[str]) -> bool:
    after = match.end()
    if after >= len(text):
        return False  # cannot tell yet: the next word decides
    if text[after].islower():
        return False  # "e.g. apples", "approx. five"
    if len(match.group(1)) > 1:
        return True  # "..." or "?." ends a sentence
    before = _WORD_BEFORE.search(text, start, match.start())
    if before is None:
        return True
    word = before.group(1).lower().lstrip("([\"'")
    if word in ABBREVIATIONS:
        return False
    return not (len(word) == 1 and word.isalpha())  # an initial: "J. Smith"


class SentenceAggregator(FrameProcessor):
    """Collect a reply's deltas; push each finished sentence as a :class:`TextFrame`."""

    order = 650
    interruptible = True

    def __init__(self) -> None:
        super().__init__(name="sentences")
        self._buffer = ""

    @handles(LLMDeltaFrame)
    async def on_delta(self, frame: LLMDeltaFrame) -> None:
        self._buffer += frame.text
        sentences, self._buffer = split_sentences(self._buffer)
        for sentence in sentences:
            await self.push(TextFrame(sentence))

    @handles(LLMReplyEndFrame)
    async def on_reply_end(self, frame: LLMReplyEndFrame) -> None:
        await self._flush()
        await self.push(frame)

    async def _flush(self) -> None:
        sentences, rest = split_sentences(self._buffer)
        self._buffer = ""
        for sentence in [*sentences, rest.strip()]:
            if sentence:
                await self.push(TextFrame(sentence))

    async def on_interrupt(self) -> None:
        self._buffer = ""

    async def on_end(self) -> None:
        await self._flush()
