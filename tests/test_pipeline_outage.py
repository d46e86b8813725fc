"""A POS feed carrying 520 borrowers breaks for 12 days: one ops alert, no per-borrower dormancy warnings.

The story is the event file ``tests/scenarios/pipeline_outage_500_pos.jsonl.gz``
(written by ``tests/scenarios/make_outage_story.py``, which tells it), replayed
exactly as ``loanwatch replay`` runs it (default settings: 8 partitions, events
placed by Kafka's default partitioner) with every alert rule enabled, and
checked on the alert records.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import importlib.util
import json
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from alerts.rules import load_rules
from streams.core import Policy
from streams.processor import Processor
from streams.replay import JsonlSink, read_lines, replay
from streams.settings import Settings

HERE = Path(__file__).resolve().parent / "scenarios"
_spec = importlib.util.spec_from_file_location("make_outage_story", HERE / "make_outage_story.py")
assert _spec is not None and _spec.loader is not None
story_file = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(story_file)
FILE, OUTAGE, BACK, UNTIL, GONE = (story_file.FILE, story_file.OUTAGE, story_file.BACK, story_file.UNTIL,
                                   story_file.GONE)


def lines() -> list[bytes]:
    """The story's event lines, as ``loanwatch replay`` reads them from the file."""
    return [raw for _, raw in read_lines(FILE)]


def test_the_event_file_is_what_its_script_writes():
    # the lines, not the compressed bytes: another zlib may compress the same lines differently
    assert lines() == story_file.story(), "rerun tests/scenarios/make_outage_story.py"


def policy() -> Policy:
    return dataclasses.replace(Settings().policy(), rules=load_rules(include_disabled=True))


@functools.cache
def alerts() -> tuple[dict[str, Any], ...]:
    with tempfile.TemporaryDirectory() as tmp:
        sink = JsonlSink(Path(tmp))
        try:
            replay(read_lines(FILE), Processor(policy(), partitions=8), sink, source=FILE.name,
                   until=dt.datetime(UNTIL.year, UNTIL.month, UNTIL.day, tzinfo=dt.timezone(dt.timedelta(hours=8))))
        finally:
            sink.close()
        return tuple(json.loads(x) for x in (Path(tmp) / "alerts.jsonl").read_text().splitlines())


def day_of(record: dict[str, Any]) -> dt.date:
    return dt.date.fromisoformat(record["updated_at"][:10])


def test_the_outage_is_one_ops_alert_that_opens_the_day_after_the_feed_stops_and_resolves_when_it_is_back():
    ops = [a for a in alerts() if a["type"] == "ops_feed_outage"]
    assert {a["alert_id"] for a in ops} == {ops[0]["alert_id"]}, "one alert id, whichever partitions see it"
    assert ops[0]["borrower_id"] == "feed:pos" and ops[0]["severity"] == "critical"
    opened = min(day_of(a) for a in ops if a["status"] == "open")
    resolved = [a for a in ops if a["status"] == "resolved"]
    assert opened == OUTAGE + dt.timedelta(days=1)  # the day of the outage is judged once it is over
    assert resolved and BACK < day_of(resolved[-1]) <= BACK + dt.timedelta(days=2)
    reason = ops[0]["reasons"][0]
    assert reason["code"] == "feed_outage" and reason["value"] >= 0.9 and "数据源" in reason["message_zh"]


def test_no_borrower_of_the_broken_source_is_warned_while_it_is_broken():
    during = [a for a in alerts() if a["type"] != "ops_feed_outage" and OUTAGE <= day_of(a) <= BACK
              and a["borrower_id"] != "B-GONE"]  # warned before the outage: its reminders go on
    assert during == []
    warned = Counter(a["borrower_id"] for a in alerts() if a["type"] in ("dormancy", "revenue_decline"))
    assert set(warned) <= {"B-GONE", "B-QUIT"}, warned


def test_a_borrower_silent_before_the_outage_is_warned_as_usual():
    gone = [a for a in alerts() if a["borrower_id"] == "B-GONE" and a["type"] == "dormancy"]
    # the floor is a threshold of 7 days: warned at the start of the ninth, after eight complete quiet days
    assert gone and min(day_of(a) for a in gone) == GONE + dt.timedelta(days=9)


def test_a_borrower_who_never_came_back_is_warned_once_the_feed_is_repaired_counting_only_its_own_silence():
    quit_ = [a for a in alerts() if a["borrower_id"] == "B-QUIT" and a["type"] == "dormancy"]
    assert quit_, "still silent after the repair: warned"
    first = min(day_of(a) for a in quit_)
    # silent from 05-20; 05-20..05-31 were outage days; then its own 7-day floor
    assert BACK + dt.timedelta(days=7) <= first <= BACK + dt.timedelta(days=8), first


def test_without_a_board_the_same_silence_warns_every_borrower_the_control():
    """The control: the same story judged one borrower at a time (no partition board) warns them all."""
    from streams.core import step
    from streams.core.state import BorrowerState
    from streams.decode import decode

    p = policy()
    states: dict[str, BorrowerState] = {}
    warned = set()
    for raw in lines():
        if not raw.startswith(b'{"schema": "revenue/1", "event_id": "rv-pos-0'):  # the first 100 POS sellers
            continue
        event = decode(raw, source="s", partition=0, offset=0, received_at="")
        s = states.setdefault(event.borrower_id, BorrowerState(borrower_id=event.borrower_id))
        for out in step(s, event, p):
            if getattr(out, "type", "") == "dormancy":
                warned.add(out.borrower_id)
    assert len(warned) == 98  # pos-002 .. pos-099 (pos-000 and pos-001 are B-GONE and B-QUIT)


# --------------------------------------------------------------------------- the board on its own

def test_a_source_quiet_every_sunday_is_not_in_an_outage_on_sundays():
    from detectors import outage

    board, monday = outage.FeedBoard(), dt.date(2026, 6, 1).toordinal()
    judged = []
    for day in range(monday, monday + 42):
        for _ in range(0 if (day - monday) % 7 == 6 else 50):
            outage.note(board, "invoice", day)
        judged += outage.close(board, day)
    assert judged and not any(d.outage for d in judged)


def test_a_report_that_arrives_after_its_day_was_judged_does_not_change_the_judgement():
    from detectors import outage

    board, day = outage.FeedBoard(), dt.date(2026, 6, 1).toordinal()
    for d in range(day, day + 29):
        for _ in range(30):
            outage.note(board, "pos", d)
    outage.close(board, day + 28)
    [judged] = outage.close(board, day + 29)  # nobody reported on day + 29
    assert judged.outage
    assert not outage.note(board, "pos", day + 29)  # the backfill comes late: not counted
    assert outage.excused(board, "pos", day + 29, day + 29) == 1
    again = outage.decode(outage.encode(board))  # what the worker checkpoints
    assert again == board and outage.ongoing(again, "pos") == day + 29


def test_spring_festival_quiet_is_neither_an_outage_nor_its_end():
    from detectors import outage

    board, start = outage.FeedBoard(), dt.date(2026, 1, 5).toordinal()
    festival = dt.date(2026, 2, 17).toordinal()
    judged = []
    for day in range(start, festival + 30):
        quiet = festival - 7 <= day <= festival + 7
        for _ in range(2 if quiet else 40):
            outage.note(board, "pos", day)
        judged += outage.close(board, day)
    assert not any(d.outage for d in judged)
    assert not any(festival - 3 <= d.day <= festival + 3 for d in judged)  # the festival's days are not judged
