"""The event contract: streams/events.py, streams/decode.py and streams/schemas/ agree with it and each other."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import msgspec.inspect as mi
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from streams.decode import REASON_CLASSES, DeadLetter, decode, encode_event, reason_class
from streams.events import EVENT_TYPES, SCHEMAS, Cashflow, LoanOpened, Revenue

try:
    from tests.malformed import CATEGORIES, contract_examples, malformed_records
except ImportError:  # tests/ is not a package; pytest puts it on sys.path
    from malformed import CATEGORIES, contract_examples, malformed_records  # type: ignore[no-redef]

SCHEMA_DIR = Path(__file__).resolve().parents[1] / "streams" / "schemas"
WHERE = {"source": "loanwatch.revenue", "partition": 3, "offset": 42, "received_at": "2026-03-01T00:00:00Z"}

# One realistic record per event type (money as strings and as numbers, several offsets, optional fields).
EXAMPLES: dict[str, bytes] = {
    "loan_opened/1": b'{"schema":"loan_opened/1","event_id":"core-77812","borrower_id":"b-5f0a9c",'
                     b'"occurred_at":"2026-01-05T09:00:00+08:00","loan_id":"L-2026-0001","product":"term_loan",'
                     b'"principal":"60000.00","credit_limit":60000.00,"currency":"CNY","annual_rate":0.0685,'
                     b'"sector":"catering","region":"CN-44","installments":['
                     b'{"seq":1,"due_date":"2026-02-05","amount_due":"10350.00"},'
                     b'{"seq":2,"due_date":"2026-03-05","amount_due":10350.00},'
                     b'{"seq":3,"due_date":"2026-04-05","amount_due":"10350.00"}]}',
    "schedule_changed/1": b'{"schema":"schedule_changed/1","event_id":"core-80001","borrower_id":"b-5f0a9c",'
                          b'"occurred_at":"2026-03-10T14:05:00+08:00","loan_id":"L-2026-0001","reason":"extension",'
                          b'"installments":[{"seq":2,"due_date":"2026-04-05","amount_due":"5175.00"},'
                          b'{"seq":3,"due_date":"2026-05-05","amount_due":"5175.00"}]}',
    "installment_due/1": b'{"schema":"installment_due/1","event_id":"stmt-2026-02-B7","borrower_id":"b-71c2",'
                         b'"occurred_at":"2026-02-01T00:00:00Z","loan_id":"RL-88","seq":7,'
                         b'"due_date":"2026-02-25","amount_due":1500,"statement_balance":"30000.00"}',
    "drawdown/1": b'{"schema":"drawdown/1","event_id":"dd-991","borrower_id":"b-71c2",'
                  b'"occurred_at":"2026-01-20T16:45:12.250+08:00","loan_id":"RL-88","amount":"12000"}',
    "repayment/1": b'{"schema":"repayment/1","event_id":"pay-20260204-0031","borrower_id":"b-5f0a9c",'
                   b'"occurred_at":"2026-02-04T07:30:00Z","loan_id":"L-2026-0001","amount":10350.00,'
                   b'"installment_seq":1,"channel":"bank_transfer"}',
    "loan_closed/1": b'{"schema":"loan_closed/1","event_id":"core-99120","borrower_id":"b-3390",'
                     b'"occurred_at":"2026-06-30T18:00:00+08:00","loan_id":"L-2025-0420","reason":"repaid"}',
    "revenue/1": b'{"schema":"revenue/1","event_id":"pos-b-5f0a9c-20260106","borrower_id":"b-5f0a9c",'
                 b'"occurred_at":"2026-01-06T23:59:59+08:00","amount":"8350.20","period":"day","source":"pos"}',
    "cashflow/1": b'{"schema":"cashflow/1","event_id":"acct-A1-000231","borrower_id":"b-5f0a9c",'
                  b'"occurred_at":"2026-01-07T10:12:00+08:00","account_id":"A1","direction":"out",'
                  b'"amount":23000,"balance_after":"-1200.55","counterparty_type":"supplier",'
                  b'"counterparty_id":"9f86d081884c7d65"}',
    "collection_outcome/1": b'{"schema":"collection_outcome/1","event_id":"col-5521","borrower_id":"b-5f0a9c",'
                            b'"occurred_at":"2026-03-08T11:00:00+08:00","task_id":"T-9f2c","loan_id":"L-2026-0001",'
                            b'"outcome":"promise_to_pay","promised_amount":"10350","promised_date":"2026-03-12",'
                            b'"agent_id":"agent-17"}',
}


# --- helpers ------------------------------------------------------------------------------------

def _load_schemas() -> dict[str, dict[str, Any]]:
    return {p.name: json.loads(p.read_text(encoding="utf-8")) for p in sorted(SCHEMA_DIR.glob("*.json"))}


SCHEMA_FILES = _load_schemas()
REGISTRY: Registry = Registry().with_resources(
    (doc["$id"], Resource.from_contents(doc)) for doc in SCHEMA_FILES.values()
)


def _validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(SCHEMA_FILES[name], registry=REGISTRY,
                                format_checker=Draft202012Validator.FORMAT_CHECKER)


EVENT_SCHEMA = _validator("event.v1.json")
NUMBERS = msgspec.json.Encoder(decimal_format="number")  # writes Decimals as JSON numbers


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_json(raw: bytes) -> Any:
    """Strict JSON as a producer's validator would read it (UTF-8 only, no NaN/Infinity)."""
    return json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)


