"""The shared models of a partition, wired end to end: the replay learns PD labels and anomaly samples
a day at a time, scores with them, and gives the same records however it is run.

The seeded stream (tests/streams_data.py) has borrowers that reach 90 DPD and
many that repay; with a low ``pd_min_positives`` the learned PD gets weight
and changes the risk scores of the records.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import tempfile
from pathlib import Path

import msgspec
from streams_data import seeded_stream

from alerts.rules import load_rules
from streams.core import Policy
from streams.processor import Processor
from streams.replay import JsonlSink, replay
from streams.settings import Settings

UNTIL = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)
LINES = seeded_stream(borrowers=140, seed=7)


def policy(min_positives: int = 2, anomaly: bool = False) -> Policy:
    p = dataclasses.replace(Settings().policy(), pd_min_positives=min_positives, pd_prior_labels=20)
    if anomaly:
        p = dataclasses.replace(p, rules=load_rules(include_disabled=True))
    return p


def run(processor: Processor, lines: list[bytes] = LINES) -> dict[str, bytes]:
    with tempfile.TemporaryDirectory() as tmp:
        sink = JsonlSink(Path(tmp))
        try:
            replay(enumerate(lines, 1), processor, sink, source="s", until=UNTIL)
        finally:
            sink.close()
        return {p.name: p.read_bytes() for p in Path(tmp).iterdir()}


@functools.cache
def learned() -> tuple[Processor, dict[str, bytes]]:
    processor = Processor(policy(), partitions=2)
    return processor, run(processor)


def risk_scores(files: dict[str, bytes]) -> list[float]:
    return [msgspec.json.decode(x)["risk_score"] for x in files["alerts.jsonl"].splitlines()]


def test_each_partition_learns_defaults_and_survivals_from_the_stream_itself():
    processor, _ = learned()
    assert sorted(processor.parts) == [0, 1]
    for part in processor.parts.values():
        assert part.pd.positives >= 2 and part.pd.labels > 10 * part.pd.positives
        assert part.pd.weight > 0.5


def test_the_learned_default_model_changes_the_risk_scores_of_the_records():
    _, files = learned()
    prior = run(Processor(policy(min_positives=10**9), partitions=2))
    assert prior["alerts.jsonl"] != files["alerts.jsonl"]
    assert len(risk_scores(prior)) == len(risk_scores(files))  # the same alerts, other scores
    assert risk_scores(prior) != risk_scores(files)
    assert all(0.0 <= s <= 1.0 for s in risk_scores(files))


def test_a_replay_stopped_and_restored_from_its_states_and_checkpoints_gives_the_uninterrupted_records():
    """Stop half-way; restore the borrowers' states and the partitions' checkpoints (board, models) into a new
    processor, as a restarted worker does; go on: the records are those of the run that never stopped."""
    _, whole = learned()
    half = len(LINES) // 2
    with tempfile.TemporaryDirectory() as tmp:
        first, second = Path(tmp) / "first", Path(tmp) / "second"
        states: dict[str, bytes] = {}
        processor = Processor(policy(), partitions=2)
        sink = JsonlSink(first)
        replay(enumerate(LINES[:half], 1), processor, sink, source="s", states=states, finish=False)
        sink.close()
        checkpoints = {p: part.encode() for p, part in processor.parts.items()}
        restored = Processor(policy(), partitions=2)
        restored.parts = {p: restored.new_part(c) for p, c in checkpoints.items()}
        sink = JsonlSink(second)
        replay(enumerate(LINES[half:], half + 1), restored, sink, source="s", until=UNTIL,
               states={k: bytes(v) for k, v in states.items()})
        sink.close()
        for name in ("alerts.jsonl", "tasks.jsonl", "limits.jsonl"):
            assert (first / name).read_bytes() + (second / name).read_bytes() == whole[name], name
        assert (second / "borrowers.jsonl").read_bytes() == whole["borrowers.jsonl"]


def test_with_the_anomaly_rule_on_the_anomaly_model_learns_a_sample_per_borrower_day_and_scores():
    processor = Processor(policy(anomaly=True), partitions=1)
    files = run(processor, LINES[:3500])
    part = processor.parts[0]
    assert part.anomaly.seen > 1000
    assert b'"type":"anomaly"' in files["alerts.jsonl"]
