"""SQL store of output records for the risk desk and the collection team.

Alerts, collection tasks, limit changes and dead letters live in four tables.
Saving is an idempotent upsert by record id where the last write wins, so a
crash-and-replay that produces the same records again leaves one row per id.
SQLite is the default; PostgreSQL (``postgresql+psycopg://...``) in production.
The schema is made by the Alembic migrations shipped in ``alerts/migrations``.

>>> from dataclasses import replace
>>> from decimal import Decimal
>>> store = Store("sqlite://")
>>> store.create_schema()
>>> task = CollectionTask("T1", "L1", "B1", 1, "call", "phone", 0.8, 12, Decimal("10400.00"),
...                       "open", "2026-02-20", "overdue", "dpd_1_30", "early",
...                       "2026-02-17", "2026-02-17")
>>> store.save([task, replace(task, priority=0.9)])
2
>>> [(t.task_id, t.priority, t.amount_overdue) for t in store.task_feed()]
[('T1', 0.9, Decimal('10400.00'))]
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import fields
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import (
    JSON,
    BigInteger,
    Connection,
    Dialect,
    Engine,
    Float,
    Index,
    Integer,
    Numeric,
    RowMapping,
    String,
    Table,
    Text,
    case,
    create_engine,
    event,
    func,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from alerts.records import Alert, CollectionTask, LimitChange, Output, Reason, output_id, record_id

__all__ = ["Store", "Base", "AlertRow", "TaskRow", "LimitChangeRow", "DeadLetterRow", "Money", "alembic_config"]

DEFAULT_URL = "sqlite:///loanwatch.db"
MIGRATIONS = Path(__file__).parent / "migrations"
CENT = Decimal("0.01")
MAX_MONEY = Decimal("9999999999999999.99")  # what NUMERIC(18, 2) holds
OPEN_ALERT = ("open", "updated")
REASON_FIELDS = tuple(f.name for f in fields(Reason))
DEAD_LETTER_FIELDS = ("dead_letter_id", "source", "partition", "offset", "raw", "raw_encoding", "error",
                      "received_at")


class Money(TypeDecorator[Decimal]):
    """Exact money in major units: NUMERIC(18, 2); integer cents on SQLite, which has no exact decimal.

    Amounts are rounded to the cent, half away from zero, as PostgreSQL does.

    >>> Money().process_bind_param(Decimal("10.005"), sqlite.dialect())
    1001
    >>> Money().process_result_value(1001, sqlite.dialect())
    Decimal('10.01')
    """

    impl = Numeric(18, 2)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(18, 2, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        amount = _to_cents(value)
        return int(amount.scaleb(2)) if dialect.name == "sqlite" else amount

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return Decimal(int(value)).scaleb(-2)
        return Decimal(value)


def _to_cents(value: Any) -> Decimal:
    try:
        amount = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    except (InvalidOperation, TypeError, ValueError) as error:
        raise ValueError(f"not an amount of money: {value!r}") from error
    if not amount.is_finite() or abs(amount) > MAX_MONEY:
        raise ValueError(f"amount of money out of range for NUMERIC(18, 2): {value!r}")
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


REASONS = JSON().with_variant(postgresql.JSONB(), "postgresql")


class Base(DeclarativeBase):
    """Declarative base of the store's tables."""


class AlertRow(Base):
    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_status_severity", "status", "severity"),)

    alert_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    borrower_id: Mapped[str] = mapped_column(String(128), index=True)
    loan_id: Mapped[str | None] = mapped_column(String(128))
    type: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(REASONS)
    risk_score: Mapped[float] = mapped_column(Float)
    risk_class: Mapped[str] = mapped_column(String(32))
    opened_at: Mapped[str] = mapped_column(String(40))
    updated_at: Mapped[str] = mapped_column(String(40))
    inhibited_by: Mapped[str | None] = mapped_column(String(128))