def schema_accepts(raw: bytes) -> bool:
    try:
        doc = parse_json(raw)
    except ValueError:  # includes UnicodeDecodeError and json.JSONDecodeError
        return False
    return EVENT_SCHEMA.is_valid(doc)


def decoded(raw: bytes) -> Any:
    return decode(raw, **WHERE)


def type_file(tag: str) -> str:
    return tag.split("/")[0] + ".v1.json"


# --- the events decode -----------------------------------------------------------------------------

def test_every_event_type_of_the_contract_has_an_example_here() -> None:
    assert set(EXAMPLES) == set(SCHEMAS)


@pytest.mark.parametrize("tag", sorted(EXAMPLES))
def test_each_example_decodes_into_its_event_type(tag: str) -> None:
    event = decoded(EXAMPLES[tag])
    assert not isinstance(event, DeadLetter), event.error
    assert type(event).__struct_config__.tag == tag


@pytest.mark.parametrize("raw", contract_examples(), ids=lambda raw: json.loads(raw)["schema"])
def test_the_contract_examples_decode(raw: bytes) -> None:
    event = decoded(raw)
    assert not isinstance(event, DeadLetter), event.error


def test_money_is_an_exact_decimal_from_strings_and_from_numbers() -> None:
    event = decoded(EXAMPLES["loan_opened/1"])
    assert isinstance(event, LoanOpened)
    assert event.principal == Decimal("60000.00") and isinstance(event.principal, Decimal)
    assert str(event.credit_limit) == "60000.00"  # a JSON number keeps its digits
    assert [str(i.amount_due) for i in event.installments] == ["10350.00", "10350.00", "10350.00"]
    tenth = decoded(EXAMPLES["revenue/1"].replace(b'"8350.20"', b"0.1"))
    assert isinstance(tenth, Revenue) and tenth.amount == Decimal("0.1")
    assert sum([tenth.amount] * 3) == Decimal("0.3")
    assert decoded(EXAMPLES["revenue/1"].replace(b'"8350.20"', b'"0.1"')).amount == Decimal("0.1")  # type: ignore[union-attr]
    exact = decoded(EXAMPLES["revenue/1"].replace(b'"8350.20"', b"10400.00"))
    assert str(exact.amount) == "10400.00"  # type: ignore[union-attr]


def test_balances_may_be_negative_but_amounts_may_not() -> None:
    event = decoded(EXAMPLES["cashflow/1"])
    assert isinstance(event, Cashflow) and event.balance_after == Decimal("-1200.55")
    refund = decoded(EXAMPLES["cashflow/1"].replace(b'"amount":23000', b'"amount":-23000'))
    assert isinstance(refund, DeadLetter)
    assert refund.error == "cashflow/1: `amount` must be a finite amount >= 0, got -23000"


@pytest.mark.parametrize("tag", sorted(EXAMPLES))
def test_timestamps_are_timezone_aware(tag: str) -> None:
    event = decoded(EXAMPLES[tag])
    assert event.occurred_at.tzinfo is not None  # type: ignore[union-attr]
    assert event.occurred_at.utcoffset() in {dt.timedelta(0), dt.timedelta(hours=8)}  # type: ignore[union-attr]


