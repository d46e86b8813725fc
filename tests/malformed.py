"""Malformed input records for tests and benchmarks, and the contract's own examples.

``malformed_records(n, seed)`` cycles through the kinds of bad input the edge must
turn into dead letters; ``CATEGORIES`` maps each kind to the ``reason_class`` label
that ``streams.decode`` should give it.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CONTRACT = HERE.parent.parent / "shared" / "contracts" / "events.md"
CONTRACT_COPY = HERE / "data" / "contract_examples.jsonl"
LIMIT = 1_048_576

CATEGORIES: dict[str, str] = {
    "not_json": "not_json",
    "truncated_json": "not_json",
    "wrong_type": "wrong_type",
    "missing_field": "missing_field",
    "unknown_schema": "unknown_schema",
    "negative_amount": "invalid_value",
    "unparseable_timestamp": "bad_timestamp",
    "offsetless_timestamp": "bad_timestamp",
    "oversize": "oversize",
    "non_utf8": "not_json",
    "empty": "not_json",
    "not_object": "wrong_type",
    "borrower_id_too_long": "invalid_value",
}


def contract_examples() -> list[bytes]:
    """The example lines of the contract's ```json block (or the copy in tests/data)."""
    if CONTRACT.is_file():
        block = re.search(r"```json\n(.*?)```", CONTRACT.read_text(encoding="utf-8"), re.S)
        if block:
            return [line.encode() for line in block.group(1).splitlines() if line.strip()]
    return [line for line in CONTRACT_COPY.read_bytes().splitlines() if line.strip()]


def malformed_records(n: int, seed: int) -> list[tuple[bytes, str]]:
    """``n`` malformed records as ``(raw, category)``, cycling through ``CATEGORIES``.

    >>> [category for _, category in malformed_records(3, seed=1)]
    ['not_json', 'truncated_json', 'wrong_type']
    """
    rng = random.Random(seed)
    kinds = list(CATEGORIES)
    return [(_MAKERS[kinds[i % len(kinds)]](rng), kinds[i % len(kinds)]) for i in range(n)]


# --- valid starting points ----------------------------------------------------------------------

def _base(rng: random.Random) -> dict[str, Any]:
    borrower = f"B{rng.randrange(1, 10**6)}"
    day = rng.randrange(1, 28)
    envelope = {
        "event_id": f"ev-{rng.randrange(10**9)}",
        "borrower_id": borrower,
        "occurred_at": f"2026-03-{day:02d}T{rng.randrange(24):02d}:{rng.randrange(60):02d}:00+08:00",
    }
    amount = f"{rng.randrange(1, 10**6)}.{rng.randrange(100):02d}"
    loan = f"L{rng.randrange(10**5)}"
    bodies: list[dict[str, Any]] = [
        {"schema": "revenue/1", "amount": amount, "period": "day", "source": "pos"},
        {"schema": "repayment/1", "loan_id": loan, "amount": float(amount), "installment_seq": 2},
        {"schema": "drawdown/1", "loan_id": loan, "amount": amount},
        {"schema": "cashflow/1", "account_id": "A1", "direction": "in", "amount": amount,
         "counterparty_type": "customer"},
        {"schema": "installment_due/1", "loan_id": loan, "seq": 4, "due_date": f"2026-04-{day:02d}",
         "amount_due": amount},
        {"schema": "loan_opened/1", "loan_id": loan, "product": "term_loan", "principal": "60000.00",
         "credit_limit": "60000.00", "installments": [
             {"seq": s, "due_date": f"2026-{s + 3:02d}-05", "amount_due": "10300.00"} for s in range(1, 7)]},
    ]
    return {**bodies[rng.randrange(len(bodies))], **envelope}


def _dump(doc: Any) -> bytes:
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _money_path(doc: dict[str, Any]) -> tuple[dict[str, Any], str]:
    if "installments" in doc:
        return doc["installments"][0], "amount_due"
    return doc, "amount_due" if "amount_due" in doc else "amount"


# --- one maker per category ---------------------------------------------------------------------

def _not_json(rng: random.Random) -> bytes:
    good = _dump(_base(rng))
    return rng.choice([
        b"hello", b"<event schema='revenue/1'/>", b"{'schema': 'revenue/1'}", b"schema=revenue/1&amount=5",
        good.replace(b",", b";", 1), good[:-1] + b",}", good + b"}", good.replace(b'"amount":', b'"amount":NaN,"x":', 1)
        if b'"amount":' in good else b"NaN",
    ])


def _truncated(rng: random.Random) -> bytes:
    good = _dump(_base(rng))
    return good[: rng.randrange(1, len(good) - 1)]