class TaskRow(Base):
    __tablename__ = "collection_tasks"
    __table_args__ = (Index("ix_collection_tasks_feed", "status", "queue", "priority"),)

    task_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    loan_id: Mapped[str] = mapped_column(String(128))
    borrower_id: Mapped[str] = mapped_column(String(128), index=True)
    installment_seq: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(32))
    priority: Mapped[float] = mapped_column(Float)
    dpd: Mapped[int] = mapped_column(Integer)
    amount_overdue: Mapped[Decimal] = mapped_column(Money)
    status: Mapped[str] = mapped_column(String(16))
    due_by: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(Text)
    stage: Mapped[str] = mapped_column(String(32))
    queue: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[str] = mapped_column(String(40))
    updated_at: Mapped[str] = mapped_column(String(40))
    contact_after: Mapped[str] = mapped_column(String(40), default="", server_default="")


class LimitChangeRow(Base):
    __tablename__ = "limit_changes"
    __table_args__ = (Index("ix_limit_changes_status", "status"),)

    change_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    borrower_id: Mapped[str] = mapped_column(String(128), index=True)
    loan_id: Mapped[str] = mapped_column(String(128))
    old_limit: Mapped[Decimal] = mapped_column(Money)
    new_limit: Mapped[Decimal] = mapped_column(Money)
    action: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(REASONS)
    effective_at: Mapped[str] = mapped_column(String(40))
    evidence: Mapped[str] = mapped_column(Text)


class DeadLetterRow(Base):
    __tablename__ = "dead_letters"

    dead_letter_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    source: Mapped[str] = mapped_column(String(255))
    partition: Mapped[int | None] = mapped_column(Integer)
    offset: Mapped[int | None] = mapped_column(BigInteger)
    raw: Mapped[str] = mapped_column(Text)
    raw_encoding: Mapped[str] = mapped_column(String(16))  # utf-8 | base64
    error: Mapped[str] = mapped_column(Text)
    received_at: Mapped[str] = mapped_column(String(40), index=True)


TABLES: dict[type, Table] = {
    Alert: AlertRow.__table__,  # type: ignore[dict-item]
    CollectionTask: TaskRow.__table__,  # type: ignore[dict-item]
    LimitChange: LimitChangeRow.__table__,  # type: ignore[dict-item]
}
FIELDS = {kind: tuple(f.name for f in fields(kind) if f.init) for kind in TABLES}
INSERTS: dict[str, Callable[[Table], Any]] = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}
SEVERITY_RANK = case({"critical": 0, "warning": 1, "info": 2}, value=AlertRow.severity, else_=3)


