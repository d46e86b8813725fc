"""The monitoring stack in deploy/: Prometheus config and rules, Grafana provisioning and dashboards.

promtool checks the config and the rules and runs the rules' unit tests
(deploy/prometheus/rules_test.yml). A real Prometheus then scrapes the real
metrics of streams/metrics.py, evaluates the real rules and answers every
dashboard query. Every metric an expression names must exist in
streams/metrics.py or be a recording rule; no borrower id anywhere.

promtool and prometheus come from Debian's package ``prometheus``
(``apt-get install -y --no-install-recommends prometheus``); without them these tests fail.
"""

from __future__ import annotations

import json
import random
import re
import shutil
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import fields
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from prometheus_client import REGISTRY, make_wsgi_app
from prometheus_client.metrics import MetricWrapperBase

from alerts.records import Alert, CollectionTask, LimitChange
from detectors import outage
from streams import metrics
from streams.core.shared import Partition
from streams.events import SCHEMAS
from streams.settings import Topics

ROOT = Path(__file__).resolve().parents[1]
PROM = ROOT / "deploy" / "prometheus"
GRAFANA = ROOT / "deploy" / "grafana"
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))
INSTALL = "apt-get update && apt-get install -y --no-install-recommends prometheus"
ALERTS_TESTED = {"LoanwatchWorkerDown", "LoanwatchWorkerUnhealthy", "LoanwatchDeadLetterRateHigh"}
# What Grafana puts in place of its variables, for running a dashboard query against Prometheus.
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__interval": "15s", "$__range": "10m"}
BORROWER_ID = re.compile(r"borrower[\s_-]?id", re.IGNORECASE)


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"`{name}` is not on PATH: it comes with Debian's package `prometheus`; install it with: "
                    f"{INSTALL}")
    return path


def _run(*args: str) -> str:
    done = subprocess.run(args, capture_output=True, text=True, timeout=120)
    out = done.stdout + done.stderr
    assert done.returncode == 0, f"{' '.join(args)} failed:\n{out}"
    return out


# --- reading PromQL ---------------------------------------------------------------------------------

