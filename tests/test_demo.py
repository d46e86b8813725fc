"""The offline commands end to end (simulate, backtest, stress, demo) on a throwaway click group.

The real ``loanwatch`` group registers the same command objects; here a small
group gives them the settings the same way (``ctx.obj["settings"]``).
"""

from __future__ import annotations

import gzip
import json
import sqlite3
from pathlib import Path
from typing import Any

import click
import msgspec
import pytest
from click.testing import CliRunner

from streams.cli_offline import COMMANDS
from streams.replay import last_records
from streams.settings import load
from streams.simulate.stories import STORIES

LABEL_KEYS = {"story", "defaulted", "default_date", "onset_date", "recovered", "benign_date"}


@click.group()
@click.pass_context
def cli(ctx: click.Context) -> None:
    ctx.obj = {"settings": load(env={})}


for _command in COMMANDS:
    cli.add_command(_command)


def invoke(*args: str) -> Any:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result


@pytest.fixture(scope="module")
def simulated(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sim")
    result = invoke("simulate", "--borrowers", "90", "--months", "7", "--seed", "4", "--out", str(out),
                    "--no-progress")
    assert result.exit_code == 0, result.output
    return out


def walk(value: Any, path: str = "") -> list[tuple[str, Any]]:
    """Every (key path, leaf) of a JSON value."""
    if isinstance(value, dict):
        return [item for k, v in value.items() for item in [(f"{path}.{k}", None), *walk(v, f"{path}.{k}")]]
    if isinstance(value, list):
        return [item for v in value for item in walk(v, path + "[]")]
    return [(path, value)]


def test_simulate_writes_events_and_labels(simulated: Path) -> None:
    labels = [json.loads(line) for line in (simulated / "labels.jsonl").read_text().splitlines()]
    assert len(labels) == 90 and {"borrower_id", "sector", "story", "default_date"} <= set(labels[0])
    assert (simulated / "events.jsonl").stat().st_size > 1_000_000


def test_no_label_or_story_field_ever_appears_in_the_simulated_events(simulated: Path) -> None:
    stories = set(STORIES)
    for line in (simulated / "events.jsonl").read_bytes().splitlines():
        event = msgspec.json.decode(line)
        for path, leaf in walk(event):
            key = path.rsplit(".", 1)[-1].rstrip("[]")
            assert key not in LABEL_KEYS, (path, event["event_id"])
            if isinstance(leaf, str):
                assert not any(story in leaf for story in stories), (path, leaf)


def test_simulate_needs_an_output_directory_or_a_broker() -> None:
    result = CliRunner().invoke(cli, ["simulate", "--borrowers", "2"])
    assert result.exit_code == 2 and "--out DIR" in result.output


def test_backtest_writes_the_metrics_and_the_report(simulated: Path, tmp_path: Path) -> None:
    out = tmp_path / "bt"
    result = invoke("backtest", str(simulated / "events.jsonl"), "--labels", str(simulated / "labels.jsonl"),
                    "--out", str(out), "--workers", "1", "--no-progress", "--reviewer-capacity", "25")
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text())
    for key in ("auc_90d", "median_lead_days", "false_alerts_per_100_borrower_months", "precision", "recall",
                "lead_days", "warnings_per_reviewer_day", "nab_score", "definitions"):
        assert key in metrics
    assert metrics["config"]["reviewer_capacity"] == 25
    assert "plot-roc" in (out / "report.html").read_text(encoding="utf-8")
    assert "auc_90d" in result.output and "report" in result.output


def test_a_gzip_compressed_event_file_backtests_like_the_plain_one(simulated: Path, tmp_path: Path) -> None:
    packed = tmp_path / "events.jsonl.gz"
    packed.write_bytes(gzip.compress((simulated / "events.jsonl").read_bytes()))
    metrics = []
    for events, out in ((simulated / "events.jsonl", tmp_path / "plain"), (packed, tmp_path / "gz")):
        result = invoke("backtest", str(events), "--labels", str(simulated / "labels.jsonl"), "--out", str(out),
                        "--workers", "2", "--no-progress")
        assert result.exit_code == 0, result.output
        m = json.loads((out / "metrics.json").read_text())
        m["replay"] = (m["replay"]["events"], m["replay"]["borrowers"])  # without its timings
        metrics.append({k: v for k, v in m.items() if k != "config"})
    assert metrics[0] == metrics[1]
    assert (tmp_path / "plain" / "replay" / "alerts.jsonl").read_bytes() == \
        (tmp_path / "gz" / "replay" / "alerts.jsonl").read_bytes()


