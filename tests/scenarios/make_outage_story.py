"""Write the pipeline-outage story: 620 sellers of two sources, the POS feed silent for 12 days.

    python tests/scenarios/make_outage_story.py    # rewrites pipeline_outage_500_pos.jsonl.gz next to it

An event file like the single-borrower stories (contract events in event-time
order, what ``loanwatch replay`` reads; gzip-compressed: 49,488 events), but
its expectations are about many borrowers at once, so they are the assertions
of ``tests/test_pipeline_outage.py`` rather than an ``.expect.json``:

- 520 POS daily sellers and 100 e-commerce sellers report every evening from
  2026-04-01; the POS feed delivers nothing from 2026-05-20 to 2026-05-31 and
  is back on 2026-06-01 (without the missed days): one ``ops_feed_outage``
  alert, no per-borrower dormancy or revenue warning;
- one POS seller (B-GONE) stopped on 2026-05-05, before the outage: its
  dormancy warning comes as usual;
- one POS seller (B-QUIT) stopped with the outage and never came back: its
  warning is held back during the outage and comes once the feed is repaired,
  when its own silence (outage days not counted) passes its threshold.

Deterministic (no randomness, gzip without a timestamp): the file does not
change unless the story does, and a test checks that its lines match this script.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
FILE = HERE / "pipeline_outage_500_pos.jsonl.gz"
FIRST, OUTAGE, BACK, UNTIL = (dt.date(2026, 4, 1), dt.date(2026, 5, 20), dt.date(2026, 6, 1),
                              dt.date(2026, 6, 30))
GONE = dt.date(2026, 5, 5)


def story() -> list[bytes]:
    """The event lines, in event-time order."""
    lines = []
    day = FIRST
    while day < UNTIL:
        for source, n in (("pos", 520), ("ecommerce", 100)):
            if source == "pos" and OUTAGE <= day < BACK:
                continue
            for i in range(n):
                borrower = f"{source}-{i:03d}"
                if source == "pos" and i == 0:
                    borrower = "B-GONE"
                    if day > GONE:
                        continue
                if source == "pos" and i == 1:
                    borrower = "B-QUIT"
                    if day >= OUTAGE:
                        continue
                amount = 5000 + (i * 37 + day.toordinal() * 11) % 900
                lines.append(json.dumps({
                    "schema": "revenue/1", "event_id": f"rv-{borrower}-{day}", "borrower_id": borrower,
                    "occurred_at": f"{day}T23:59:59+08:00", "amount": f"{amount}.00", "period": "day",
                    "source": source}).encode())
        day += dt.timedelta(days=1)
    return lines


def compressed() -> bytes:
    return gzip.compress(b"".join(line + b"\n" for line in story()), compresslevel=9, mtime=0)


if __name__ == "__main__":
    FILE.write_bytes(compressed())
    print(f"wrote {FILE} ({FILE.stat().st_size:,} bytes)")