def alembic_config(url: str | None = None) -> Config:
    """An Alembic configuration for the shipped migrations, built in code (no alembic.ini).

    Give ``url`` to run Alembic commands on their own, e.g. to print the SQL for a DBA:
    ``command.upgrade(alembic_config(url), "head", sql=True)``.

    >>> alembic_config().get_main_option("script_location").endswith("migrations")
    True
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


class Store:
    """The output store at a database URL; no connection is opened until it is used.

    >>> store = Store("sqlite://")
    >>> store.create_schema()
    >>> store.counts()
    {'alert': {}, 'task': {}, 'limit': {}, 'dead_letter': {'all': 0}}
    """

    def __init__(self, url: str = DEFAULT_URL, batch_size: int = 1000) -> None:
        self.engine: Engine = create_engine(url, json_serializer=_json_dumps)
        if self.engine.dialect.name not in INSERTS:
            raise ValueError(f"unsupported database {self.engine.dialect.name!r}: use sqlite or postgresql")
        if self.engine.dialect.name == "sqlite" and self.engine.url.database not in (None, "", ":memory:"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self.batch_size = batch_size

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the store's connections."""
        self.engine.dispose()

    def create_schema(self) -> None:
        """Bring the database to the newest schema with Alembic (``upgrade head``); safe to repeat."""
        config = alembic_config()
        with self.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    def save(self, records: Iterable[Output]) -> int:
        """Upsert alerts, tasks and limit changes by id, in one transaction; the last version of an id wins.

        Returns how many records were given.

        >>> from dataclasses import replace
        >>> store = Store("sqlite://"); store.create_schema()
        >>> a = Alert("A1", "B1", "L1", "dpd_30", "warning", "open", (), 0.4, "special_mention",
        ...           "2026-03-07T00:00:00+08:00", "2026-03-07T00:00:00+08:00")
        >>> store.save([a, replace(a, status="resolved")]), store.open_alerts()
        (2, [])
        """
        pending: dict[Table, dict[str, dict[str, Any]]] = {}
        count = 0
        with self.engine.begin() as connection:
            for record in records:
                table = TABLES.get(type(record))
                if table is None:
                    raise TypeError(f"cannot store {type(record).__name__}: not an output record")
                pending.setdefault(table, {})[output_id(record)] = _row_of(record)
                count += 1
                if count % self.batch_size == 0:
                    _flush(connection, pending, _upsert)
            _flush(connection, pending, _upsert)
        return count

    def save_dead_letters(self, rows: Iterable[Mapping[str, Any]]) -> int:
        """Store dead letters once per id; a dead letter seen again is left as it was.

        Each row has ``source``, ``raw`` (text, or bytes: stored as UTF-8 text or base64), ``error``,
        ``received_at`` and optional ``partition``, ``offset``, ``raw_encoding``. Without
        ``dead_letter_id`` the id is derived from source, partition and offset.
        Returns how many rows were given.

        >>> store = Store("sqlite://"); store.create_schema()
        >>> row = {"source": "loanwatch.revenue", "partition": 0, "offset": 7, "raw": b"\\xff{",
        ...        "error": "not UTF-8", "received_at": "2026-03-07T10:00:00+00:00"}
        >>> store.save_dead_letters([row, row]), store.counts()["dead_letter"]
        (2, {'all': 1})
        >>> store.dead_letters()[0]["raw"], store.dead_letters()[0]["raw_encoding"]
        ('/3s=', 'base64')
        """
        pending: dict[Table, dict[str, dict[str, Any]]] = {}
        table: Table = DeadLetterRow.__table__  # type: ignore[assignment]
        count = 0
        with self.engine.begin() as connection:
            for given in rows:
                row = _dead_letter_row(given)
                pending.setdefault(table, {}).setdefault(row["dead_letter_id"], row)
                count += 1
                if count % self.batch_size == 0:
                    _flush(connection, pending, _insert_new)
            _flush(connection, pending, _insert_new)
        return count

    def open_alerts(self, severity: str | None = None, limit: int = 100) -> list[Alert]:
        """Alerts not resolved, most severe first, then highest risk score, then most recently updated."""
        query = select(AlertRow.__table__).where(AlertRow.status.in_(OPEN_ALERT))
        if severity is not None:
            query = query.where(AlertRow.severity == severity)
        query = query.order_by(SEVERITY_RANK, AlertRow.risk_score.desc(), AlertRow.updated_at.desc(),
                               AlertRow.alert_id).limit(limit)
        return [_record_of(Alert, row) for row in self._rows(query)]

    def task_feed(self, queue: str | None = None, limit: int = 100) -> list[CollectionTask]:
        """Open collection tasks, highest priority first, then earliest due; one entry per task."""
        query = select(TaskRow.__table__).where(TaskRow.status == "open")
        if queue is not None:
            query = query.where(TaskRow.queue == queue)
        query = query.order_by(TaskRow.priority.desc(), TaskRow.due_by, TaskRow.task_id).limit(limit)
        return [_record_of(CollectionTask, row) for row in self._rows(query)]

    def limit_changes(self, status: str | None = None, limit: int | None = None) -> list[LimitChange]:
        """Limit changes in order of effective time, optionally only those with ``status``."""
        query = select(LimitChangeRow.__table__)
        if status is not None:
            query = query.where(LimitChangeRow.status == status)
        query = query.order_by(LimitChangeRow.effective_at, LimitChangeRow.change_id).limit(limit)
        return [_record_of(LimitChange, row) for row in self._rows(query)]

    def dead_letters(self, limit: int = 100) -> list[dict[str, Any]]:
        """The most recently received dead letters, as plain dicts."""
        query = (select(DeadLetterRow.__table__)
                 .order_by(DeadLetterRow.received_at.desc(), DeadLetterRow.dead_letter_id).limit(limit))
        return [dict(row) for row in self._rows(query)]

    def counts(self) -> dict[str, dict[str, int]]:
        """How many records of each kind (``alert``, ``task``, ``limit``) by status; dead letters in all."""
        result: dict[str, dict[str, int]] = {}
        with self.engine.connect() as connection:
            for kind, row in (("alert", AlertRow), ("task", TaskRow), ("limit", LimitChangeRow)):
                query = select(row.status, func.count()).group_by(row.status).order_by(row.status)
                result[kind] = {status: n for status, n in connection.execute(query)}
            dead = connection.execute(select(func.count()).select_from(DeadLetterRow)).scalar_one()
        result["dead_letter"] = {"all": dead}
        return result

    def _rows(self, query: Any) -> Sequence[RowMapping]:
        with self.engine.connect() as connection:
            return connection.execute(query).mappings().all()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL: the risk desk reads while the worker writes. NORMAL sync is safe in WAL mode;
    # a lost last transaction after power loss is replayed from Kafka under the same ids.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _json_dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _flush(connection: Connection, pending: dict[Table, dict[str, dict[str, Any]]],
           write: Callable[[Connection, Table, list[dict[str, Any]]], None]) -> None:
    for table, rows in pending.items():
        if rows:
            write(connection, table, list(rows.values()))
    pending.clear()


