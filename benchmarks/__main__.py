"""``make bench``: print framework-overhead figures and ratios against peers."""

from __future__ import annotations

import argparse
import json

from benchmarks import overhead


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=200, help="calls per round")
    parser.add_argument("--rounds", type=int, default=15, help="interleaved rounds")
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args()
    results = overhead.run(args.calls, args.rounds)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    g, s, t = results["generate"], results["stream"], results["tracing_no_sdk"]
    print("Beluga vs raw openai SDK, one local OpenAI-compatible server (medians)")
    print(
        f"  generate   raw {g['raw_ms']:.3f} ms  beluga {g['beluga_ms']:.3f} ms  "
        f"ratio {g['ratio']:.3f}  (target <= 1.05); framework's own cost {g['own_us']:.1f} us"
    )
    print(
        f"  stream     raw {s['raw_ms']:.3f} ms  beluga {s['beluga_ms']:.3f} ms  "
        f"ratio {s['ratio']:.3f}; per chunk: {s['per_chunk_vs_raw_us']:+.2f} us vs raw SDK, "
        f"framework's own {s['per_chunk_own_us']:+.2f} us ({overhead.CHUNKS} chunks)"
    )
    print(
        f"  tracing, no OTel SDK: {t['operation_us']:.2f} us per span+metrics; "
        f"{t['base_class_us']:.2f} us per generate through the traced base class"
    )


if __name__ == "__main__":
    main()
