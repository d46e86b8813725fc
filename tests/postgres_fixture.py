"""Pytest plugin: a real, throw-away PostgreSQL server for the test session.

``postgres_url`` honours ``LOANWATCH_TEST_POSTGRES_URL`` when set. Otherwise it
runs ``initdb`` into a fresh directory, starts ``postgres`` on a free port of
127.0.0.1 (as the ``postgres`` system user when we are root: PostgreSQL refuses
to run as root), creates the ``loanwatch_test`` database and, at the end of the
session, stops that server by its own PID. The binaries come from the Debian
packages (``/usr/lib/postgresql/*/bin``); ``deploy/postgres/ensure-postgres.sh``
installs them.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

URL_VARIABLE = "LOANWATCH_TEST_POSTGRES_URL"
DATABASE = "loanwatch_test"
SUPERUSER = "loanwatch"
RUN_AS = "postgres"  # the Debian package's system user; made here if missing
INSTALL = "as root, apt-get update && apt-get install -y postgresql  (or: make postgres)"
START_TIMEOUT = 30.0
STOP_TIMEOUT = 20.0


def postgres_bin_dir() -> Path | None:
    """The newest PostgreSQL server bin directory on this machine, or None."""
    found = [Path(p).parent for p in glob.glob("/usr/lib/postgresql/*/bin/postgres")]
    found.sort(key=lambda path: _version(path.parent.name), reverse=True)
    if found:
        return found[0]
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb and (Path(initdb).parent / "postgres").exists() else None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """URL of a PostgreSQL database for this test session (``postgresql+psycopg://...``)."""
    given = os.environ.get(URL_VARIABLE)
    if given:
        yield given
        return
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        pytest.fail(f"PostgreSQL server binaries not found in /usr/lib/postgresql/*/bin. Install them: {INSTALL}; "
                    f"or set {URL_VARIABLE} to a database to test against.", pytrace=False)
    server = Server(bin_dir)
    try:
        server.start()
        server.create_database(DATABASE)
        yield f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{server.port}/{DATABASE}"
    finally:
        server.stop()


class Server:
    """One PostgreSQL server in a temporary directory, owned by this process."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.user = _server_user()
        self.root = Path(tempfile.mkdtemp(prefix="loanwatch-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.uid = self.gid = None
        self.groups: list[int] | None = None
        self.env: dict[str, str] | None = None
        if self.user is not None:  # run as this user: no supplementary groups, its own HOME
            self.uid, self.gid, self.groups = self.user.pw_uid, self.user.pw_gid, []
            self.env = {**os.environ, "HOME": str(self.root), "USER": self.user.pw_name,
                        "LOGNAME": self.user.pw_name}
            shutil.chown(self.root, self.uid, self.gid)

    def start(self) -> None:
        """initdb, then start the server and wait until it accepts connections."""
        self._run([str(self.bin_dir / "initdb"), "-D", str(self.data), "-U", SUPERUSER, "-A", "trust",
                   "-E", "UTF8", "--locale=C", "--no-sync"])
        for _attempt in range(3):  # another process may take the free port before postgres binds it
            self.port = free_port()
            with open(self.log, "ab") as log:
                self.process = subprocess.Popen(
                    [str(self.bin_dir / "postgres"), "-D", str(self.data), "-p", str(self.port),
                     "-k", str(self.root), "-h", "127.0.0.1", "-c", "fsync=off",
                     "-c", "synchronous_commit=off", "-c", "full_page_writes=off"],
                    stdout=log, stderr=subprocess.STDOUT, cwd=self.root, start_new_session=True,
                    user=self.uid, group=self.gid, extra_groups=self.groups, env=self.env)
            if self._wait_until_ready():
                return
        pytest.fail(f"PostgreSQL did not start; its log:\n{self._log_tail()}", pytrace=False)

    def create_database(self, name: str) -> None:
        """Create database ``name``."""
        import psycopg

        with psycopg.connect(self._dsn("postgres"), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')

    def stop(self) -> None:
        """Fast shutdown (SIGINT) by the server's own PID, SIGKILL if it lingers; remove the directory."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=STOP_TIMEOUT)
        shutil.rmtree(self.root, ignore_errors=True)

    def _wait_until_ready(self) -> bool:
        import psycopg

        assert self.process is not None
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                with psycopg.connect(self._dsn("postgres"), connect_timeout=1):
                    return True
            except psycopg.OperationalError:
                time.sleep(0.1)
        log = self._log_tail()
        self.stop()
        pytest.fail(f"PostgreSQL did not accept connections in {START_TIMEOUT:.0f} s; its log:\n{log}", pytrace=False)

    def _dsn(self, database: str) -> str:
        return f"host=127.0.0.1 port={self.port} user={SUPERUSER} dbname={database}"

    def _run(self, command: list[str]) -> None:
        result = subprocess.run(command, cwd=self.root, capture_output=True, user=self.uid, group=self.gid,
                                extra_groups=self.groups, env=self.env)
        if result.returncode != 0:
            output = (result.stdout + result.stderr).decode(errors="replace")
            self.stop()
            pytest.fail(f"{' '.join(command)} failed ({result.returncode}):\n{output}", pytrace=False)

    def _log_tail(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-4000:]
        except OSError:
            return "(no log)"


def _server_user() -> pwd.struct_passwd | None:
    """The user the server runs as: None (ourselves) unless we are root, then ``postgres``."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(RUN_AS)
    except KeyError:
        subprocess.run(["useradd", "--system", "--user-group", "--no-create-home", "--home-dir",
                        "/var/lib/postgresql", "--shell", "/bin/bash", RUN_AS], check=True)
        return pwd.getpwnam(RUN_AS)


def _version(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in name.split(".") if part.isdigit())