def _wrong_type(rng: random.Random) -> bytes:
    doc = _base(rng)
    holder, field = _money_path(doc)
    choice = rng.randrange(5)
    if choice == 0:
        holder[field] = {"value": holder[field], "currency": "CNY"}
    elif choice == 1 and ("seq" in doc or "installments" in doc):
        target = doc if "seq" in doc else doc["installments"][0]
        target["seq"] = str(target["seq"])
    elif choice == 2:
        doc["event_id"] = rng.randrange(10**6)
    elif choice == 3:
        doc["occurred_at"] = 1_767_000_000 + rng.randrange(10**6)
    else:
        holder[field] = rng.choice([True, [1, 2], None])
    return _dump(doc)


def _missing_field(rng: random.Random) -> bytes:
    doc = _base(rng)
    required = ["schema", "event_id", "borrower_id", "occurred_at"] + {
        "revenue/1": ["amount"], "repayment/1": ["loan_id", "amount"], "drawdown/1": ["loan_id", "amount"],
        "cashflow/1": ["account_id", "direction", "amount"],
        "installment_due/1": ["loan_id", "seq", "due_date", "amount_due"],
        "loan_opened/1": ["loan_id", "principal", "credit_limit", "installments"],
    }[doc["schema"]]
    del doc[rng.choice(required)]
    return _dump(doc)


def _unknown_schema(rng: random.Random) -> bytes:
    doc = _base(rng)
    doc["schema"] = rng.choice(["revenue/2", "foo/9", "Revenue/1", "loan-opened/1", "payment/1", "", "revenue"])
    return _dump(doc)


def _negative_amount(rng: random.Random) -> bytes:
    doc = _base(rng)
    holder, field = _money_path(doc)
    holder[field] = rng.choice([f"-{holder[field]}", -5, -0.01, "-10400.00"])
    return _dump(doc)


def _unparseable_timestamp(rng: random.Random) -> bytes:
    doc = _base(rng)
    bad = rng.choice(["yesterday", "2026-13-01T00:00:00Z", "2026-02-30T10:00:00+08:00", "2026/01/06 10:00",
                      "1767225600", "2026-01-06T25:00:00Z", "", "2026-01-06T10:00:00+8"])
    if "due_date" in doc and rng.random() < 0.3:
        doc["due_date"] = rng.choice(["2026-02-30", "05/04/2026", "tomorrow"])
    else:
        doc["occurred_at"] = bad
    return _dump(doc)


def _offsetless_timestamp(rng: random.Random) -> bytes:
    doc = _base(rng)
    doc["occurred_at"] = doc["occurred_at"][:19] + rng.choice(["", ".5", ".123456"])
    return _dump(doc)


def _oversize(rng: random.Random) -> bytes:
    doc = _base(rng)
    field = rng.choice(["event_id", "borrower_id", "loan_id" if "loan_id" in doc else "event_id"])
    doc[field] = "x" * (LIMIT + rng.randrange(1, 50_000))
    return _dump(doc)


def _non_utf8(rng: random.Random) -> bytes:
    good = _dump(_base(rng))
    at = good.index(b'"event_id":"') + len(b'"event_id":"')
    junk = rng.choice([b"\xff", b"\xe9t\xe9", b"\xc0\xaf", b"\xed\xa0\x80", b"\x80"])
    if rng.random() < 0.2:
        return good.decode("utf-8").encode(rng.choice(["utf-16", "utf-32"]))
    return good[:at] + junk + good[at:]


def _empty(rng: random.Random) -> bytes:
    return rng.choice([b"", b" ", b"\n", b"\r\n", b"\t  "])


def _not_object(rng: random.Random) -> bytes:
    doc = _base(rng)
    return rng.choice([_dump([doc]), b"[]", b"42", b'"revenue/1"', b"null", b"true", _dump(list(doc.items()))])


def _borrower_id_too_long(rng: random.Random) -> bytes:
    doc = _base(rng)
    doc["borrower_id"] = "B" * rng.randrange(65, 2_000)
    return _dump(doc)


_MAKERS: dict[str, Callable[[random.Random], bytes]] = {
    "not_json": _not_json,
    "truncated_json": _truncated,
    "wrong_type": _wrong_type,
    "missing_field": _missing_field,
    "unknown_schema": _unknown_schema,
    "negative_amount": _negative_amount,
    "unparseable_timestamp": _unparseable_timestamp,
    "offsetless_timestamp": _offsetless_timestamp,
    "oversize": _oversize,
    "non_utf8": _non_utf8,
    "empty": _empty,
    "not_object": _not_object,
    "borrower_id_too_long": _borrower_id_too_long,
}
