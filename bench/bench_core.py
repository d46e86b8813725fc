"""Core throughput and state size: the replay loop over a seeded stream (no broker).

Run: .venv/bin/python bench/bench_core.py [--borrowers 520] [--repeat 3]
Prints µs per event for the replay loop (decode, step, encode, the partitions'
day ends and the ticks they bring: the per-message work of the live worker,
less Kafka) and the serialized per-borrower state size at the end of the
stream (events still held for the allowed lateness included).
"""

from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from streams_data import seeded_stream  # noqa: E402

from streams.processor import Processor  # noqa: E402
from streams.replay import JsonlSink, replay  # noqa: E402
from streams.settings import load  # noqa: E402


def run(lines: list[bytes], processor: Processor) -> tuple[float, dict[str, bytes]]:
    """The replay loop (the worker's loop less Kafka: decode, step, encode, day ends, ticks), files in a temp dir."""
    states: dict[str, bytes] = {}
    with tempfile.TemporaryDirectory() as tmp:
        sink = JsonlSink(Path(tmp))
        started = time.perf_counter()
        replay(enumerate(lines, 1), processor, sink, source="bench", states=states, finish=False)
        elapsed = time.perf_counter() - started
        sink.close()
    return elapsed, states


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--borrowers", type=int, default=520)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    lines = seeded_stream(borrowers=args.borrowers, seed=7)
    times = []
    states: dict[str, bytes] = {}
    for _ in range(args.repeat):
        elapsed, states = run(lines, Processor(load(env={}).policy()))
        times.append(elapsed)
    sizes = sorted(len(s) for s in states.values())
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip()
    best = min(times)
    print(f"commit {commit} · {platform.node()} · {platform.processor() or platform.machine()} · "
          f"python {platform.python_version()}")
    print(f"events {len(lines):,} · borrowers {len(states):,}")
    print(f"replay loop: best {best / len(lines) * 1e6:.1f} µs/event "
          f"(median {statistics.median(times) / len(lines) * 1e6:.1f}), {len(lines) / best:,.0f} events/s")
    print(f"state bytes: median {sizes[len(sizes) // 2]}, p99 {sizes[int(len(sizes) * 0.99)]}, max {sizes[-1]}")


if __name__ == "__main__":
    main()
