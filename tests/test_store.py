"""The output store, on SQLite and on a real PostgreSQL: the same tests on both."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, inspect, text

from alerts.records import Alert, CollectionTask, LimitChange, Reason
from alerts.store import Base, Store, alembic_config

ROOT = Path(__file__).resolve().parents[1]
TABLES = {"alerts", "collection_tasks", "limit_changes", "dead_letters"}


def alert(alert_id: str = "A1", **changes: Any) -> Alert:
    reasons = (Reason("dpd_30", "30 days past due", "逾期30天", 31.0, 0.0, 30.0),
               Reason("revenue_drop", "sales fell by half", "销售额下降一半", "0.48", None, 0.5))
    made = Alert(alert_id, "B1", "L1", "dpd_30", "warning", "open", reasons, 0.42, "special_mention",
                 "2026-03-07T00:00:00+08:00", "2026-03-07T00:00:00+08:00")
    return replace(made, **changes)


def task(task_id: str = "T1", **changes: Any) -> CollectionTask:
    made = CollectionTask(task_id, "L1", "B1", 1, "call", "phone", 0.5, 12, Decimal("10400.00"), "open",
                          "2026-02-20", "installment 1 overdue", "dpd_1_30", "early",
                          "2026-02-17T00:00:00+08:00", "2026-02-17T00:00:00+08:00")
    return replace(made, **changes)


def limit_change(change_id: str = "C1", **changes: Any) -> LimitChange:
    made = LimitChange(change_id, "B1", "L1", Decimal("120000.00"), Decimal("60000.00"), "decrease", "applied",
                       (Reason("revenue_drop", "sales fell by half", "销售额下降一半", 0.48, 1.0, 0.5),),
                       "2026-03-07T00:00:00+08:00", "revenue 30d vs 90d")
    return replace(made, **changes)


def dead_letter(offset: int = 7, **changes: Any) -> dict[str, object]:
    return {"source": "loanwatch.revenue", "partition": 0, "offset": offset, "raw": '{"schema": "revenue/9"}',
            "error": "unknown schema revenue/9", "received_at": "2026-03-07T10:00:00+00:00", **changes}


def empty(url: str) -> None:
    """Drop the store's tables and Alembic's version table, if there."""
    engine = create_engine(url)
    with engine.begin() as connection:
        Base.metadata.drop_all(connection)
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    engine.dispose()


def schema_of(store: Store) -> dict[str, object]:
    """Tables with their columns and indexes, and Alembic's revision, comparable with ==."""
    seen = inspect(store.engine)
    schema: dict[str, object] = {
        name: ([(c["name"], str(c["type"]), c["nullable"]) for c in seen.get_columns(name)],
               sorted((i["name"], tuple(i["column_names"])) for i in seen.get_indexes(name)))
        for name in sorted(TABLES)}
    with store.engine.connect() as connection:
        schema["revision"] = MigrationContext.configure(connection).get_current_revision()
    return schema


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database: a fresh SQLite file, or the session's PostgreSQL emptied."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'loanwatch.db'}"
        return
    url = request.getfixturevalue("postgres_url")
    empty(url)
    yield url
    empty(url)


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    with Store(database_url) as made:
        made.create_schema()
        yield made


def test_a_later_version_of_a_record_replaces_the_earlier_one(store: Store) -> None:
    store.save([alert(status="open"), task(priority=0.1), limit_change(status="needs_review")])
    store.save([alert(status="updated", risk_score=0.7), task(priority=0.9), limit_change(status="applied")])

    assert store.open_alerts() == [alert(status="updated", risk_score=0.7)]
    assert store.task_feed() == [task(priority=0.9)]
    assert store.limit_changes() == [limit_change(status="applied")]


def test_within_one_batch_the_last_version_of_an_id_wins(store: Store) -> None:
    versions = [task(priority=p / 10) for p in range(10)]

    store.save(versions)

    assert store.task_feed() == [task(priority=0.9)]


def test_saving_the_same_batch_twice_leaves_one_row_per_id(store: Store) -> None:
    batch = [alert(f"A{i}") for i in range(5)] + [task(f"T{i}") for i in range(5)] + [limit_change("C1")]

    store.save(batch)
    store.save(batch)

    assert store.counts() == {"alert": {"open": 5}, "task": {"open": 5}, "limit": {"applied": 1},
                              "dead_letter": {"all": 0}}
    assert len(store.open_alerts()) == 5 and len(store.task_feed()) == 5