def _upsert(connection: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    insert = INSERTS[connection.dialect.name](table)
    changed = {c.name: insert.excluded[c.name] for c in table.columns if not c.primary_key}
    key = [c.name for c in table.primary_key]
    connection.execute(insert.on_conflict_do_update(index_elements=key, set_=changed), rows)


def _insert_new(connection: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    insert = INSERTS[connection.dialect.name](table)
    key = [c.name for c in table.primary_key]
    connection.execute(insert.on_conflict_do_nothing(index_elements=key), rows)


def _row_of(record: Output) -> dict[str, Any]:
    row = {name: getattr(record, name) for name in FIELDS[type(record)]}
    if "reasons" in row:
        row["reasons"] = [_reason_json(reason) for reason in row["reasons"]]
    return row


def _reason_json(reason: Reason) -> dict[str, Any]:
    # JSON has no NaN or infinity (PostgreSQL rejects them): such values are kept as words.
    return {name: str(value) if isinstance(value, float) and not math.isfinite(value) else value
            for name in REASON_FIELDS for value in [getattr(reason, name)]}


def _record_of(kind: type, row: RowMapping) -> Any:
    values = {name: row[name] for name in FIELDS[kind]}
    if "reasons" in values:
        values["reasons"] = tuple(Reason(**{k: v for k, v in item.items() if k in REASON_FIELDS})
                                  for item in values["reasons"] or ())
    return kind(**values)


def _dead_letter_row(given: Mapping[str, Any]) -> dict[str, Any]:
    unknown = set(given) - set(DEAD_LETTER_FIELDS)
    if unknown:
        raise ValueError(f"unknown dead-letter fields: {sorted(unknown)}")
    row = {name: given.get(name) for name in DEAD_LETTER_FIELDS}
    raw = row["raw"]
    if isinstance(raw, bytes | bytearray | memoryview):
        try:
            row["raw"], row["raw_encoding"] = bytes(raw).decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            row["raw"], row["raw_encoding"] = base64.b64encode(bytes(raw)).decode("ascii"), "base64"
    elif row["raw_encoding"] is None:
        row["raw_encoding"] = "utf-8"
    if isinstance(row["received_at"], dt.datetime):
        row["received_at"] = row["received_at"].isoformat()
    for name in ("source", "raw", "error", "received_at"):
        if row[name] is None:
            raise ValueError(f"a dead letter needs {name!r}")
    if row["dead_letter_id"] is None:
        if row["offset"] is None:
            raise ValueError("a dead letter needs 'dead_letter_id' or 'offset' to be identified")
        row["dead_letter_id"] = record_id("dead_letter", row["source"], row["partition"], row["offset"])
    return row