@pytest.mark.parametrize("money", [b'"NaN"', b'"Infinity"', b'"-Infinity"', b'"sNaN"', b"NaN", b"Infinity"])
def test_nan_and_infinity_are_not_money(money: bytes) -> None:
    letter = decoded(EXAMPLES["revenue/1"].replace(b'"8350.20"', money))
    assert isinstance(letter, DeadLetter)
    assert reason_class(letter.error) in {"invalid_value", "not_json"}
    assert not schema_accepts(EXAMPLES["revenue/1"].replace(b'"8350.20"', money))


@pytest.mark.parametrize("tag", sorted(EXAMPLES))
def test_an_encoded_event_decodes_back_equal_and_fits_the_schema(tag: str) -> None:
    event = decoded(EXAMPLES[tag])
    raw = encode_event(event)  # type: ignore[arg-type]
    assert decoded(raw) == event
    assert schema_accepts(raw)


# --- the dead letters ---------------------------------------------------------------------------

def test_a_timestamp_without_offset_is_refused_with_a_clear_reason() -> None:
    raw = EXAMPLES["revenue/1"].replace(b"23:59:59+08:00", b"23:59:59")
    letter = decoded(raw)
    assert isinstance(letter, DeadLetter)
    assert letter.error == "revenue/1: `occurred_at` has no UTC offset, got '2026-01-06T23:59:59'"
    assert reason_class(letter.error) == "bad_timestamp"


def test_an_unknown_schema_is_named_and_the_known_ones_listed() -> None:
    letter = decoded(EXAMPLES["revenue/1"].replace(b'"revenue/1"', b'"foo/9"'))
    assert isinstance(letter, DeadLetter)
    assert letter.error.startswith("unknown schema 'foo/9'; known: loan_opened/1, ")
    assert all(tag in letter.error for tag in SCHEMAS)


def test_a_missing_schema_field_is_reported_as_missing() -> None:
    letter = decoded(b'{"event_id":"e1","borrower_id":"B1","amount":"5"}')
    assert isinstance(letter, DeadLetter)
    assert letter.error == "missing required field `schema`"
    assert reason_class(letter.error) == "missing_field"


def test_size_is_checked_before_parsing() -> None:
    letter = decode(b"x" * 2_100_000, **WHERE)
    assert isinstance(letter, DeadLetter)
    assert letter.error.startswith("record is 2,100,000 bytes; the limit is 1,048,576")
    assert len(letter.raw) == 1_048_576  # the dead letter keeps the first max_bytes only
    small = decode(EXAMPLES["revenue/1"], **WHERE, max_bytes=100)
    assert isinstance(small, DeadLetter) and reason_class(small.error) == "oversize"


def test_a_schedule_of_more_than_600_installments_is_refused_by_both() -> None:
    items = b",".join(b'{"seq":%d,"due_date":"2026-02-05","amount_due":"1"}' % s for s in range(1, 602))
    raw = EXAMPLES["schedule_changed/1"].split(b'"installments":')[0] + b'"installments":[' + items + b"]}"
    letter = decoded(raw)
    assert isinstance(letter, DeadLetter) and "`installments`" in letter.error
    assert not schema_accepts(raw)


def test_a_dead_letter_keeps_the_raw_bytes_and_says_where_they_came_from() -> None:
    text = decoded(b'{"schema":"revenue/1"')
    binary = decode(b"\xff\xfe{}", source="replay-2026-01.jsonl", partition=-1, offset=17, received_at="t")
    assert isinstance(text, DeadLetter) and isinstance(binary, DeadLetter)
    assert (text.raw, text.raw_encoding) == ('{"schema":"revenue/1"', "utf-8")
    assert (binary.raw, binary.raw_encoding) == ("//57fQ==", "base64")
    assert (binary.source, binary.partition, binary.offset, binary.received_at) == ("replay-2026-01.jsonl", -1, 17, "t")
    assert text.dead_letter_id == decoded(b"other bytes, same place").dead_letter_id  # type: ignore[union-attr]
    assert text.dead_letter_id != decode(b"{", **{**WHERE, "offset": 43}).dead_letter_id  # type: ignore[union-attr]