def test_batches_larger_than_the_flush_size_are_all_saved(database_url: str) -> None:
    with Store(database_url, batch_size=7) as store:
        store.create_schema()
        store.save(task(f"T{i:03}", priority=i) for i in range(100))

        assert [t.task_id for t in store.task_feed(limit=3)] == ["T099", "T098", "T097"]
        assert store.counts()["task"] == {"open": 100}


def test_money_round_trips_exactly_as_decimal(store: Store) -> None:
    amounts = [Decimal("0.01"), Decimal("10400.00"), Decimal("1234567890123456.78"),
               Decimal("9999999999999999.99"), Decimal("0.10") + Decimal("0.20")]
    store.save(task(f"T{i}", amount_overdue=amount) for i, amount in enumerate(amounts))
    store.save([limit_change(old_limit=Decimal("9999999999999999.99"), new_limit=Decimal("0.30"))])

    saved = {t.task_id: t.amount_overdue for t in store.task_feed()}

    assert saved == {f"T{i}": amount for i, amount in enumerate(amounts)}
    assert all(isinstance(amount, Decimal) and str(amount) == f"{amount:.2f}" for amount in saved.values())
    assert saved["T4"] == Decimal("0.30")
    change = store.limit_changes()[0]
    assert (change.old_limit, change.new_limit) == (Decimal("9999999999999999.99"), Decimal("0.30"))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.decimals(min_value=Decimal("-9999999999999999.99"), max_value=Decimal("9999999999999999.99"), places=2))
def test_any_amount_with_cents_round_trips_exactly(store: Store, amount: Decimal) -> None:
    store.save([task(amount_overdue=amount)])

    assert store.task_feed()[0].amount_overdue == amount


def test_amounts_are_rounded_to_the_cent_and_impossible_amounts_are_refused(store: Store) -> None:
    store.save([task(amount_overdue=Decimal("10.005"))])

    assert store.task_feed()[0].amount_overdue == Decimal("10.01")
    with pytest.raises(Exception, match="out of range"):
        store.save([task(amount_overdue=Decimal("10000000000000000.00"))])
    with pytest.raises(Exception, match="out of range"):
        store.save([task(amount_overdue=Decimal("NaN"))])


def test_reasons_come_back_as_reason_tuples_with_their_chinese_messages(store: Store) -> None:
    store.save([alert(), limit_change()])

    assert store.open_alerts()[0].reasons == alert().reasons
    assert store.limit_changes()[0].reasons[0].message_zh == "销售额下降一半"


def test_task_feed_lists_open_tasks_by_priority_and_never_closed_ones(store: Store) -> None:
    store.save([task("T1", priority=0.2), task("T2", priority=0.9), task("T3", priority=0.5),
                task("T4", priority=1.0, status="cancelled"), task("T5", priority=1.0, status="escalated"),
                task("T6", priority=1.0, status="done"), task("T7", priority=0.5, queue="legal")])
    store.save([task("T2", priority=0.9, status="done"), task("T1", priority=0.95)])

    feed = store.task_feed()

    assert [t.task_id for t in feed] == ["T1", "T3", "T7"]
    assert len({t.task_id for t in feed}) == len(feed)
    assert [t.task_id for t in store.task_feed(queue="legal")] == ["T7"]
    assert [t.task_id for t in store.task_feed(limit=1)] == ["T1"]


def test_open_alerts_exclude_resolved_ones_and_come_most_severe_first(store: Store) -> None:
    store.save([alert("A1", severity="info"), alert("A2", severity="critical", status="updated"),
                alert("A3", severity="warning"), alert("A4", severity="critical", status="resolved")])

    assert [a.alert_id for a in store.open_alerts()] == ["A2", "A3", "A1"]
    assert [a.alert_id for a in store.open_alerts(severity="critical")] == ["A2"]
    store.save([alert("A2", severity="critical", status="resolved")])
    assert [a.alert_id for a in store.open_alerts()] == ["A3", "A1"]


def test_limit_changes_can_be_filtered_by_status(store: Store) -> None:
    store.save([limit_change("C1", effective_at="2026-03-02T00:00:00+08:00"),
                limit_change("C2", status="needs_review", effective_at="2026-03-01T00:00:00+08:00"),
                limit_change("C3", effective_at="2026-03-01T00:00:00+08:00")])

    assert [c.change_id for c in store.limit_changes()] == ["C2", "C3", "C1"]
    assert [c.change_id for c in store.limit_changes(status="needs_review")] == ["C2"]


