#!/usr/bin/env python3
"""A real single-node Apache Kafka broker for development and tests, without Docker.

The broker is Kafka 3.9.1 in KRaft mode (one process, broker and controller),
run straight from the jars that Maven resolves with ``deploy/kafka/pom.xml``.
Only the Python standard library, Java 17+ and ``mvn`` are needed.

Python use (tests/kafka_fixture.py does this)::

    jars = ensure_jars()                      # first time: Maven download (~1 min)
    broker = start(Path("/tmp/kafka-dev"))    # random free ports on 127.0.0.1
    ...  # clients connect to broker.bootstrap, e.g. "127.0.0.1:40123"
    stop(broker)

Command line::

    python3 deploy/kafka/broker.py fetch
    python3 deploy/kafka/broker.py start --workdir /tmp/kafka-dev [--port 9092]
    python3 deploy/kafka/broker.py stop --workdir /tmp/kafka-dev
    python3 deploy/kafka/broker.py run --workdir /tmp/kafka-dev   # foreground, Ctrl-C stops

The jar cache lives outside the repository, in ``~/.cache/loanwatch/kafka-3.9.1/libs``
unless the environment variable LOANWATCH_KAFKA_CACHE names another jar directory.
The broker writes its log to ``WORKDIR/broker.log`` and its data to ``WORKDIR/data``.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import ctypes
import fcntl
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

KAFKA_VERSION = "3.9.1"
SCALA_VERSION = "2.13"
KAFKA_JAR = f"kafka_{SCALA_VERSION}-{KAFKA_VERSION}.jar"
POM = Path(__file__).resolve().parent / "pom.xml"
CACHE_ENV = "LOANWATCH_KAFKA_CACHE"
COMPLETE_MARKER = ".complete"
HEAP = "-Xmx512m"
STARTED_MESSAGE = "Kafka Server started"  # logged by [KafkaRaftServer nodeId=1] when ready


class BrokerError(RuntimeError):
    """The broker could not be fetched, started or stopped; the message says why."""


@dataclass
class Broker:
    """A running broker process started by :func:`start`."""

    pid: int
    bootstrap: str  # "127.0.0.1:PORT"
    workdir: Path
    proc: subprocess.Popen[bytes] | None = None  # None when only the pid is known (CLI ``stop``)

    @property
    def log_path(self) -> Path:
        return self.workdir / "broker.log"


def _say(message: str) -> None:
    print(f"[kafka-broker] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- jars


def default_cache_dir() -> Path:
    """The jar directory: $LOANWATCH_KAFKA_CACHE, else ~/.cache/loanwatch/kafka-3.9.1/libs."""
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override).expanduser()
    return Path.home() / ".cache" / "loanwatch" / f"kafka-{KAFKA_VERSION}" / "libs"


def _jars_complete(cache_dir: Path) -> bool:
    return (cache_dir / KAFKA_JAR).is_file() and (cache_dir / COMPLETE_MARKER).is_file()


def ensure_jars(cache_dir: Path | None = None) -> Path:
    """Return a directory holding the Kafka broker jars, running Maven the first time.

    The marker file is written only after Maven succeeded, so an interrupted
    download is done again on the next call. A lock file next to the directory
    keeps two processes from downloading at the same time.
    """
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    if _jars_complete(cache_dir):
        return cache_dir

    cache_dir.mkdir(parents=True, exist_ok=True)
    lock_path = cache_dir.parent / f".{cache_dir.name}.lock"
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _jars_complete(cache_dir):  # another process finished while we waited
            return cache_dir
        mvn = shutil.which("mvn")
        if mvn is None:
            raise BrokerError(
                "Maven ('mvn') is not on PATH; it is needed once to download the Kafka jars "
                f"into {cache_dir} (install it, e.g. 'apt-get install maven')"
            )
        (cache_dir / COMPLETE_MARKER).unlink(missing_ok=True)
        _say(
            f"downloading Kafka {KAFKA_VERSION} jars with Maven into {cache_dir} (first time only, about a minute)"
        )
        started = time.monotonic()
        command = [
            mvn,
            "-q",
            "-B",
            "-f",
            str(POM),
            "dependency:copy-dependencies",
            f"-DoutputDirectory={cache_dir}",
            # Re-copy every jar so a file truncated by an interrupted run is replaced.
            "-Dmdep.overWriteReleases=true",
        ]
        result = subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        if result.returncode != 0:
            output = "\n".join((result.stdout + result.stderr).splitlines()[-40:])
            raise BrokerError(
                f"Maven failed (exit {result.returncode}) running: {' '.join(command)}\n{output}"
            )
        if not (cache_dir / KAFKA_JAR).is_file():
            raise BrokerError(f"Maven finished but {KAFKA_JAR} is not in {cache_dir}")
        (cache_dir / COMPLETE_MARKER).write_text(f"kafka {KAFKA_VERSION}\n")
        _say(f"Kafka jars ready in {time.monotonic() - started:.1f}s")
    return cache_dir


# --------------------------------------------------------------------------- start / stop


def find_java() -> str:
    """Path of the java executable: $JAVA_HOME/bin/java, else java on PATH."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").is_file():
        return str(Path(java_home) / "bin" / "java")
    java = shutil.which("java")
    if java is None:
        raise BrokerError("Java is not installed ('java' not on PATH, JAVA_HOME unset); Kafka needs Java 17")
    return java


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def random_cluster_id() -> str:
    """A Kafka cluster id: 16 random bytes, URL-safe base64 without padding (like Uuid.randomUuid)."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode("ascii")
        if not text.startswith("-"):  # Kafka avoids ids that look like command-line flags
            return text


def broker_answers(host: str, port: int, timeout: float = 2.0) -> bool:
    """True when a Kafka broker at host:port answers an ApiVersions (v0) request without error."""
    client_id = b"loanwatch-probe"
    correlation_id = 7
    # Request header v1: api_key=18 (ApiVersions), api_version=0, correlation_id, client_id; empty body.
    body = struct.pack(">hhih", 18, 0, correlation_id, len(client_id)) + client_id
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(struct.pack(">i", len(body)) + body)
            size = struct.unpack(">i", _recv_exactly(sock, 4))[0]
            reply = _recv_exactly(sock, size)
    except (OSError, EOFError, struct.error):
        return False
    got_correlation_id, error_code = struct.unpack(">ih", reply[:6])
    return got_correlation_id == correlation_id and error_code == 0


def _recv_exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise EOFError("connection closed")
        data += chunk
    return data


def _server_properties(workdir: Path, port: int, controller_port: int) -> str:
    return f"""\
