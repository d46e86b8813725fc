"""pytest plugin: a real Kafka broker for the tests marked ``kafka``.

Listed in ``pytest_plugins`` by tests/conftest.py. The session-scoped fixture
``kafka_bootstrap`` gives a ``host:port`` bootstrap string:

* if LOANWATCH_KAFKA_BOOTSTRAP is set, that broker is used (it must answer);
* otherwise deploy/kafka/broker.py downloads the Kafka 3.9.1 jars once (Maven,
  cached in ~/.cache/loanwatch) and starts a single-node KRaft broker on free
  ports of 127.0.0.1 in a temporary directory, stopped by its pid at the end.

Without Java or the jars the fixture fails loudly; it never skips.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from kafka.admin import KafkaAdminClient

BOOTSTRAP_ENV = "LOANWATCH_KAFKA_BOOTSTRAP"
BROKER_SCRIPT = Path(__file__).resolve().parents[1] / "deploy" / "kafka" / "broker.py"


def load_broker_module() -> ModuleType:
    """Import deploy/kafka/broker.py by path (deploy/ is not a package)."""
    name = "loanwatch_kafka_broker"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, BROKER_SCRIPT)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {BROKER_SCRIPT}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Bootstrap servers ("127.0.0.1:PORT") of a real Kafka 3.9.1 broker, one per test session."""
    broker_module = load_broker_module()

    external = os.environ.get(BOOTSTRAP_ENV, "").strip()
    if external:
        host, _, port = external.split(",")[0].strip().rpartition(":")
        if not broker_module.broker_answers(host, int(port), timeout=5):
            pytest.fail(f"{BOOTSTRAP_ENV}={external} is set but no Kafka broker answers there", pytrace=False)
        yield external
        return

    try:
        broker_module.ensure_jars()
        broker = broker_module.start(tmp_path_factory.mktemp("kafka"), die_with_parent=True)
    except broker_module.BrokerError as exc:
        reason = str(exc)
    else:
        reason = ""
    if reason:
        pytest.fail(
            f"could not start the Kafka test broker: {reason}\n"
            f"(needs Java 17 and, once, Maven; or set {BOOTSTRAP_ENV} to a running broker)",
            pytrace=False,
        )
    try:
        yield broker.bootstrap
    finally:
        broker_module.stop(broker)


@pytest.fixture
def kafka_admin(kafka_bootstrap: str) -> Iterator[KafkaAdminClient]:
    """A kafka-python admin client on the test broker, closed after the test."""
    from kafka.admin import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap, client_id="loanwatch-tests")
    try:
        yield admin
    finally:
        admin.close()