def test_stress_refuses_a_shock_it_cannot_read(simulated: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["stress", str(simulated / "events.jsonl"), "--shock", "sector=textile",
                                      "--out", str(tmp_path)])
    assert result.exit_code == 2 and "changes nothing" in result.output


def test_stress_writes_its_report_and_the_table(simulated: Path, tmp_path: Path) -> None:
    result = invoke("stress", str(simulated / "events.jsonl"), "--shock", "sector=textile,revenue=-50%",
                    "--shock", "receivable_delay=20d,sector=catering", "--from", "2025-04-01",
                    "--out", str(tmp_path), "--workers", "2", "--no-progress")
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "stress.json").read_text())
    assert report["from"].startswith("2025-04-01") and len(report["shocks"]) == 2
    assert report["unchanged_outside_shock"]
    assert all(a["sector"] in ("textile", "catering") for a in report["affected"])
    assert "no borrower outside the shock changed" in result.output


def test_the_demo_runs_end_to_end_without_a_broker(tmp_path: Path) -> None:
    out = tmp_path / "demo-out"
    result = invoke("demo", "--borrowers", "70", "--months", "6", "--seed", "3", "--out", str(out),
                    "--workers", "2", "--no-progress")
    assert result.exit_code == 0, result.output
    for name in ("events.jsonl", "labels.jsonl", "loanwatch.db", "metrics.json", "report.html", "timings.json"):
        assert (out / name).exists(), name
    timings = json.loads((out / "timings.json").read_text())
    assert set(timings["stages"]) == {"simulate", "write", "replay", "store", "backtest", "report"}
    assert "report.html" in result.output and "total" in result.output
    # the store holds one row per record id of the replay
    with sqlite3.connect(out / "loanwatch.db") as db:
        alerts = db.execute("select count(*) from alerts").fetchone()[0]
        tasks = db.execute("select count(*) from collection_tasks").fetchone()[0]
        open_tasks = db.execute("select count(*) from collection_tasks where status = 'open'").fetchone()[0]
    replay_tasks = last_records(out / "replay" / "tasks.jsonl", "task_id")
    assert alerts == len(last_records(out / "replay" / "alerts.jsonl", "alert_id"))
    assert tasks == len(replay_tasks) > 0
    assert open_tasks == sum(1 for t in replay_tasks.values() if t["status"] == "open")


def test_running_the_demo_twice_gives_the_same_store(tmp_path: Path) -> None:
    counts = []
    for _ in range(2):
        assert invoke("demo", "--borrowers", "25", "--months", "3", "--out", str(tmp_path), "--workers", "1",
                      "--no-progress").exit_code == 0
        with sqlite3.connect(tmp_path / "loanwatch.db") as db:
            counts.append(db.execute("select status, count(*) from collection_tasks group by status").fetchall())
    assert counts[0] == counts[1]


@pytest.mark.kafka
def test_simulate_produces_to_kafka_and_keeps_the_labels(kafka_bootstrap: str, kafka_admin, tmp_path: Path) -> None:
    from kafka import KafkaConsumer
    from kafka.admin import NewTopic

    topic = f"loanwatch-sim-{tmp_path.name[-12:]}".replace("_", "-")
    kafka_admin.create_topics([NewTopic(name=topic, num_partitions=2, replication_factor=1)])
    result = invoke("simulate", "--borrowers", "5", "--months", "2", "--seed", "1", "--kafka", kafka_bootstrap,
                    "--topic", topic, "--out", str(tmp_path), "--no-progress")
    assert result.exit_code == 0, result.output
    sent = int(result.output.split("sent ")[1].split(" ")[0].replace(",", ""))
    assert (tmp_path / "labels.jsonl").exists() and not (tmp_path / "events.jsonl").exists()
    consumer = KafkaConsumer(topic, bootstrap_servers=kafka_bootstrap, auto_offset_reset="earliest",
                             consumer_timeout_ms=10_000, enable_auto_commit=False)
    try:
        messages = list(consumer)
    finally:
        consumer.close()
    assert len(messages) == sent > 0
    assert all(m.key == json.loads(m.value)["borrower_id"].encode() for m in messages)