# Written by deploy/kafka/broker.py: single-node KRaft broker for development and tests.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:{controller_port}
listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}
advertised.listeners=PLAINTEXT://127.0.0.1:{port}
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
log.dirs={workdir / "data"}
# Topics are created explicitly (loanwatch topics create), never by a stray producer.
auto.create.topics.enable=false
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
# One partition for consumer offsets: faster first group join, plenty for tests.
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
group.initial.rebalance.delay.ms=0
"""


def _log4j_properties(log_path: Path) -> str:
    return f"""\
# Written by deploy/kafka/broker.py: everything goes to {log_path.name}, nothing to stdout.
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File={log_path}
log4j.appender.file.Append=true
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.kafka.log.LogCleaner=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.org.apache.kafka.storage.internals.log=WARN
"""


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return f"({path} does not exist)"
    return "\n".join(text.splitlines()[-lines:]) or f"({path} is empty)"


def _die_with_parent() -> None:
    """In the child, before exec: ask Linux to SIGKILL it when the parent dies (no orphan brokers)."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL)


def start(
    workdir: Path,
    port: int | None = None,
    ready_timeout: float = 90,
    *,
    jars: Path | None = None,
    die_with_parent: bool = False,
) -> Broker:
    """Start a single-node KRaft broker on 127.0.0.1 and return once it answers clients.

    ``port`` is the client (PLAINTEXT) port; a free one is chosen when None. The
    controller port is always chosen free. Data, configuration and ``broker.log``
    go into ``workdir``; an already formatted ``workdir/data`` is reused. With
    ``die_with_parent`` the broker is killed when the calling process dies (for
    test fixtures); the CLI leaves it False so ``start`` can return.
    Raises BrokerError, with the tail of the broker log, on failure or timeout.
    """
    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    java = find_java()
    jars = ensure_jars(jars)
    classpath = str(jars / "*")

    port = port if port is not None else free_port()
    controller_port = free_port()
    while controller_port == port:
        controller_port = free_port()

    properties = workdir / "server.properties"
    log_path = workdir / "broker.log"
    log4j = workdir / "log4j.properties"
    properties.write_text(_server_properties(workdir, port, controller_port))
    log4j.write_text(_log4j_properties(log_path))
    jvm = [
        java,
        HEAP,
        "-Djava.awt.headless=true",
        f"-Dlog4j.configuration={log4j.as_uri()}",
        f"-Dkafka.logs.dir={workdir}",
        "-cp",
        classpath,
    ]

    if not (workdir / "data" / "meta.properties").is_file():
        cluster_id = random_cluster_id()
        format_command = jvm + ["kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(properties)]
        result = subprocess.run(
            format_command, cwd=workdir, capture_output=True, text=True, stdin=subprocess.DEVNULL
        )
        if result.returncode != 0:
            raise BrokerError(
                f"formatting the Kafka storage failed (exit {result.returncode}):\n"
                f"{result.stdout}{result.stderr}\n--- {log_path} ---\n{_tail(log_path)}"
            )

    out_path = workdir / "broker.out"  # JVM stdout/stderr: normally empty, crash reports land here
    with open(out_path, "ab") as out:
        proc = subprocess.Popen(
            jvm + ["kafka.Kafka", str(properties)],
            cwd=workdir,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent if die_with_parent else None,
        )
    broker = Broker(pid=proc.pid, bootstrap=f"127.0.0.1:{port}", workdir=workdir, proc=proc)
    log_size_before = log_path.stat().st_size if log_path.exists() else 0

    try:
        _wait_ready(broker, port, log_size_before, ready_timeout)
    except BaseException:  # not ready, timed out or interrupted: leave no broker behind
        stop(broker, timeout=10)
        raise
    return broker


def _wait_ready(broker: Broker, port: int, log_offset: int, ready_timeout: float) -> None:
    """Wait until the log says 'started' and the port answers ApiVersions; raise BrokerError if not."""
    assert broker.proc is not None
    log_path, out_path = broker.log_path, broker.workdir / "broker.out"
    deadline = time.monotonic() + ready_timeout
    while True:
        if broker.proc.poll() is not None:
            raise BrokerError(
                f"the Kafka broker exited with code {broker.proc.returncode} while starting\n"
                f"--- {log_path} ---\n{_tail(log_path)}\n--- {out_path} ---\n{_tail(out_path)}"
            )
        if _log_says_started(log_path, log_offset) and broker_answers("127.0.0.1", port):
            return
        if time.monotonic() > deadline:
            raise BrokerError(
                f"the Kafka broker did not become ready within {ready_timeout:.0f}s\n"
                f"--- {log_path} ---\n{_tail(log_path)}\n--- {out_path} ---\n{_tail(out_path)}"
            )
        time.sleep(0.2)


def _log_says_started(log_path: Path, offset: int) -> bool:
    """True when the part of the log written by this run contains the 'started' message."""
    try:
        with open(log_path, "rb") as log:
            log.seek(offset)
            return STARTED_MESSAGE.encode() in log.read()
    except FileNotFoundError:
        return False


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A dead child not yet reaped is a zombie: count it as gone.
    with contextlib.suppress(OSError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        if fields[0] == "Z":
            return False
    return True


def _wait_gone(broker: Broker, timeout: float) -> bool:
    if broker.proc is not None:
        try:
            broker.proc.wait(timeout=timeout)
            return True
        except subprocess.TimeoutExpired:
            return False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _pid_alive(broker.pid):
            return True
        time.sleep(0.2)
    return not _pid_alive(broker.pid)


def stop(broker: Broker, timeout: float = 30) -> None:
    """Stop the broker by its own pid: SIGTERM (clean shutdown), then SIGKILL after ``timeout`` s."""
    if broker.proc is not None and broker.proc.poll() is not None:
        return
    try:
        os.kill(broker.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    if _wait_gone(broker, timeout):
        return
    _say(f"broker pid {broker.pid} ignored SIGTERM for {timeout:.0f}s; sending SIGKILL")
    with contextlib.suppress(ProcessLookupError):
        os.kill(broker.pid, signal.SIGKILL)
    if not _wait_gone(broker, 10):
        raise BrokerError(f"broker pid {broker.pid} is still running after SIGKILL")


# --------------------------------------------------------------------------- command line


def _broker_from_pid_file(workdir: Path) -> Broker | None:
    """The broker recorded in workdir/broker.pid if that pid is still our Kafka process, else None."""
    pid_file = workdir / "broker.pid"
    if not pid_file.is_file():
        return None
    pid = int(pid_file.read_text().strip())
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except FileNotFoundError:
        return None
    # Guard against a recycled pid: it must be kafka.Kafka started with this workdir's config.
    if b"kafka.Kafka" not in cmdline or str(workdir / "server.properties").encode() not in cmdline:
        return None
    if not _pid_alive(pid):
        return None
    bootstrap_file = workdir / "bootstrap"
    bootstrap = bootstrap_file.read_text().strip() if bootstrap_file.is_file() else ""
    return Broker(pid=pid, bootstrap=bootstrap, workdir=workdir)


def _cmd_fetch(args: argparse.Namespace) -> int:
    print(ensure_jars(args.cache_dir))
    return 0


def _cmd_start(args: argparse.Namespace) -> int:
    workdir = args.workdir.resolve()
    running = _broker_from_pid_file(workdir)
    if running is not None:
        _say(f"a broker is already running for {workdir} (pid {running.pid})")
        return 1
    broker = start(workdir, args.port, args.timeout)
    (workdir / "broker.pid").write_text(f"{broker.pid}\n")
    (workdir / "bootstrap").write_text(f"{broker.bootstrap}\n")
    print(f"BOOTSTRAP={broker.bootstrap}")
    print(f"PID={broker.pid}")
    return 0


def _cmd_stop(args: argparse.Namespace) -> int:
    workdir = args.workdir.resolve()
    broker = _broker_from_pid_file(workdir)
    if broker is None:
        _say(f"no running broker recorded in {workdir / 'broker.pid'}")
    else:
        stop(broker, args.timeout)
        _say(f"stopped broker pid {broker.pid}")
    (workdir / "broker.pid").unlink(missing_ok=True)
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    workdir = args.workdir.resolve()
    broker = start(workdir, args.port, args.timeout)
    print(f"BOOTSTRAP={broker.bootstrap}", flush=True)
    print(f"PID={broker.pid}", flush=True)
    _say(f"broker running, log in {broker.log_path}; Ctrl-C stops it")

    def on_sigterm(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_sigterm)
    try:
        assert broker.proc is not None
        code = broker.proc.wait()
        _say(f"broker exited by itself with code {code}; see {broker.log_path}")
        return 1
    except KeyboardInterrupt:
        _say("stopping the broker")
        stop(broker)
        return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="broker.py",
        description=f"Run a real single-node Kafka {KAFKA_VERSION} broker (KRaft) without Docker.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    fetch = sub.add_parser(
        "fetch", help="download the broker jars with Maven (once) and print their directory"
    )
    fetch.add_argument(
        "--cache-dir",
        type=Path,
        default=None,
        help=f"jar directory (default: ${CACHE_ENV} or ~/.cache/loanwatch/kafka-{KAFKA_VERSION}/libs)",
    )
    fetch.set_defaults(func=_cmd_fetch)

    for name, help_text, func in (
        ("start", "start a detached broker; prints BOOTSTRAP=... and PID=...", _cmd_start),
        ("run", "run a broker in the foreground until Ctrl-C", _cmd_run),
    ):
        command = sub.add_parser(name, help=help_text)
        command.add_argument(
            "--workdir", type=Path, required=True, help="directory for config, data and broker.log"
        )
        command.add_argument("--port", type=int, default=None, help="client port (default: a free one)")
        command.add_argument("--timeout", type=float, default=90, help="seconds to wait for readiness")
        command.set_defaults(func=func)

    stop_parser = sub.add_parser("stop", help="stop the broker recorded in WORKDIR/broker.pid")
    stop_parser.add_argument("--workdir", type=Path, required=True)
    stop_parser.add_argument("--timeout", type=float, default=30, help="seconds before SIGKILL")
    stop_parser.set_defaults(func=_cmd_stop)

    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except BrokerError as exc:
        _say(f"error: {exc}")
        return 2


if __name__ == "__main__":
    sys.exit(main())
