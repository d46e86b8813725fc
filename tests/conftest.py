"""Test set-up: the real Kafka broker and PostgreSQL fixtures, started on demand."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT / "tests"))

pytest_plugins = ["kafka_fixture", "postgres_fixture"]
