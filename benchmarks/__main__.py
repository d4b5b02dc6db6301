"""``make bench``: framework overhead, peers, routing, metrics, agent-loop, voice-session,
graph and vector-store figures (medians, ratios)."""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

from benchmarks import (
    agents,
    graphs,
    metrics_summary,
    overhead,
    peers,
    prompts,
    router,
    vectorstores,
    voice,
)


def _print(results: dict[str, Any]) -> None:
    g, s, t = (results["overhead"][k] for k in ("generate", "stream", "tracing_no_sdk"))
    print("Beluga vs the raw openai SDK, one local OpenAI-compatible server (medians)")
    print(
        f"  generate  raw {g['raw_ms']:.3f} ms, beluga {g['beluga_ms']:.3f} ms: "
        f"ratio {g['ratio']:.3f} (target <= 1.05); framework's own cost {g['own_us']:.1f} us"
    )
    print(
        f"  stream    raw {s['raw_ms']:.3f} ms, beluga {s['beluga_ms']:.3f} ms: "
        f"ratio {s['ratio']:.3f}; per chunk {s['per_chunk_vs_raw_us']:+.2f} us vs raw SDK, "
        f"framework's own {s['per_chunk_own_us']:+.2f} us ({overhead.CHUNKS} chunks)"
    )
    print(
        f"  tracing with no OTel SDK: {t['operation_us']:.2f} us per span + metrics; "
        f"{t['base_class_us']:.2f} us per generate through the traced base class"
    )
    for kind in ("generate", "stream"):
        rows = results["peers"][kind]
        print(f"Peers, {kind} (ratio to raw openai, median of interleaved rounds)")
        for name, row in sorted(rows.items(), key=lambda kv: kv[1]["ratio_vs_raw"]):
            print(f"  {name:12} {row['ms']:8.3f} ms  {row['ratio_vs_raw']:.2f}x")
    r = results["router"]
    print(
        f"Router: {r['routing_us']:.2f} us added per routed call (target < 10 us); "
        f"chain selection alone {r['select_us']:.3f} us"
    )
    m = results["metrics"]
    worst = max(m["summary_ms"].values())
    print(
        f"Metrics: summary over {m['rows']:,} rows {m['summary_ms']['all']:.1f} ms "
        f"(worst filter {worst:.1f} ms; target < 200 ms); CLI end to end "
        f"{m['cli_summary_ms']['all']:.0f} ms; record() {m['record_us']:.2f} us"
    )
    agents.report(results["agents"])
    p = results["prompts"]
    lc = f", LangChain {p['langchain_us']:.1f} us" if "langchain_us" in p else ""
    ratio = f" (ratio {p['ratio_vs_langchain']:.2f})" if "ratio_vs_langchain" in p else ""
    print(f"Prompts: chat template render, Beluga {p['beluga_us']:.1f} us{lc}{ratio}")
    vectorstores.report(results["vectorstores"])
    voice.report(results["voice"])
    graphs.report(results["graphs"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=200, help="calls per round")
    parser.add_argument("--rounds", type=int, default=15, help="interleaved rounds")
    parser.add_argument("--vectors", type=int, default=100_000, help="vector-store size")
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args()
    results = {
        "overhead": overhead.run(args.calls, args.rounds),
        "peers": peers.run(max(args.calls // 2, 20), args.rounds),
        "router": router.run(),
        "metrics": metrics_summary.run(),
        "agents": agents.run(max(args.calls // 2, 20), args.rounds),
        "prompts": prompts.run(),
        "vectorstores": asyncio.run(vectorstores.run(args.vectors)),
        # The full sweep is `python -m benchmarks.voice`; here a short one (~1.5 min).
        "voice": voice.run([1, 100, 200], [1, 25]),
        "graphs": graphs.run(max(args.calls // 2, 20), max(args.rounds // 2, 5)),
    }
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        _print(results)


if __name__ == "__main__":
    main()