@pytest.mark.parametrize("seed", [1, 2026])
def test_every_malformed_record_becomes_one_dead_letter_that_names_the_problem(seed: int) -> None:
    for raw, category in malformed_records(1000, seed):
        letter = decoded(raw)
        assert isinstance(letter, DeadLetter), (category, raw[:120])
        assert letter.error.strip(), category
        assert reason_class(letter.error) == CATEGORIES[category], (category, letter.error[:200])
        assert _names_the_problem(category, raw, letter.error), (category, letter.error[:200])


def _names_the_problem(category: str, raw: bytes, error: str) -> bool:
    field = re.search(r"`[\w.\[\]]+`", error) is not None
    if category == "unknown_schema":
        return f"unknown schema {json.loads(raw)['schema']!r}" in error
    if category == "negative_amount":
        return re.search(r"`[\w.\[\]]*amount\w*` must be a finite amount >= 0, got -", error) is not None
    if category == "borrower_id_too_long":
        return error.split(": ", 1)[1].startswith("`borrower_id` must be a string of length <= 64")
    if category == "offsetless_timestamp":
        return "`occurred_at` has no UTC offset" in error
    if category in {"wrong_type", "missing_field", "unparseable_timestamp"}:
        return field or error.startswith("not a JSON object")
    if category == "oversize":
        return re.match(r"record is [\d,]+ bytes; the limit is 1,048,576", error) is not None
    return error.startswith(("not JSON: ", "not a JSON object: "))


@given(st.binary(max_size=300))
def test_decode_never_raises_on_arbitrary_bytes(raw: bytes) -> None:
    result = decoded(raw)
    if isinstance(result, DeadLetter):
        assert result.error and reason_class(result.error) in REASON_CLASSES


def test_a_quoted_input_value_does_not_steer_the_reason_class() -> None:
    assert reason_class("revenue/1: `source` must be one of pos; got 'unknown schema not JSON'") == "invalid_value"
    assert reason_class("something new") == "other"


# --- the JSON Schemas ---------------------------------------------------------------------------