_NOT_METRICS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset",
                "and", "or", "unless", "atan2", "inf", "nan",
                "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
                "bottomk", "topk", "quantile", "limitk", "limit_ratio"}


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects.

    >>> sorted(metric_names('sum by (le) (rate(a_bucket{x="y}"}[5m])) > 1e-3 and on (job) b or vector(0)'))
    ['a_bucket', 'b']
    """
    text = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', '""', expr)  # strings
    text = re.sub(r"\{[^}]*\}", " ", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", " ", text)  # ranges and subqueries
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    text = re.sub(r"\boffset\s+-?\w+", " ", text)
    names = set()
    for m in re.finditer(r"(?<![\w.:$])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?", text):
        word, call = m.group(1), m.group(2)
        if not call and word.lower() not in _NOT_METRICS:
            names.add(word)
    return names


def label_values(expr: str, label: str) -> set[str]:
    """Values an expression matches ``label`` against with ``=``."""
    return set(re.findall(rf'\b{label}\s*=\s*"([^"]*)"', expr))


def grafana_to_promql(expr: str) -> str:
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    assert "$" not in expr, f"a Grafana variable this test does not know: {expr}"
    return expr


# --- what the project defines -------------------------------------------------------------------------

_SUFFIXES = {"counter": ("_total", "_created"), "gauge": ("",), "histogram": ("_bucket", "_sum", "_count", "_created"),
             "summary": ("", "_sum", "_count", "_created"), "info": ("_info",), "enum": ("",)}


def exported_metrics() -> set[str]:
    """Names of the series streams/metrics.py exposes, read from its collectors in the default registry."""
    registered = {family.name for family in REGISTRY.collect()}
    names: set[str] = set()
    for collector in vars(metrics).values():
        if isinstance(collector, MetricWrapperBase):
            for family in collector.describe():
                assert family.name in registered, f"{family.name} is not in the default registry"
                names.update(family.name + suffix for suffix in _SUFFIXES[family.type])
    assert names, "streams/metrics.py defines no metric"
    return names


def recording_rules() -> list[str]:
    return re.findall(r"^\s*-\s*record:\s*(\S+)\s*$", (PROM / "rules.yml").read_text(), re.MULTILINE)


def provisioned_datasource() -> dict[str, str]:
    text = (GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text()
    return {key: re.search(rf"^\s*-?\s*{key}:\s*(\S+)", text, re.MULTILINE)[1]  # type: ignore[index]
            for key in ("uid", "type", "url")}


def dashboards() -> list[dict[str, Any]]:
    return [json.loads(path.read_text()) for path in DASHBOARDS]


def all_panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from all_panels(panel.get("panels", []))


def dashboard_exprs() -> list[tuple[str, str, str]]:
    """(dashboard uid, panel title, expr) of every query of every panel."""
    return [(board["uid"], panel.get("title", ""), target["expr"])
            for board in dashboards() for panel in all_panels(board["panels"])
            for target in panel.get("targets", []) if "expr" in target]


# --- promtool -----------------------------------------------------------------------------------------

def test_promtool_finds_the_prometheus_config_and_its_rule_files_valid() -> None:
    out = _run(_tool("promtool"), "check", "config", str(PROM / "prometheus.yml"))
    assert "1 rule files found" in out


def test_promtool_finds_the_rules_valid() -> None:
    _run(_tool("promtool"), "check", "rules", str(PROM / "rules.yml"))


def test_the_rules_pass_their_promtool_unit_tests() -> None:
    out = _run(_tool("promtool"), "test", "rules", str(PROM / "rules_test.yml"))
    assert "SUCCESS" in out


def test_the_rule_unit_tests_cover_every_alert_and_at_least_down_unhealthy_and_dead_letters() -> None:
    tested = set(re.findall(r"alertname:\s*(\S+)", (PROM / "rules_test.yml").read_text()))
    defined = set(re.findall(r"^\s*-\s*alert:\s*(\S+)", (PROM / "rules.yml").read_text(), re.MULTILINE))
    assert ALERTS_TESTED <= defined
    assert defined <= tested, f"alerts without a unit test: {sorted(defined - tested)}"


def test_the_metric_name_reader_reads_promql() -> None:
    assert metric_names('histogram_quantile(0.99, sum by (le) (rate(x_bucket[5m])))') == {"x_bucket"}
    assert metric_names('up{job="w"} == 0') == {"up"}
    assert metric_names("sum(a) without (instance) / ignoring (x) group_left () b offset 5m") == {"a", "b"}
    assert metric_names('deriv(r:m:sum[15m:1m]) > 0 and r:m:sum > 1000') == {"r:m:sum"}
    assert metric_names("label_replace(m, 'a', '$1', 'b', '(.*)') + 3600 * +Inf") == {"m"}


# --- a real Prometheus on the real metrics ----------------------------------------------------------

class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(port: int, path: str, **params: str) -> Any:
    url = f"http://127.0.0.1:{port}{path}" + (f"?{urllib.parse.urlencode(params)}" if params else "")
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:  # a bad query answers 400 with the parser's error
        return json.loads(exc.read())


def _feed_metrics(stop: threading.Event) -> None:
    """Move every loanwatch metric, as the worker does, until ``stop``."""
    kinds = {"alert": ("open", "updated", "resolved"), "task": ("open", "escalated", "cancelled", "done"),
             "limit": ("applied", "needs_review")}
    errors = ("not JSON", "missing required field `x`", "boom")
    rng = random.Random(7)
    part = Partition()
    part.board = outage.FeedBoard(frozen=740000, sources={"pos": outage.Source(spans=[[739990, 0, 60]])})
    for partition in range(3):
        metrics.observe_feeds(partition, part.board)
    part.board.sources["pos"].spans[0][1] = 739995
    n = 0
    while not stop.is_set():  # about 1 % of the input dead-lettered: below the alert's 5 %
        n += 1
        for schema in SCHEMAS:
            for result in ("applied",) * 30 + ("duplicate", "rejected"):
                metrics.observe_event(schema, result, rng.uniform(1e-5, 2e-3))
        metrics.observe_event("invalid", "dead_letter", 0.0)
        outputs = [SimpleNamespace(kind=kind, status=status) for kind, statuses in kinds.items() for status in statuses]
        metrics.observe_outputs(outputs, [SimpleNamespace(error=errors[n % len(errors)])])
        metrics.BORROWERS.set(1000 + rng.randrange(10))
        metrics.TICKS.inc()
        metrics.RETRIES.labels(operation="send").inc()
        metrics.HEALTHY.set(1)
        metrics.observe_feeds(n % 3, part.board)  # partitions 0 .. 2 had a POS outage, over now: the gauge reads 0
        metrics.observe_models(n % 3, part)
        for topic in Topics().inputs():
            metrics.CONSUMER_LAG.labels(topic=topic).set(rng.randrange(1, 50))
        stop.wait(0.1)


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """A real Prometheus with deploy/prometheus/ (1 s intervals) scraping this process's metrics; its port."""
    binary = _tool("prometheus")
    stop = threading.Event()
    feeder = threading.Thread(target=_feed_metrics, args=(stop,), daemon=True)
    feeder.start()
    exporter: WSGIServer = make_server("127.0.0.1", 0, make_wsgi_app(REGISTRY), handler_class=_Quiet)
    threading.Thread(target=exporter.serve_forever, daemon=True).start()

    port = _free_port()
    workdir = tmp_path_factory.mktemp("prometheus")
    config = (PROM / "prometheus.yml").read_text()
    for old, new in (("scrape_interval: 15s", "scrape_interval: 1s"), ("scrape_timeout: 10s", "scrape_timeout: 1s"),
                     ("evaluation_interval: 15s", "evaluation_interval: 1s"),
                     ("worker:6066", f"127.0.0.1:{exporter.server_port}"), ("localhost:9090", f"127.0.0.1:{port}")):
        assert old in config, f"deploy/prometheus/prometheus.yml no longer has {old!r}: update this test"
        config = config.replace(old, new)
    (workdir / "prometheus.yml").write_text(config)
    shutil.copy(PROM / "rules.yml", workdir / "rules.yml")
    log = (workdir / "prometheus.log").open("w")
    process = subprocess.Popen([binary, f"--config.file={workdir / 'prometheus.yml'}",
                                f"--storage.tsdb.path={workdir / 'data'}", f"--web.listen-address=127.0.0.1:{port}",
                                "--log.level=warn"], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, f"prometheus exited:\n{(workdir / 'prometheus.log').read_text()}"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/-/ready", timeout=2):
                    break
            except OSError:
                assert time.monotonic() < deadline, "prometheus did not become ready in 60 s"
                time.sleep(0.2)
        # every recording rule has a value: the scrapes and rate windows have enough samples
        while True:
            empty = [r for r in recording_rules() if not _get(port, "/api/v1/query", query=r)["data"]["result"]]
            if not empty:
                break
            assert time.monotonic() < deadline, f"recording rules without a value after 60 s: {empty}"
            time.sleep(0.5)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        exporter.shutdown()
        stop.set()
        feeder.join(timeout=5)


@pytest.fixture(scope="module")
def loaded_rules(prometheus: int) -> list[dict[str, Any]]:
    """The rules as the running Prometheus parsed them (/api/v1/rules)."""
    groups = _get(prometheus, "/api/v1/rules")["data"]["groups"]
    return [rule for group in groups for rule in group["rules"]]


@pytest.mark.slow
def test_prometheus_loads_every_rule_and_evaluates_it_without_error(loaded_rules: list[dict[str, Any]]) -> None:
    names = [r["name"] for r in loaded_rules]
    assert sorted(n for r, n in zip(loaded_rules, names, strict=True) if r["type"] == "recording") \
        == sorted(recording_rules())
    assert {"LoanwatchWorkerDown", "LoanwatchWorkerUnhealthy", "LoanwatchConsumerLagHigh",
            "LoanwatchConsumerLagGrowing", "LoanwatchDeadLetterRateHigh", "LoanwatchNoEventsConsumed",
            "LoanwatchProcessingSlow"} <= set(names)
    broken = {r["name"]: r.get("lastError") for r in loaded_rules if r["health"] == "err"}
    assert not broken


@pytest.mark.slow
def test_a_healthy_busy_worker_fires_no_alert(prometheus: int) -> None:
    # an evaluation made before the rate windows held two samples may leave an alert pending for one
    # interval; a real false alert stays: look for 10 evaluations (1 s apart) before judging
    deadline = time.monotonic() + 10
    while True:
        groups = _get(prometheus, "/api/v1/rules")["data"]["groups"]
        firing = [r["name"] for g in groups for r in g["rules"] if r["type"] == "alerting" and r.get("alerts")]
        if not firing or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert firing == []  # pending counts too


@pytest.mark.slow
def test_every_alert_has_a_severity_a_summary_a_description_and_a_runbook(
        loaded_rules: list[dict[str, Any]]) -> None:
    readme = (ROOT / "deploy" / "README.md").read_text()
    for rule in (r for r in loaded_rules if r["type"] == "alerting"):
        assert rule["labels"].get("severity") in {"critical", "warning", "info"}, rule["name"]
        assert rule["annotations"].get("summary"), rule["name"]
        assert rule["annotations"].get("description"), rule["name"]
        assert rule["annotations"].get("runbook") == f"deploy/README.md#{rule['name'].lower()}", rule["name"]
        assert re.search(rf"^#+ {rule['name']}\s*$", readme, re.MULTILINE), f"no runbook section for {rule['name']}"


@pytest.mark.slow
def test_every_metric_a_rule_uses_is_exported_or_recorded(loaded_rules: list[dict[str, Any]]) -> None:
    known = exported_metrics() | set(recording_rules()) | {"up"}
    for rule in loaded_rules:
        unknown = metric_names(rule["query"]) - known
        assert not unknown, f"{rule['name']} uses {sorted(unknown)}, not in streams/metrics.py nor recorded"


@pytest.mark.slow
def test_every_dashboard_query_is_valid_promql_and_returns_data_from_the_real_metrics(prometheus: int) -> None:
    for uid, title, expr in dashboard_exprs():
        answer = _get(prometheus, "/api/v1/query", query=grafana_to_promql(expr))
        assert answer["status"] == "success", f"{uid} / {title}: {expr}\n{answer.get('error')}"
        assert answer["data"]["result"], f"{uid} / {title} has no data: {expr}"


# --- dashboards and provisioning ---------------------------------------------------------------------

def test_there_are_the_ops_and_the_risk_dashboards_with_unique_uids() -> None:
    boards = dashboards()
    uids = [b["uid"] for b in boards]
    assert {"loanwatch-ops", "loanwatch-risk"} <= set(uids)
    assert len(uids) == len(set(uids))
    for board in boards:
        assert re.fullmatch(r"[A-Za-z0-9_-]{1,40}", board["uid"])
        assert board["title"] and board["panels"]
        assert 36 <= board["schemaVersion"] <= 41


def test_every_panel_has_a_unique_id_and_a_place_on_the_grid() -> None:
    for board in dashboards():
        panels = list(all_panels(board["panels"]))
        ids = [p["id"] for p in panels]
        assert len(ids) == len(set(ids)), f"{board['uid']}: duplicate panel ids"
        for p in panels:
            grid = p["gridPos"]
            assert all(isinstance(grid[k], int) for k in "hwxy"), p.get("title")
            assert grid["w"] > 0 and grid["h"] > 0 and 0 <= grid["x"] and grid["x"] + grid["w"] <= 24, p.get("title")


def test_every_panel_and_query_uses_the_provisioned_datasource() -> None:
    source = provisioned_datasource()
    assert source["type"] == "prometheus" and source["url"] == "http://prometheus:9090"
    for board in dashboards():
        for panel in all_panels(board["panels"]):
            if panel["type"] in {"row", "text"}:
                continue
            assert panel["datasource"] == {"type": "prometheus", "uid": source["uid"]}, panel["title"]
            assert panel["targets"], panel["title"]
            for target in panel["targets"]:
                assert target["datasource"] == {"type": "prometheus", "uid": source["uid"]}, panel["title"]
                assert target["expr"].strip(), panel["title"]


def test_every_metric_a_dashboard_uses_is_exported_or_recorded() -> None:
    known = exported_metrics() | set(recording_rules()) | {"up"}
    for uid, title, expr in dashboard_exprs():
        unknown = metric_names(grafana_to_promql(expr)) - known
        assert not unknown, f"{uid} / {title} uses {sorted(unknown)}, not in streams/metrics.py nor recorded"


def test_the_label_values_dashboards_and_rules_filter_on_exist() -> None:
    kinds = {f.default for cls in (Alert, CollectionTask, LimitChange) for f in fields(cls) if f.name == "kind"}
    exprs = [e for _, _, e in dashboard_exprs()] + [(PROM / "rules.yml").read_text()]
    for expr in exprs:
        assert label_values(expr, "kind") <= kinds, expr
        assert label_values(expr, "status") <= metrics._STATUSES, expr
        assert label_values(expr, "job") <= {"loanwatch-worker"}, expr


def test_the_dashboards_are_provisioned_from_where_compose_mounts_them() -> None:
    provider = (GRAFANA / "provisioning" / "dashboards" / "loanwatch.yml").read_text()
    assert re.search(r"^\s*type:\s*file\s*$", provider, re.MULTILINE)
    assert re.search(r"^\s*path:\s*/var/lib/grafana/dashboards\s*$", provider, re.MULTILINE)
    compose = (ROOT / "docker-compose.yml").read_text()
    assert "./deploy/grafana/provisioning:/etc/grafana/provisioning" in compose
    assert "./deploy/grafana/dashboards:/var/lib/grafana/dashboards" in compose


def test_prometheus_scrapes_the_worker_and_compose_mounts_its_rules() -> None:
    config = (PROM / "prometheus.yml").read_text()
    assert re.search(r"job_name:\s*loanwatch-worker", config)
    assert '"worker:6066"' in config
    compose = (ROOT / "docker-compose.yml").read_text()
    assert ("./deploy/prometheus:/etc/prometheus" in compose
            or "./deploy/prometheus/rules.yml:/etc/prometheus/rules.yml" in compose), \
        "docker-compose.yml must mount deploy/prometheus/rules.yml beside prometheus.yml, or no rule is loaded"


def test_no_borrower_id_anywhere_in_the_monitoring_config() -> None:
    files = [p for d in (PROM, GRAFANA) for p in d.rglob("*") if p.is_file()]
    assert len(files) >= 6
    for path in files:
        assert not BORROWER_ID.search(path.read_text()), f"{path.relative_to(ROOT)} mentions a borrower id"
