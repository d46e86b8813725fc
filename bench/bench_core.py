"""Core throughput and state size: the replay loop over a seeded stream (no broker).

Run: .venv/bin/python bench/bench_core.py [--borrowers 520] [--repeat 3]
Prints µs per event for decode+step+encode (the per-message work of the live
worker, less Kafka) and the serialized per-borrower state size.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from streams_data import seeded_stream  # noqa: E402

from streams.decode import DeadLetter  # noqa: E402
from streams.processor import Message, Processor  # noqa: E402
from streams.settings import load  # noqa: E402


def run(lines: list[bytes], processor: Processor) -> tuple[float, dict[str, bytes]]:
    states: dict[str, bytes] = {}
    started = time.perf_counter()
    for offset, raw in enumerate(lines):
        msg = Message(raw, "bench", 0, offset, "")
        event = processor.decode(msg)
        if isinstance(event, DeadLetter):
            continue
        result = processor.handle(event, states.get(event.borrower_id), msg)
        if result.state is not None:
            states[event.borrower_id] = result.state
    return time.perf_counter() - started, states


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--borrowers", type=int, default=520)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    lines = seeded_stream(borrowers=args.borrowers, seed=7)
    processor = Processor(load(env={}).policy())
    times = []
    states: dict[str, bytes] = {}
    for _ in range(args.repeat):
        elapsed, states = run(lines, processor)
        times.append(elapsed)
    sizes = sorted(len(s) for s in states.values())
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip()
    best = min(times)
    print(f"commit {commit} · {platform.node()} · {platform.processor() or platform.machine()} · "
          f"python {platform.python_version()}")
    print(f"events {len(lines):,} · borrowers {len(states):,}")
    print(f"decode+step+encode: best {best / len(lines) * 1e6:.1f} µs/event "
          f"(median {statistics.median(times) / len(lines) * 1e6:.1f}), {len(lines) / best:,.0f} events/s")
    print(f"state bytes: median {sizes[len(sizes) // 2]}, p99 {sizes[int(len(sizes) * 0.99)]}, max {sizes[-1]}")


if __name__ == "__main__":
    main()