def test_there_is_one_schema_file_per_event_type_plus_the_envelope_and_the_union() -> None:
    expected = {type_file(tag) for tag in SCHEMAS} | {"envelope.v1.json", "event.v1.json"}
    assert set(SCHEMA_FILES) == expected
    for name, doc in SCHEMA_FILES.items():
        Draft202012Validator.check_schema(doc)
        assert doc["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert doc["$id"].endswith("/" + name)


@pytest.mark.parametrize("event_type", EVENT_TYPES, ids=lambda t: t.__struct_config__.tag)
def test_each_schema_names_the_same_fields_as_the_event_type(event_type: type) -> None:
    info = mi.type_info(event_type)
    doc = SCHEMA_FILES[type_file(info.tag)]  # type: ignore[attr-defined]
    fields = info.fields  # type: ignore[attr-defined]
    assert set(doc["properties"]) == {"schema"} | {f.encode_name for f in fields}
    assert set(doc["required"]) == {"schema"} | {f.encode_name for f in fields if f.required}
    assert doc["properties"]["schema"] == {"const": info.tag}  # type: ignore[attr-defined]


def test_shared_definitions_are_the_same_in_every_file() -> None:
    seen: dict[str, Any] = {}
    for doc in SCHEMA_FILES.values():
        for name, definition in doc.get("$defs", {}).items():
            assert seen.setdefault(name, definition) == definition, name
    envelope = SCHEMA_FILES["envelope.v1.json"]["properties"]
    for tag in SCHEMAS:
        props = SCHEMA_FILES[type_file(tag)]["properties"]
        assert {k: props[k] for k in ("event_id", "borrower_id", "occurred_at")} == \
            {k: envelope[k] for k in ("event_id", "borrower_id", "occurred_at")}


@pytest.mark.parametrize("raw", [*EXAMPLES.values(), *contract_examples()], ids=lambda raw: json.loads(raw)["event_id"])
def test_the_schemas_accept_the_contract_examples_and_ours(raw: bytes) -> None:
    doc = parse_json(raw)
    assert not list(EVENT_SCHEMA.iter_errors(doc))
    assert _validator(type_file(doc["schema"])).is_valid(doc)
    assert _validator("envelope.v1.json").is_valid(doc)


def test_the_schemas_reject_every_malformed_record() -> None:
    accepted = [(category, raw[:120]) for raw, category in malformed_records(1000, 2026) if schema_accepts(raw)]
    assert accepted == []


# --- decode and the schemas agree ---------------------------------------------------------------

TZS = st.sampled_from([dt.UTC, dt.timezone(dt.timedelta(hours=8)), dt.timezone(dt.timedelta(hours=-5, minutes=-30)),
                       dt.timezone(dt.timedelta(hours=5, minutes=45))])
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
NON_NEGATIVE_EXCEPT = {"balance_after"}


def _money(signed: bool) -> st.SearchStrategy[Any]:
    low = -(10**12) if signed else 0
    value = st.decimals(min_value=low, max_value=10**12, places=2, allow_nan=False, allow_infinity=False) | \
        st.integers(low, 10**9).map(Decimal)
    return value.flatmap(lambda d: st.sampled_from([d, format(d, "f")]))  # a JSON number or a decimal string


def _value(t: mi.Type, name: str) -> st.SearchStrategy[Any]:
    if isinstance(t, mi.UnionType):
        return st.one_of(*(_value(x, name) for x in t.types))
    if isinstance(t, mi.NoneType):
        return st.none()
    if isinstance(t, mi.DecimalType):
        return _money(signed=name in NON_NEGATIVE_EXCEPT)
    if isinstance(t, mi.DateTimeType):
        stamps = st.datetimes(dt.datetime(2000, 1, 1), dt.datetime(2099, 12, 31), timezones=TZS)
        return stamps.map(lambda d: d.isoformat().replace("+00:00", "Z"))
    if isinstance(t, mi.DateType):
        return st.dates(dt.date(2000, 1, 1), dt.date(2099, 12, 31)).map(dt.date.isoformat)
    if isinstance(t, mi.LiteralType):
        return st.sampled_from(t.values)
    if isinstance(t, mi.IntType):
        return st.integers(t.ge or 0, 1000) | st.just(t.le)
    if isinstance(t, mi.FloatType):
        return st.floats(t.ge, t.le, allow_nan=False)
    if isinstance(t, mi.StrType):
        if t.pattern:
            return st.sampled_from(["CNY", "USD", "HKD"])
        return st.text(st.characters(exclude_categories=("Cs",)), min_size=t.min_length or 0, max_size=8) | \
            st.just("名" * (t.max_length or 8))
    if isinstance(t, mi.ListType):
        return st.lists(_value(t.item_type, name), max_size=4, unique_by=lambda i: i["seq"])
    if isinstance(t, mi.StructType):
        return st.fixed_dictionaries({f.encode_name: _value(f.type, f.encode_name) for f in t.fields})
    raise NotImplementedError(t)


@st.composite
def valid_events(draw: st.DrawFn) -> dict[str, Any]:
    info = mi.type_info(draw(st.sampled_from(EVENT_TYPES)))
    doc: dict[str, Any] = {"schema": info.tag}  # type: ignore[attr-defined]
    for f in info.fields:  # type: ignore[attr-defined]
        if f.required or draw(st.booleans()):
            doc[f.encode_name] = draw(_value(f.type, f.encode_name))
    return doc


def _fields_of(tag: str) -> list[mi.Field]:
    return list(mi.type_info(next(t for t in EVENT_TYPES if t.__struct_config__.tag == tag)).fields)  # type: ignore[attr-defined]


def _kind_of(field: mi.Field, kind: type) -> Any:
    kinds = field.type.types if isinstance(field.type, mi.UnionType) else (field.type,)
    return next((k for k in kinds if isinstance(k, kind)), None)


def _breakable(doc: dict[str, Any], kind: type) -> list[str]:
    return [f.encode_name for f in _fields_of(doc["schema"]) if _kind_of(f, kind) is not None]


@st.composite
def mutated_events(draw: st.DrawFn) -> dict[str, Any]:
    doc = draw(valid_events())
    mutation = draw(st.sampled_from(["none", "drop", "wrong_type", "negative", "long", "empty", "timestamp",
                                     "literal", "schema", "extra", "int_range", "null"]))
    fields = [k for k in doc if k != "schema"]
    if mutation == "drop":
        del doc[draw(st.sampled_from([*fields, "schema"]))]
    elif mutation == "wrong_type":
        doc[draw(st.sampled_from(fields))] = draw(st.sampled_from([{"v": 1}, True, [1.5]]))
    elif mutation == "negative":
        money = [k for k in _breakable(doc, mi.DecimalType) if k in doc and k not in NON_NEGATIVE_EXCEPT]
        if money:
            doc[draw(st.sampled_from(money))] = draw(st.sampled_from([Decimal("-0.01"), "-5", "-10400.00"]))
    elif mutation in {"long", "empty"}:
        texts = [f for f in _fields_of(doc["schema"]) if f.encode_name in doc and _kind_of(f, mi.StrType)]
        if texts:
            field = draw(st.sampled_from(texts))
            limit = _kind_of(field, mi.StrType).max_length or 3
            length = limit + draw(st.sampled_from([0, 1, 50])) if mutation == "long" else 0
            doc[field.encode_name] = "x" * length
    elif mutation == "timestamp":
        doc["occurred_at"] = draw(st.sampled_from(["2026-01-06T23:59:59", "2026-01-06", "2026-02-30T10:00:00Z",
                                                   "06/01/2026 10:00+08:00", "2026-01-06T23:59:59+0800x"]))
    elif mutation == "literal":
        literals = [k for k in _breakable(doc, mi.LiteralType) if k in doc]
        if literals:
            doc[draw(st.sampled_from(literals))] = "something_else"
    elif mutation == "schema":
        doc["schema"] = draw(st.sampled_from(["revenue/2", "foo/1", "", "REVENUE/1"]))
    elif mutation == "extra":
        doc[draw(st.sampled_from(["note", "x_trace", "meta"]))] = draw(TEXT | st.integers() | st.just({"a": [1]}))
    elif mutation == "int_range":
        ints = [k for k in _breakable(doc, mi.IntType) if k in doc] + (["annual_rate"] if "annual_rate" in doc else [])
        if ints:
            doc[draw(st.sampled_from(ints))] = draw(st.sampled_from([0, -1, 2**31, 11.5]))
    elif mutation == "null":
        doc[draw(st.sampled_from(fields))] = None
    return doc



@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_events())
def test_generated_valid_events_decode_fit_the_schema_and_round_trip(doc: dict[str, Any]) -> None:
    raw = NUMBERS.encode(doc)
    event = decoded(raw)
    assert not isinstance(event, DeadLetter), event.error
    assert schema_accepts(raw), next(EVENT_SCHEMA.iter_errors(parse_json(raw)), None)
    assert decoded(encode_event(event)) == event


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_events())
def test_the_schema_accepts_a_record_exactly_when_decode_gives_an_event(doc: dict[str, Any]) -> None:
    raw = NUMBERS.encode(doc)
    result = decoded(raw)
    decode_ok = not isinstance(result, DeadLetter)
    assert schema_accepts(raw) == decode_ok, result.error if not decode_ok else raw  # type: ignore[union-attr]


