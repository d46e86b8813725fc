"""The live worker: a faust app built by one function from the settings.

One agent (concurrency 1, faust issue #606) reads the co-partitioned input
topics (events, collection outcomes, clock ticks), keeps each borrower's state
in a changelog-backed table and sends outputs and dead letters to their
topics. The agent holds no business logic: decode, step, write table, send.

Clock ticks: every ``worker.tick_seconds`` the worker sends a tick carrying the
wall-clock time to each input partition it owns and has fully read. The agent
handles a tick like an event of that partition: the borrowers of that partition
whose next timer is due are advanced. Ticks go through the log, so the timer
firings are ordered with the events and written to the same changelog
partition as the state they change.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import time
from collections.abc import Iterator
from typing import Any

import faust
import msgspec
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from streams import metrics
from streams.core.shared import Member
from streams.decode import DeadLetter
from streams.processor import Message, Processor, Result
from streams.replay import encode_record
from streams.settings import Settings
from streams.topics import FEEDS_TABLE, STATE_TABLE, dead_letter_bytes

log = logging.getLogger("loanwatch.worker")

EXIT_SKIPPED = 75  # EX_TEMPFAIL: faust skipped input messages; restart the worker to re-read them


class Health:
    """Unhealthy when a partition with messages waiting has not committed for ``stall_seconds``."""

    def __init__(self, stall_seconds: float) -> None:
        self.stall_seconds = stall_seconds
        self.seen: dict[Any, tuple[int, float]] = {}  # partition -> (committed offset, when it last moved)

    def check(self, committed: dict[Any, int], lag: dict[Any, int], now: float) -> tuple[bool, str]:
        """(healthy, why), judged per partition.

        >>> h = Health(stall_seconds=10)
        >>> h.check({"p0": 5}, {"p0": 3}, now=100.0)[0]
        True
        >>> h.check({"p0": 5}, {"p0": 3}, now=120.0)
        (False, 'p0: committed offset 5 has not moved for 20 s while 3 messages wait')
        >>> h.check({"p0": 8}, {"p0": 0}, now=140.0)[0]
        True
        """
        worst = None
        for tp, waiting in lag.items():
            offset = committed.get(tp, -1)
            last = self.seen.get(tp)
            if last is None or last[0] != offset or waiting <= 0:
                self.seen[tp] = (offset, now)
                continue
            stalled = now - last[1]
            if stalled > self.stall_seconds and (worst is None or stalled > worst[0]):
                worst = (stalled, f"{tp}: committed offset {offset} has not moved for {stalled:.0f} s "
                                  f"while {waiting} messages wait")
        if worst is not None:
            return False, worst[1]
        return True, "ok" if not any(v > 0 for v in lag.values()) else "committing"


def create_app(settings: Settings) -> faust.App:
    """The worker's faust app, its topics, table, agent, ticker and web pages."""
    t = settings.topics
    app = faust.App(
        settings.kafka.app_id,
        broker=f"kafka://{settings.kafka.bootstrap}",
        store="memory://",
        key_serializer="raw",  # every message and the state changelog are raw bytes; the codecs are ours
        value_serializer="raw",
        autodiscover=False,
        topic_partitions=t.partitions,
        topic_replication_factor=t.replication,
        topic_allow_declare=False,  # topics are created by `loanwatch topics create`, never implicitly
        topic_disable_leader=True,
        broker_commit_interval=settings.kafka.commit_interval_seconds,
        broker_session_timeout=settings.kafka.session_timeout_seconds,
        broker_heartbeat_interval=min(3.0, settings.kafka.session_timeout_seconds / 3),
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        producer_max_request_size=dead_letter_bytes(settings),
        consumer_max_fetch_size=2 * settings.kafka.max_event_bytes,
        web_enabled=True,
        web_port=settings.worker.web_port,
        web_bind="0.0.0.0",
        web_host="127.0.0.1",
        table_cleanup_interval=3600.0,
    )
    raw = {"key_serializer": "raw", "value_serializer": "raw"}
    inputs = app.topic(*t.inputs(), **raw)
    out_topics = {
        "alert": app.topic(t.alerts, **raw),
        "task": app.topic(t.tasks, **raw),
        "limit": app.topic(t.limits, **raw),
        "dead_letter": app.topic(t.dead_letters, **raw),
    }
    ticks_topic = app.topic(t.ticks, **raw)
    # use_partitioner=False: a state write goes to the changelog partition of the message being handled,
    # which is the borrower's partition (inputs are co-partitioned, ticks are sent per partition)
    # key_type/value_type bytes: faust then reads the changelog back raw at recovery (it picks the codec
    # from these types, not from a schema)
    states = app.Table(STATE_TABLE, partitions=t.partitions, use_partitioner=False,
                       key_type=bytes, value_type=bytes)
    # what each input partition shares (streams.core.shared): its feed board and models, under b"part/<partition>"
    boards = app.Table(FEEDS_TABLE, partitions=t.partitions, use_partitioner=False,
                       key_type=bytes, value_type=bytes)
    processor = Processor(settings.policy(), settings.kafka.max_event_bytes, t.partitions)
    unsent: set[Any] = set()  # state writes not yet acknowledged by the broker (FutureMessage)
    _flush_state_before_commit(app, unsent)
    # key -> (partition, next timer, what its partition's day's end reads of the borrower)
    borrowers: dict[bytes, tuple[int, int | None, Member]] = {}
    index = {"complete": False}  # False until rebuilt from the whole table after an assignment
    processed: dict[tuple[str, int], int] = {}  # (topic, partition) -> next offset to read
    health = Health(settings.worker.health_stall_seconds)

    async def send(result: Result, key: bytes | None) -> None:
        """Send the outputs and wait until the broker has them, before the state is written.

        A crash after the send and before the state write re-processes the
        event and sends the same records again (same ids, same content); the
        other order could lose them. Dead letters go the same way.
        """
        batch = [(out_topics[r.kind], encode_record(r)) for r in result.outputs]
        batch += [(out_topics["dead_letter"], encode_record(d)) for d in result.dead_letters]
        if batch:
            await _deliver(batch, key, settings)

    def remember(key: bytes, state_raw: bytes) -> None:
        borrowers[key] = processor.place(state_raw)

    def rebuild_timers() -> None:
        borrowers.clear()
        for key, value in states.items():
            if value:
                remember(key, value)
        index["complete"] = True
        metrics.BORROWERS.set(len(borrowers))

    def load_part(partition: int) -> None:
        """The partition's board and models as last saved (the table has recovered when a message is read)."""
        if partition not in processor.parts:
            processor.parts[partition] = processor.new_part(boards.get(f"part/{partition}".encode()))

    def members_states(partition: int) -> Iterator[Member]:
        """The states of the partition's borrowers (what its board counts and its models learn from)."""
        if not index["complete"]:
            rebuild_timers()
        mine = sorted((k, member) for k, (p, _at, member) in borrowers.items() if p == partition)
        return (member for _k, member in mine)

    async def save_part(partition: int) -> None:
        """Checkpoint the partition's board and models, and wait for the broker to have it.

        Once a day of the partition (after the day's end), before any later state write: a crash then
        finds the checkpoint no older than the borrowers' states, and derives the same from them.
        """
        key, value = f"part/{partition}".encode(), processor.parts[partition].encode()
        boards.data[key] = value
        await (await boards.changelog_topic.send(key=key, value=value, partition=partition, force=True))

    async def end_days(partition: int, now: int) -> bool:
        """``now`` may end days of the partition: outages judged (ops alerts sent, keyed by feed:<source>)."""
        load_part(partition)
        if not processor.day_ends(partition, now):
            return False
        for alert in processor.close_feeds(partition, now, members_states(partition)):
            await send(Result(outputs=[alert]), alert.borrower_id.encode())
        return True

    async def after_days(partition: int, now: int) -> None:
        """After the day's end and the due borrowers' ticks: the models learn, the partition is checkpointed."""
        processor.learn(partition, now, members_states(partition))
        await save_part(partition)

    async def on_event(message: Any) -> None:
        msg = Message(message.value or b"", message.topic, message.partition, message.offset,
                      dt.datetime.now(dt.UTC).isoformat(), message.key)
        decoded = processor.decode(msg)
        if isinstance(decoded, DeadLetter):
            await send(Result(dead_letters=[decoded]), message.key)
            return
        key = decoded.borrower_id.encode()
        clock = processor.clock(decoded, msg)
        ends = await end_days(message.partition, clock)  # the same day's end as in the replay
        result = processor.handle(decoded, states.get(key), msg)
        await send(result, key)
        if result.state is not None:
            await put_state(key, result.state, message.partition)
        if ends:
            await tick_due(message.partition, clock)
            await after_days(message.partition, clock)

    async def put_state(key: bytes, value: bytes, partition: int) -> None:
        """Write the borrower's state to the table and send it to the changelog (the send is tracked).

        Sent straight to the producer (``force=True``), not through faust's
        ``send_soon`` buffer: a write left in that buffer was seen never to
        leave it, which held every later commit (``/health`` showed one state
        write in flight for good).
        """
        states.data[key] = value
        sent = await states.changelog_topic.send(key=key, value=value, partition=partition, force=True)
        unsent.add(sent)
        sent.add_done_callback(unsent.discard)
        remember(key, value)

    async def on_tick(message: Any) -> None:
        try:
            now = int(msgspec.json.decode(message.value)["now"])
        except Exception:  # a foreign message on the ticks topic is not ours to act on
            log.warning("ignored a malformed tick at %s[%s]@%s", message.topic, message.partition, message.offset)
            return
        if not index["complete"]:  # the table has recovered by the time the agent reads a message
            rebuild_timers()
        ends = await end_days(message.partition, now)  # judged before the borrowers' timers fire
        await tick_due(message.partition, now)
        if ends:
            await after_days(message.partition, now)
        metrics.TICKS.inc()

    async def tick_due(partition: int, now: int) -> None:
        """Advance the partition's borrowers whose next timer (or held event) is due by ``now``."""
        if not index["complete"]:  # the table has recovered by the time the agent reads a message
            rebuild_timers()
        limit = now - processor.policy.lateness_seconds
        due = [k for k, (p, at, _m) in borrowers.items() if p == partition and at is not None and at <= limit]
        for key in sorted(due):
            result = processor.tick(states[key], now)
            await send(result, key)
            if result.state is not None:
                await put_state(key, result.state, partition)

    def check_contiguous(message: Any) -> None:
        """Stop the worker when faust hands over a message past one it never delivered.

        Input topics are neither compacted nor transactional, so offsets are
        contiguous. After a restart faust can drop the first fetched messages
        of a partition (faust-streaming issue #596) and then either never
        commit again or, for a gap of exactly one, commit over it (#707): an
        event silently lost. Nothing after the gap has been acknowledged, so
        exiting makes the supervisor's restart re-read from the committed
        offset, which includes the skipped messages.
        """
        tp = message.tp
        want = processed.get((message.topic, message.partition))
        if want is None:
            want = app.consumer._committed_offset.get(tp)  # noqa: SLF001 -- faust's own view after its seek
        if want is not None and message.offset > want:
            log.critical("faust skipped %s[%s] offsets %d..%d (faust-streaming #596); exiting with %d "
                         "so that a restart re-reads them", message.topic, message.partition, want,
                         message.offset - 1, EXIT_SKIPPED)
            logging.shutdown()
            os._exit(EXIT_SKIPPED)

    @app.agent(inputs, concurrency=1, name="handle_events")
    async def handle_events(stream: Any) -> None:
        async for event in stream.events():
            message = event.message
            check_contiguous(message)
            try:
                if message.topic == t.ticks:
                    await on_tick(message)
                else:
                    await on_event(message)
            except Exception as exc:  # never let one message stop the worker
                log.exception("failed to handle %s[%s]@%s", message.topic, message.partition, message.offset)
                msg = Message(message.value or b"", message.topic, message.partition, message.offset,
                              dt.datetime.now(dt.UTC).isoformat(), message.key)
                letter = processor.dead(msg, f"internal error while handling the event: "
                                             f"{type(exc).__name__}: {exc}")
                await send(Result(dead_letters=[letter]), message.key)
            processed[(message.topic, message.partition)] = message.offset + 1

    def caught_up(partition: int) -> bool:
        """Whether this worker has read every input message of the partition (ticks wait until then).

        After a (re)assignment nothing may be left to read: the offsets committed
        before it count as read, or the ticks (and the held events they release)
        would stop until the next message.
        """
        committed = app.consumer._committed_offset  # noqa: SLF001 -- faust's own view, as in /health
        for topic in (t.events, t.collection_outcomes):
            tp = next((tp for tp in app.consumer.assignment()
                       if tp.topic == topic and tp.partition == partition), None)
            if tp is None:
                return False
            end = app.consumer.highwater(tp)
            if end is None:  # not fetched yet (just started): a tick now would queue behind the backlog
                return False
            done = max(processed.get((topic, partition), 0), committed.get(tp) or 0)
            if end and done < end:  # a partition that has never had a message is caught up
                return False
        return True

    @app.timer(settings.worker.tick_seconds, name="send_ticks")
    async def send_ticks() -> None:
        now = int(time.time())
        value = msgspec.json.encode({"now": now})
        for tp in sorted(app.consumer.assignment()):
            if tp.topic == t.events and caught_up(tp.partition):
                await ticks_topic.send(key=b"tick", value=value, partition=tp.partition)

    @app.on_partitions_assigned.connect
    async def on_assigned(sender: Any, assigned: Any, **kwargs: Any) -> None:
        index["complete"] = False  # rebuilt at the next tick, once the table has recovered
        processor.parts.clear()  # reloaded from their table as their partitions are read again
        metrics.forget_partitions()
        for tp in assigned:  # after a (re)assignment reading starts again from the committed offset
            processed.pop((tp.topic, tp.partition), None)

    def lag_and_commits() -> tuple[dict[Any, int], dict[Any, int]]:
        """Messages not yet committed, by input partition, and the committed offsets.

        The committed offsets are the consumer's (read from the broker when the
        partition was assigned, then updated at every commit), not only this
        process's own commits: after a restart a partition with nothing new to
        commit is not "stalled".
        """
        known = app.consumer._committed_offset  # noqa: SLF001 -- faust's own view
        committed = {tp: known[tp] for tp in app.consumer.assignment() if known.get(tp) is not None}
        lag = {tp: max((app.consumer.highwater(tp) or 0) - committed.get(tp, 0), 0)
               for tp in app.consumer.assignment() if tp.topic in t.inputs()}
        return lag, committed

    def by_topic(lag: dict[Any, int]) -> dict[str, int]:
        totals = dict.fromkeys(t.inputs(), 0)
        for tp, n in lag.items():
            totals[tp.topic] += n
        return totals

    @app.page("/health")
    async def health_page(web: Any, request: Any) -> Any:
        if not app.consumer.assignment():
            return web.json({"healthy": True, "reason": "starting: no partitions assigned yet", "lag": None})
        lag, committed = lag_and_commits()
        ok, why = health.check(committed, lag, time.monotonic())
        metrics.HEALTHY.set(1 if ok else 0)
        return web.json({"healthy": ok, "reason": why, "lag": sum(lag.values()), "lag_by_topic": by_topic(lag),
                         "not_fetching": not_fetching(), "state_writes_in_flight": len(unsent),
                         "not_handled": not_handled()},
                        status=200 if ok else 503)

    def not_handled() -> dict[str, int]:
        """Messages in each input partition the agent has not handled yet (0s left out): a diagnosis aid."""
        out = {}
        for tp in app.consumer.assignment():
            if tp.topic in t.inputs():
                left = (app.consumer.highwater(tp) or 0) - processed.get((tp.topic, tp.partition), 0)
                if left > 0:
                    out[f"{tp.topic}[{tp.partition}]"] = left
        return out

    def not_fetching() -> list[str]:
        """Input partitions faust does not fetch from right now (paused, or its buffer full): a diagnosis aid."""
        active = app.consumer._active_partitions  # noqa: SLF001 -- faust's own fetch set
        if active is None:
            return []
        return sorted(f"{tp.topic}[{tp.partition}]" for tp in app.consumer.assignment()
                      if tp.topic in t.inputs() and tp not in active)

    @app.page("/metrics")
    async def metrics_page(web: Any, request: Any) -> Any:
        lag, committed = lag_and_commits()
        if app.consumer.assignment():
            ok, _why = health.check(committed, lag, time.monotonic())
            metrics.HEALTHY.set(1 if ok else 0)
        for topic, n in by_topic(lag).items():
            metrics.CONSUMER_LAG.labels(topic=topic).set(n)
        # aiohttp refuses a charset inside content_type, so the exposition type goes in as a header
        return web.bytes(generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    return app


def _flush_state_before_commit(app: faust.App, unsent: set[Any]) -> None:
    """Make faust's offset commit wait until every state write is on the broker.

    faust commits offsets after ``producer.flush()``, but that flush gives up
    on its buffer after 0.1 s without a send (``ProducerBuffer.flush_atmost``),
    so a state write could still sit in the buffer when the offset of its
    event is committed; a SIGKILL then loses the write while the event is
    never read again (seen as extra alerts in the crash test). The agent
    tracks each changelog send; this flush waits for all of them.
    """
    producer = app.producer
    flush = producer.flush

    async def flush_with_state() -> None:
        await flush()
        while unsent:
            await asyncio.gather(*list(unsent))

    producer.flush = flush_with_state  # type: ignore[method-assign]


async def _deliver(batch: list[tuple[Any, bytes]], key: bytes | None, settings: Settings) -> None:
    """Send records now (not attached to the offset commit) and wait for the broker's acks.

    A broker hiccup is transient: retried with backoff; after the last try the
    error is raised and the worker stops rather than lose a record.
    """
    attempts = settings.worker.retry_attempts
    for attempt in range(1, attempts + 1):
        try:
            futures = [await topic.send(key=key, value=value, force=True) for topic, value in batch]
            await asyncio.gather(*futures)
            return
        except Exception:
            if attempt == attempts:
                raise
            metrics.RETRIES.labels(operation="send").inc()
            log.warning("send failed (attempt %d of %d); retrying", attempt, attempts, exc_info=True)
            await asyncio.sleep(settings.worker.retry_backoff_seconds * 2 ** (attempt - 1))
