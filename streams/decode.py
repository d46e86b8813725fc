"""The edge: bytes in, a typed event or a dead letter out.

This is the only place where input bytes are decoded and validated
(``streams/events.py`` holds the types, ``streams/schemas/`` the same contract
as JSON Schema). Nothing raises: whatever is wrong becomes a :class:`DeadLetter`
with the raw bytes and a short reason in words.

>>> event = decode(b'{"schema":"revenue/1","event_id":"rv-1","borrower_id":"B1",'
...                b'"occurred_at":"2026-01-06T23:59:59+08:00","amount":8350.20}',
...                source="revenue", partition=0, offset=7, received_at="2026-01-07T00:00:01Z")
>>> event.amount
Decimal('8350.20')
>>> bad = decode(b'{"schema":"revenue/1","event_id":"rv-2","borrower_id":"B1",'
...              b'"occurred_at":"2026-01-06T23:59:59+08:00","amount":-5}',
...              source="revenue", partition=0, offset=8, received_at="2026-01-07T00:00:01Z")
>>> bad.error
'revenue/1: `amount` must be a finite amount >= 0, got -5'
>>> reason_class(bad.error)
'invalid_value'
"""

from __future__ import annotations

import base64
import re
import uuid
from decimal import Decimal
from typing import Any, Literal

import msgspec
import msgspec.inspect

from streams.events import EVENT_TYPES, SCHEMAS, Event

MAX_BYTES = 1_048_576
DEAD_LETTER_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "loanwatch:dead-letter")
REASON_CLASSES = (
    "not_json", "unknown_schema", "missing_field", "wrong_type",
    "invalid_value", "bad_timestamp", "oversize", "other",
)

_DECODER = msgspec.json.Decoder(Event)
_ANY = msgspec.json.Decoder(float_hook=Decimal)  # any number, exactly; only for messages
_ENCODER = msgspec.json.Encoder()


class DeadLetter(msgspec.Struct, frozen=True, kw_only=True):
    """An input record that could not be decoded, with the reason in words."""

    dead_letter_id: str
    raw: str
    raw_encoding: Literal["utf-8", "base64"]
    source: str
    partition: int
    offset: int
    error: str
    received_at: str


def decode(
    raw: bytes,
    *,
    source: str,
    partition: int,
    offset: int,
    received_at: str,
    max_bytes: int = MAX_BYTES,
) -> Event | DeadLetter:
    """Decode one record (a Kafka value or a replay-file line); never raises."""
    try:
        if len(raw) > max_bytes:
            # the dead letter keeps the first max_bytes: a record beyond the limit must not make a dead
            # letter beyond what the dead-letter topic takes; the whole record stays at its source offset
            error = (f"record is {len(raw):,} bytes; the limit is {max_bytes:,} "
                     f"(the dead letter keeps the first {max_bytes:,} bytes)")
            raw = raw[:max_bytes]
        else:
            return _DECODER.decode(raw)
    except Exception as exc:  # noqa: BLE001 - bad input is data
        error = _explain_safely(raw, exc)
    return dead_letter(raw, error, source=source, partition=partition, offset=offset,
                       received_at=received_at)


def encode_event(event: Event) -> bytes:
    """JSON bytes for an event (money as decimal strings); ``decode`` reads them back equal."""
    return _ENCODER.encode(event)


def dead_letter(
    raw: bytes, error: str, *, source: str, partition: int, offset: int, received_at: str
) -> DeadLetter:
    """A dead letter for ``raw``; its id depends only on where the record came from."""
    data = _as_bytes(raw)
    try:
        text, encoding = data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        text, encoding = base64.b64encode(data).decode("ascii"), "base64"
    key = f"{source}/{partition}/{offset}"
    return DeadLetter(
        dead_letter_id=str(uuid.uuid5(DEAD_LETTER_NAMESPACE, key)),
        raw=text,
        raw_encoding=encoding,  # type: ignore[arg-type]
        source=source,
        partition=partition,
        offset=offset,
        error=error,
        received_at=received_at,
    )


def _as_bytes(raw: object) -> bytes:
    if isinstance(raw, str):
        return raw.encode("utf-8", "surrogatepass")
    try:
        return bytes(memoryview(raw))  # type: ignore[arg-type]
    except Exception:  # noqa: BLE001 - not bytes-like at all: keep what it looked like
        return repr(raw).encode("utf-8", "backslashreplace")


_CLASS_MARKERS = (
    ("oversize", re.compile(r"^record is [\d,]+ bytes; the limit is")),
    ("not_json", re.compile(r"\bnot JSON\b")),
    ("unknown_schema", re.compile(r"\bunknown schema\b")),
    ("missing_field", re.compile(r"\bmissing required field\b")),
    ("bad_timestamp", re.compile(r"\bhas no UTC offset\b|\bis not an RFC 3339 timestamp\b|\bis not a date\b")),
    ("wrong_type", re.compile(r"\bwrong type\b|\bnot a JSON object\b")),
    ("invalid_value", re.compile(r"\bmust be\b|\bis not a decimal\b|\brepeated\b|\bout of range\b")),
)


def reason_class(error: str) -> str:
    """One of :data:`REASON_CLASSES` for a dead letter's ``error`` (a bounded metrics label)."""
    text = re.sub(r"'[^']*'", "''", error)  # quoted input values must not steer the label
    for label, marker in _CLASS_MARKERS:
        if marker.search(text):
            return label
    return "other"