def test_counts_report_records_by_kind_and_status(store: Store) -> None:
    store.save([alert("A1"), alert("A2", status="resolved"), task("T1"), task("T2", status="done"),
                task("T3", status="done"), limit_change()])
    store.save_dead_letters([dead_letter()])

    assert store.counts() == {"alert": {"open": 1, "resolved": 1}, "task": {"done": 2, "open": 1},
                              "limit": {"applied": 1}, "dead_letter": {"all": 1}}


def test_dead_letters_are_saved_once_per_id(store: Store) -> None:
    store.save_dead_letters([dead_letter(7), dead_letter(7), dead_letter(8)])
    store.save_dead_letters([dead_letter(7, error="seen again"), dead_letter(dead_letter_id="D1")])

    letters = store.dead_letters()

    assert store.counts()["dead_letter"] == {"all": 3}
    assert sorted(letter["error"] for letter in letters) == ["unknown schema revenue/9"] * 3
    assert {letter["raw_encoding"] for letter in letters} == {"utf-8"}


def test_dead_letter_bytes_are_kept_as_text_or_base64(store: Store) -> None:
    store.save_dead_letters([dead_letter(1, raw="营收".encode()), dead_letter(2, raw=b"\xff\x00{")])

    kept = {letter["offset"]: (letter["raw"], letter["raw_encoding"]) for letter in store.dead_letters()}

    assert kept == {1: ("营收", "utf-8"), 2: ("/wB7", "base64")}


def test_saving_something_that_is_not_an_output_record_is_refused(store: Store) -> None:
    with pytest.raises(TypeError, match="not an output record"):
        store.save([{"alert_id": "A1"}])  # type: ignore[list-item]


def test_the_migration_builds_the_schema_on_an_empty_database(database_url: str) -> None:
    with Store(database_url) as store:
        store.create_schema()

        tables = set(inspect(store.engine).get_table_names())
        with store.engine.connect() as connection:
            revision = MigrationContext.configure(connection).get_current_revision()

    assert TABLES <= tables
    assert revision == ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_running_the_migration_twice_changes_nothing(database_url: str) -> None:
    with Store(database_url) as store:
        store.create_schema()
        store.save([alert(), task()])
        before = schema_of(store)

        store.create_schema()

        assert schema_of(store) == before
        assert store.open_alerts() == [alert()] and store.task_feed() == [task()]


@pytest.mark.postgres
def test_workers_that_create_the_schema_at_the_same_time_all_succeed(postgres_url: str) -> None:
    empty(postgres_url)
    script = "import sys; from alerts.store import Store; Store(sys.argv[1]).create_schema()"
    workers = [subprocess.Popen([sys.executable, "-c", script, postgres_url], cwd=ROOT, stderr=subprocess.PIPE,
                                text=True) for _ in range(4)]
    errors = [worker.communicate(timeout=60)[1] for worker in workers]

    assert [worker.returncode for worker in workers] == [0] * 4, errors
    with Store(postgres_url) as store:
        assert TABLES <= set(inspect(store.engine).get_table_names())
    empty(postgres_url)


def test_the_migration_builds_exactly_the_tables_the_models_describe(store: Store) -> None:
    with store.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)

    assert differences == []


def test_the_migration_can_be_undone(database_url: str) -> None:
    with Store(database_url) as store:
        store.create_schema()
        config = alembic_config()
        with store.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "base")

        assert not TABLES & set(inspect(store.engine).get_table_names())


def test_saving_ten_thousand_records_on_sqlite_takes_well_under_a_few_seconds(tmp_path: Path) -> None:
    records = [task(f"T{i}") if i % 3 == 0 else alert(f"A{i}") if i % 3 == 1 else limit_change(f"C{i}")
               for i in range(10_000)]
    with Store(f"sqlite:///{tmp_path / 'loanwatch.db'}") as store:
        store.create_schema()

        started = time.perf_counter()
        store.save(records)
        elapsed = time.perf_counter() - started

        assert sum(sum(by_status.values()) for by_status in store.counts().values()) == 10_000
    assert elapsed < 3.0, f"saving 10,000 records took {elapsed:.2f} s"
