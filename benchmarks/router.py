"""Router selection overhead: a routed call minus the same call made on the model directly.

The model is ``TestModel`` (no I/O), so the difference is what routing adds per call: chain
lookup, cooldown filtering, settings merge, the ``route`` span and the routing log decision.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

from benchmarks._harness import micro


def run(calls: int = 20_000, rounds: int = 9) -> dict[str, Any]:
    from beluga.llms import ModelSettings
    from beluga.llms.router import Role, Router
    from beluga.llms.testing import TestModel
    from beluga.schema import Message

    models = {name: TestModel(name, text="ok") for name in ("a", "b", "c")}
    router = Router(
        models,
        roles={
            "planner": Role("a", ["b"], ModelSettings(temperature=0.2)),
            "coder": Role("b", ["c"]),
            "reviewer": Role("c"),
            "clarifier": Role("planner"),
        },
        default="a",
    )
    prompt = [Message.user("hi")]
    direct = models["a"]

    async def loop(routed: bool) -> float:
        start = time.perf_counter()
        for _ in range(calls):
            if routed:
                await router.generate(prompt, role="planner")
            else:
                await direct.generate(prompt, settings=ModelSettings(temperature=0.2))
        return (time.perf_counter() - start) / calls

    async def measure() -> list[float]:
        diffs = []
        for _ in range(rounds):
            diffs.append(await loop(True) - await loop(False))
        return diffs

    diffs = asyncio.run(measure())
    return {
        "routing_us": statistics.median(diffs) * 1e6,
        "select_us": micro(lambda: router.candidates("planner"), number=200_000) * 1e6,
    }