def _limits() -> list[tuple[str, str, Any, bool]]:
    """(tag, field, value, allowed) at both sides of every bound that events.py declares."""
    cases = []
    for tag in SCHEMAS:
        for f in _fields_of(tag):
            if text := _kind_of(f, mi.StrType):
                if text.max_length:
                    cases += [(tag, f.encode_name, "名" * text.max_length, True),
                              (tag, f.encode_name, "名" * (text.max_length + 1), False)]
                if text.min_length:
                    cases.append((tag, f.encode_name, "", False))
            if number := _kind_of(f, mi.IntType) or _kind_of(f, mi.FloatType):
                cases += [(tag, f.encode_name, number.ge, True), (tag, f.encode_name, number.ge - 1, False),
                          (tag, f.encode_name, number.le, True), (tag, f.encode_name, number.le + 1, False)]
            if items := _kind_of(f, mi.ListType):
                many = [{"seq": s, "due_date": "2026-02-05", "amount_due": "1"} for s in range(1, items.max_length + 2)]
                cases += [(tag, f.encode_name, many[:-1], True), (tag, f.encode_name, many, False)]
    return cases


@pytest.mark.parametrize(("tag", "field", "value", "allowed"), _limits(),
                         ids=lambda v: v if isinstance(v, str) and len(v) < 30 else "")
def test_every_limit_is_the_same_in_the_schema_and_the_decoder(tag: str, field: str, value: Any, allowed: bool) -> None:
    raw = NUMBERS.encode({**parse_json(EXAMPLES[tag]), field: value})
    result = decoded(raw)
    assert (not isinstance(result, DeadLetter)) is allowed, getattr(result, "error", "")
    assert schema_accepts(raw) is allowed
