"""Helpers for tests against the real broker: a worker subprocess, topics, and output collection."""

from __future__ import annotations

import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from streams import topics as topic_admin
from streams.app import EXIT_SKIPPED
from streams.produce import produce
from streams.settings import Settings, load

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def isolated_settings(tmp: Path, bootstrap: str, partitions: int = 4) -> tuple[Settings, Path]:
    """Settings with topics and app id of their own, written to a TOML file a worker can read."""
    tag = uuid.uuid4().hex[:8]
    config = tmp / f"loanwatch-{tag}.toml"
    names = {k: f"t{tag}.{k}" for k in ("events", "collection_outcomes", "ticks", "alerts", "tasks",
                                         "limits", "dead_letters")}
    lines = [f'store_url = "sqlite:///{tmp}/store-{tag}.db"', "", "[kafka]", f'bootstrap = "{bootstrap}"', f'app_id = "lw-{tag}"', "commit_interval_seconds = 1.0",
             "session_timeout_seconds = 6.0",
             "", "[worker]", f"web_port = {free_port()}", "tick_seconds = 1.0", "health_stall_seconds = 20.0", "", "[topics]",
             f"partitions = {partitions}", f"output_partitions = {partitions}"]
    lines += [f'{k} = "{v}"' for k, v in names.items()]
    lines += ["", "[core]", "lateness_seconds = 10",  # events wait 10 s for late ones, not the default 2 h
              "pd_min_positives = 2"]  # the partitions' learned default models weigh in: their parity is tested
    config.write_text("\n".join(lines) + "\n")
    return load(config, env={}), config


class Worker:
    """``loanwatch worker`` in a subprocess, stopped by its own PID."""

    def __init__(self, config: Path, log: Path) -> None:
        self.config = config
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None
        self.restarts = 0  # restarts after EXIT_SKIPPED

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LOANWATCH_")}
        env["PYTHONPATH"] = str(ROOT)
        out = self.log.open("ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "streams.cli", "--config", str(self.config), "worker"],
                                     cwd=self.log.parent, env=env, stdout=out, stderr=subprocess.STDOUT,
                                     start_new_session=True, preexec_fn=_die_with_parent)

    def kill(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def terminate(self, timeout: float = 30) -> float:
        """SIGTERM; returns how long it took to exit."""
        assert self.proc is not None
        started = time.monotonic()
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
                raise
        return time.monotonic() - started

    def alive(self) -> bool:
        """Running; a worker that exited because faust skipped messages is restarted, as a supervisor would."""
        if self.proc is not None and self.proc.poll() == EXIT_SKIPPED:
            print(f"worker exited with {EXIT_SKIPPED} (faust skipped input messages): restarting it")
            self.restarts += 1
            self.start()
        return self.proc is not None and self.proc.poll() is None

    def tail(self, n: int = 60) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:]) if self.log.exists() else ""


def _die_with_parent() -> None:
    """In the child: Linux kills it when the test process dies, so no worker outlives its test."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def events_handled(settings: Settings) -> float:
    """Events this worker process has handled (its own counter, from /metrics); -1 when it does not answer."""
    try:
        text = metrics_text(settings)
    except OSError:
        return -1
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("loanwatch_events_total{"))


def health(settings: Settings) -> dict[str, Any] | None:
    url = f"http://127.0.0.1:{settings.worker.web_port}/health"
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return json.loads(r.read())  # type: ignore[no-any-return]
    except urllib.error.HTTPError as e:
        return json.loads(e.read())  # type: ignore[no-any-return]
    except OSError:
        return None


def metrics_text(settings: Settings) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{settings.worker.web_port}/metrics", timeout=5) as r:
        return r.read().decode()


def read_topics(bootstrap: str, names: Iterable[str]) -> list[tuple[str, bytes | None, bytes]]:
    """Every message now in the topics, from the beginning (topic, key, value)."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, consumer_timeout_ms=1500)
    tps = [TopicPartition(n, p) for n in names for p in (consumer.partitions_for_topic(n) or ())]
    consumer.assign(tps)
    consumer.seek_to_beginning(*tps)
    ends = consumer.end_offsets(tps)
    out: list[tuple[str, bytes | None, bytes]] = []
    deadline = time.monotonic() + 120
    while any(consumer.position(tp) < ends[tp] for tp in tps) and time.monotonic() < deadline:
        for records in consumer.poll(timeout_ms=1000, max_records=5000).values():
            out.extend((r.topic, r.key, r.value) for r in records)
    consumer.close()
    return out


def topic_size(bootstrap: str, names: Iterable[str]) -> int:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    tps = [TopicPartition(n, p) for n in names for p in (consumer.partitions_for_topic(n) or ())]
    ends = consumer.end_offsets(tps)
    consumer.close()
    return sum(ends.values())


class Stalled(AssertionError):
    """The worker's /health said it stopped committing while messages wait."""


def wait_until_settled(worker: Worker, settings: Settings, quiet_seconds: float = 8.0,
                       timeout: float = 480.0) -> None:
    """Until the worker has no lag and its outputs have not grown for ``quiet_seconds``.

    Raises Stalled when /health reports the worker unhealthy (what an orchestrator restarts on).
    """
    outputs = settings.topics.outputs()
    bootstrap = settings.kafka.bootstrap
    last, since = -1, time.monotonic()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not worker.alive():
            raise AssertionError("worker exited:\n" + worker.tail())
        size = topic_size(bootstrap, outputs)
        h = health(settings)
        if h is not None and h.get("healthy") is False:
            raise Stalled(f"worker unhealthy: {h.get('reason')}; not fetching: {h.get('not_fetching')}; "
                          f"state writes in flight: {h.get('state_writes_in_flight')}; "
                          f"not handled: {h.get('not_handled')}\n" + worker.tail(20))
        lag = (h or {}).get("lag_by_topic") or {}
        unhandled_ticks = sum(n for tp, n in ((h or {}).get("not_handled") or {}).items()
                              if tp.startswith(settings.topics.ticks + "["))
        # events wait for ticks to pass their lateness: ticks that pile up unhandled are not "settled"
        busy = h is None or lag.get(settings.topics.events, 1) > 0 or lag.get(settings.topics.collection_outcomes, 1) > 0 \
            or unhandled_ticks > 8
        if size != last or busy:
            last, since = size, time.monotonic()
        elif time.monotonic() - since >= quiet_seconds:
            return
        time.sleep(1.0)
    raise AssertionError("worker did not settle in time:\n" + worker.tail())


def settle_supervised(worker: Worker, settings: Settings, restarts: int = 3) -> int:
    """Wait until settled, restarting a worker whose /health fails as an orchestrator would.

    Returns how many health-driven restarts it took (a stalled faust consumer is a known
    faust-streaming weakness; the worker's state and outputs are idempotent across restarts).
    """
    for restart in range(restarts + 1):
        try:
            wait_until_settled(worker, settings)
            return restart
        except Stalled as stalled:
            if restart == restarts:
                raise
            print(f"restarting a stalled worker (health-driven restart): {stalled}")
            worker.kill()
            worker.start()
    return restarts


def prepare(settings: Settings) -> None:
    topic_admin.create(settings)
    left = topic_admin.problems(settings)
    assert not left, left


def send_events(settings: Settings, lines: list[bytes]) -> int:
    return produce(settings.kafka.bootstrap, settings.topics.events, lines)