# --- turning a decoding error into a reason in words ------------------------------------------

_TYPE_WORDS = {
    "str": "a string", "int": "an integer", "float": "a number", "bool": "true/false",
    "null": "null", "object": "an object", "array": "an array", "decimal": "a decimal (number or string)",
    "datetime": "an RFC 3339 timestamp", "date": "a date (YYYY-MM-DD)",
}
_AT = re.compile(r"^(?P<msg>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.S)
_WRONG_TYPE = re.compile(r"^Expected `(?P<want>[^`]+)`, got `(?P<got>[^`]+)`$")
_CONSTRAINT = re.compile(r"^Expected `(?P<want>[^`]+)` (?P<rule>.+)$")
_MISSING = re.compile(r"^Object missing required field `(?P<field>[^`]+)`$")
_LEADING_FIELD = re.compile(r"^`(?P<field>[^`]+)`")


def _explain_safely(raw: bytes, exc: Exception) -> str:
    try:
        return _explain(raw, exc)
    except Exception:  # noqa: BLE001 - the reason must never be the thing that fails
        return f"{type(exc).__name__}: {exc}"


def _explain(raw: bytes, exc: Exception) -> str:
    raw = _as_bytes(raw)
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as bad:
        return f"not JSON: invalid UTF-8 at byte {bad.start}"
    try:
        doc = _ANY.decode(raw)
    except msgspec.DecodeError as bad:
        if not raw.strip():
            return "not JSON: the record is empty"
        message = str(bad).removeprefix("JSON is malformed: ")
        return f"not JSON: {message[:1].lower()}{message[1:]}"
    if not isinstance(doc, dict):
        return f"not a JSON object: got {_words(type(doc))}"
    if "schema" not in doc:
        return "missing required field `schema`"
    schema = doc["schema"]
    if not isinstance(schema, str):
        return f"`schema` has the wrong type: expected a string, got {_show(schema)}"
    if schema not in SCHEMAS:
        return f"unknown schema {_show(schema)}; known: {', '.join(SCHEMAS)}"
    return f"{schema}: {_translate(str(exc), doc, schema)}"


def _translate(message: str, doc: dict[str, Any], schema: str) -> str:
    parts = _AT.match(message)
    msg, path = (parts["msg"], (parts["path"] or "").lstrip(".")) if parts else (message, "")
    value = _lookup(doc, path)
    field = f"`{path}`"
    if m := _MISSING.match(msg):
        return f"missing required field `{m['field']}`" + (f" in {field}" if path else "")
    if msg == "Expected `datetime` with a timezone component":
        return f"{field} has no UTC offset, got {_show(value)}"
    if msg == "Invalid RFC3339 encoded datetime":
        return f"{field} is not an RFC 3339 timestamp with offset, got {_show(value)}"
    if msg == "Invalid RFC3339 encoded date":
        return f"{field} is not a date (YYYY-MM-DD), got {_show(value)}"
    if msg == "Invalid decimal string":
        return f"{field} is not a decimal, got {_show(value)}"
    if msg.startswith("Invalid enum value"):
        allowed = _CHOICES.get((schema, path))
        return f"{field} must be one of {', '.join(allowed)}; got {_show(value)}" if allowed else \
            f"{field} must be one of the allowed values, got {_show(value)}"
    if m := _WRONG_TYPE.match(msg):
        want = " or ".join(_TYPE_WORDS.get(w, w) for w in m["want"].split(" | "))
        return f"{field} has the wrong type: expected {want}, got {_TYPE_WORDS.get(m['got'], m['got'])}"
    if m := _CONSTRAINT.match(msg):
        return f"{field} must be {_TYPE_WORDS.get(m['want'], m['want'])} {m['rule']}, got {_show(value)}"
    if m := _LEADING_FIELD.match(msg):  # a check in streams/events.py; it names its own field
        if path:
            return f"`{path}.{m['field']}`{msg[m.end():]}"
        return msg
    if msg == "Number out of range":
        return f"{field} is out of range, got {_show(value)}"
    return f"{msg} (at {field})" if path else msg


def _lookup(doc: Any, path: str) -> Any:
    for name, index in re.findall(r"(\w+)|\[(\d+)\]", path):
        try:
            doc = doc[name] if name else doc[int(index)]
        except (KeyError, IndexError, TypeError):
            return None
    return doc


def _words(kind: type) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "true/false",
            int: "a number", float: "a number", type(None): "null"}.get(kind, kind.__name__)


def _show(value: Any, limit: int = 40) -> str:
    if isinstance(value, str):
        if len(value) > limit:
            return f"{value[:limit]!r}... ({len(value):,} characters)"
        return repr(value)
    if isinstance(value, (dict, list)):
        return f"{_words(type(value))} of {len(value):,} items" if isinstance(value, list) else "an object"
    return str(value)[:limit]


def _literal_choices() -> dict[tuple[str, str], tuple[str, ...]]:
    choices: dict[tuple[str, str], tuple[str, ...]] = {}
    for event_type in EVENT_TYPES:
        info = msgspec.inspect.type_info(event_type)
        for f in info.fields:  # type: ignore[attr-defined]
            kinds = f.type.types if isinstance(f.type, msgspec.inspect.UnionType) else (f.type,)
            for kind in kinds:
                if isinstance(kind, msgspec.inspect.LiteralType):
                    choices[(info.tag, f.encode_name)] = tuple(map(str, kind.values))  # type: ignore[attr-defined]
    return choices


_CHOICES = _literal_choices()
