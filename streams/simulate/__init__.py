"""A synthetic SME loan portfolio: contract events plus ground-truth labels.

Pure generation, no Kafka: :func:`simulate` returns the events (plain dicts
exactly as ``shared/contracts/events.md`` describes them: money as decimal
strings with two decimals, ``occurred_at`` RFC 3339 with +08:00, event ids
``{borrower}-{kind}-{n}``), sorted by ``occurred_at`` (ties keep borrower
order, then the order they were made), and one label per borrower;
:func:`write` stores both as JSON Lines. ``python -m streams.simulate`` does
both and prints the calibration against Olist.

Made: ``loan_opened``, ``installment_due`` (revolving statements),
``drawdown``, ``repayment``, ``loan_closed`` (repaid), ``revenue``,
``cashflow``. Not made: ``collection_outcome`` (collectors report those) and
``schedule_changed`` (restructuring is a lender's decision).

Labels carry ``borrower_id, sector, story, defaulted, default_date`` (the
day 90 days past due is reached, within the window), ``onset_date`` (null
unless in trouble), ``recovered`` and ``benign_date`` (the day of a benign
shock, to measure false alarms). Nothing about the story is in the events.

Modules: ``portfolio`` (who), ``revenue`` (sales), ``loans`` (products and
ledgers), ``cashflow`` (the account), ``stories`` (what happens),
``borrower`` (one borrower's days), ``calibration`` (comparison with Olist).

Each borrower draws from its own ``numpy`` generator seeded with
``(seed, index)``, so the same seed gives byte-identical files and borrower
``i`` is the same whatever the portfolio size.

>>> events, labels = simulate(3, months=2, seed=1, progress=False)
>>> events == sorted(events, key=lambda e: e["occurred_at"]), len(labels)
(True, 3)
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from datetime import date
from operator import itemgetter
from pathlib import Path
from typing import Any

import msgspec
from tqdm import tqdm

from .borrower import simulate_borrower
from .days import make_calendar
from .emit import Event

__all__ = ["simulate", "write"]


def simulate(n_borrowers: int, months: int, seed: int, start: date = date(2025, 1, 1),
             progress: bool = True) -> tuple[list[Event], list[dict[str, Any]]]:
    """Events of ``n_borrowers`` over ``months`` from ``start``, in event-time order, and labels."""
    if n_borrowers < 0 or seed < 0:
        raise ValueError("n_borrowers and seed must be >= 0")
    cal = make_calendar(start, months)
    events: list[Event] = []
    labels: list[dict[str, Any]] = []
    bar = tqdm(range(n_borrowers), desc="simulate", unit="borrower", file=sys.stderr,
               disable=not progress, leave=False)
    for index in bar:
        borrower_events, label = simulate_borrower(index, seed, cal)
        events.extend(borrower_events)
        labels.append(label)
    events.sort(key=itemgetter("occurred_at"))  # stable: ties keep borrower, then making order
    return events, labels


def write(out_dir: str | Path, events: Iterable[Event], labels: Iterable[dict[str, Any]],
          progress: bool = True, chunk: int = 100_000) -> tuple[Path, Path]:
    """Write ``events.jsonl`` and ``labels.jsonl`` into ``out_dir``; return their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    encoder = msgspec.json.Encoder()
    events_path, labels_path = out / "events.jsonl", out / "labels.jsonl"
    events = events if isinstance(events, list) else list(events)
    with open(events_path, "wb") as f, tqdm(total=len(events), desc="write", unit="event", file=sys.stderr,
                                            disable=not progress, leave=False) as bar:
        for i in range(0, len(events), chunk):
            part = events[i:i + chunk]
            f.write(encoder.encode_lines(part))
            bar.update(len(part))
    with open(labels_path, "wb") as f:
        f.write(encoder.encode_lines(list(labels)))
    return events_path, labels_path
