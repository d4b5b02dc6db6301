"""Rendering a chat template: Beluga's ``ChatTemplate`` next to LangChain's
``ChatPromptTemplate``, the same messages (a system turn, two few-shot pairs, a user turn, three
variables). Medians of interleaved rounds; LangChain is measured only where it is installed
(``.venv-bench``)."""

from __future__ import annotations

import importlib.util
import statistics
import time
from collections.abc import Callable
from typing import Any

VALUES = {"persona": "a support agent", "product": "Beluga", "question": "How do I reset it?"}
EXAMPLES = [
    {"input": "Where is my order?", "output": "Let me check."},
    {"input": "Can I return it?", "output": "Yes, within 30 days."},
]


def _beluga() -> Callable[[], object]:
    from beluga.prompts import ChatTemplate, FewShot

    t = ChatTemplate(
        [
            ("system", "You are {{ persona }} for {{ product }}."),
            FewShot(EXAMPLES),
            ("user", "{{ question }}"),
        ]
    )
    return lambda: t.render(**VALUES)


def _langchain() -> Callable[[], object] | None:
    if importlib.util.find_spec("langchain_core") is None:
        return None
    from langchain_core.prompts import ChatPromptTemplate, FewShotChatMessagePromptTemplate

    shot = FewShotChatMessagePromptTemplate(
        examples=EXAMPLES,
        example_prompt=ChatPromptTemplate.from_messages([("human", "{input}"), ("ai", "{output}")]),
    )
    t = ChatPromptTemplate.from_messages(
        [("system", "You are {persona} for {product}."), shot, ("human", "{question}")]
    )
    return lambda: t.format_messages(**VALUES)


def run(number: int = 2000, rounds: int = 9) -> dict[str, Any]:
    contenders = {"beluga": _beluga()}
    if (lc := _langchain()) is not None:
        contenders["langchain"] = lc
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    names = list(contenders)
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            fn = contenders[name]
            start = time.perf_counter()
            for _ in range(number):
                fn()
            samples[name].append((time.perf_counter() - start) / number)
    out: dict[str, Any] = {f"{n}_us": statistics.median(s) * 1e6 for n, s in samples.items()}
    if "langchain" in samples:
        out["ratio_vs_langchain"] = statistics.median(
            b / lc for b, lc in zip(samples["beluga"], samples["langchain"], strict=True)
        )
    return out


if __name__ == "__main__":
    print(run())
