"""One validated settings object: defaults, then an optional TOML file, then the environment.

Read once at start-up (``load``) and passed down; nothing else reads the
environment. Unknown keys and wrong types are refused with a message naming
the key.

Environment variables (the ones ops set most):

- ``LOANWATCH_CONFIG``: path of a TOML file with any of the sections below
- ``LOANWATCH_KAFKA_BOOTSTRAP``: broker list, e.g. ``127.0.0.1:9092``
- ``LOANWATCH_STORE_URL``: SQLAlchemy URL of the output store
- ``LOANWATCH_WEB_PORT``: port of the worker's /metrics and /health
"""

from __future__ import annotations

import os
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec

from alerts.classification import ClassThresholds
from alerts.collection import DEFAULT_STAGES, CollectionPolicy, Stage
from alerts.limits import LimitPolicy
from alerts.rules import RuleError, RuleSet, load_rules
from detectors.dormancy import DormancyPolicy
from streams.core import Policy


class Topics(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    events: str = "loanwatch.events"
    collection_outcomes: str = "loanwatch.collection-outcomes"
    ticks: str = "loanwatch.ticks"
    alerts: str = "loanwatch.alerts"
    tasks: str = "loanwatch.collection-tasks"
    limits: str = "loanwatch.limit-changes"
    dead_letters: str = "loanwatch.dead-letters"
    partitions: int = 8  # every input topic (and the state changelog) has this many: co-partitioned
    output_partitions: int = 8
    replication: int = 1

    def inputs(self) -> tuple[str, ...]:
        return (self.events, self.collection_outcomes, self.ticks)

    def outputs(self) -> tuple[str, ...]:
        return (self.alerts, self.tasks, self.limits, self.dead_letters)


class Kafka(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    bootstrap: str = "127.0.0.1:9092"
    app_id: str = "loanwatch"
    commit_interval_seconds: float = 2.0
    session_timeout_seconds: float = 30.0  # how long the group waits for a worker that died before reassigning
    max_event_bytes: int = 1_048_576


class Worker(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    web_port: int = 6066
    tick_seconds: float = 30.0  # how often the clock advances timers of idle borrowers
    health_stall_seconds: float = 120.0  # unhealthy when commits stall this long with lag > 0
    retry_attempts: int = 5  # transient errors (store, broker) are retried this often
    retry_backoff_seconds: float = 0.5


class Core(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    timezone: str = "Asia/Shanghai"
    lateness_seconds: int = 7200  # events are applied in occurred_at order once the clock is this far past them
    grace_days: int = 0
    alert_dpd: int = 30
    recent_ids: int = 24  # a re-delivery of one of a borrower's latest 24 events changes nothing (see README)
    public_holidays: bool = True  # Spring Festival and Golden Week are not silence (false: a portfolio outside China)
    substandard_dpd: int = 90
    doubtful_dpd: int = 270
    loss_dpd: int = 360
    stages: list[dict[str, Any]] = msgspec.field(
        default_factory=lambda: [_stage_dict(s) for s in DEFAULT_STAGES])
    rules: str = ""  # a rules file (format of alerts/rules.toml); "" for the packaged default
    default_dpd: int = 90  # reaching it is a default: the PD model's positive label
    label_horizon_days: int = 90  # ... for the features the borrower had this long before
    pd_min_positives: int = 20  # defaults a partition's PD model must learn before it gets any weight
    pd_prior_labels: int = 500  # labels at which the learned PD and the rule prior weigh the same


class Settings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    kafka: Kafka = msgspec.field(default_factory=Kafka)
    topics: Topics = msgspec.field(default_factory=Topics)
    worker: Worker = msgspec.field(default_factory=Worker)
    core: Core = msgspec.field(default_factory=Core)
    store_url: str = "sqlite:///loanwatch.db"  # where the worker keeps its records; "" for none
    limits: dict[str, Any] = {}  # [limits]: fields of alerts.limits.LimitPolicy (steps, cooling-off, review)

    def policy(self) -> Policy:
        """The core's view of the settings."""
        c = self.core
        stages = tuple(sorted((Stage(**{**s, "products": tuple(s.get("products", ()))}) for s in c.stages),
                              key=lambda s: s.min_dpd))
        return Policy(
            timezone=c.timezone,
            lateness_seconds=c.lateness_seconds,
            grace_days=c.grace_days,
            alert_dpd=c.alert_dpd,
            recent_ids=c.recent_ids,
            dormancy=DormancyPolicy(holidays=c.public_holidays),
            collection=CollectionPolicy(stages=stages),
            classes=ClassThresholds(c.substandard_dpd, c.doubtful_dpd, c.loss_dpd),
            limits=_limit_policy(self.limits),
            rules=_rules(c.rules, c.timezone),
            default_dpd=c.default_dpd,
            label_horizon_days=c.label_horizon_days,
            pd_min_positives=c.pd_min_positives,
            pd_prior_labels=c.pd_prior_labels,
        )


def _limit_policy(values: dict[str, Any]) -> LimitPolicy:
    """``[limits]`` as a LimitPolicy; an unknown key or a wrong type is a SettingsError.

    >>> _limit_policy({"cooling_days": 60, "review_amount": "100000"}).review_amount
    Decimal('100000')
    """
    values = dict(values)
    if "review_amount" in values:
        values["review_amount"] = Decimal(str(values["review_amount"]))
    if "decrease_on" in values:
        values["decrease_on"] = tuple(values["decrease_on"])
    try:
        return LimitPolicy(**values)
    except TypeError as exc:
        raise SettingsError(f"[limits]: {exc}") from exc


def _rules(path: str, timezone: str) -> RuleSet | None:
    """``[core] rules``: the rule set of that file, or None for the packaged default."""
    if not path:
        return None
    try:
        return load_rules(path, timezone=timezone)
    except (OSError, RuleError) as exc:
        raise SettingsError(f"[core] rules: {exc}") from exc


def _stage_dict(stage: Stage) -> dict[str, Any]:
    return {f: getattr(stage, f) for f in stage.__dataclass_fields__}


class SettingsError(ValueError):
    """The settings are invalid; the message names the key."""


ENV = {
    "LOANWATCH_KAFKA_BOOTSTRAP": ("kafka", "bootstrap", str),
    "LOANWATCH_APP_ID": ("kafka", "app_id", str),
    "LOANWATCH_STORE_URL": (None, "store_url", str),
    "LOANWATCH_WEB_PORT": ("worker", "web_port", int),
    "LOANWATCH_TICK_SECONDS": ("worker", "tick_seconds", float),
    "LOANWATCH_PARTITIONS": ("topics", "partitions", int),
}


def load(path: str | Path | None = None, env: dict[str, str] | None = None,
         overrides: dict[str, Any] | None = None) -> Settings:
    """Defaults, then the TOML file (``path`` or ``$LOANWATCH_CONFIG``), then the environment.

    >>> load(env={"LOANWATCH_KAFKA_BOOTSTRAP": "127.0.0.1:1234"}).kafka.bootstrap
    '127.0.0.1:1234'
    >>> load(env={}, overrides={"core": {"alert_dpd": "x"}})
    Traceback (most recent call last):
    ...
    streams.settings.SettingsError: invalid settings: Expected `int`, got `str` - at `$.core.alert_dpd`
    """
    env = dict(os.environ) if env is None else env
    data: dict[str, Any] = {}
    path = path or env.get("LOANWATCH_CONFIG")
    if path:
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise SettingsError(f"cannot read settings file {path}: {exc}") from exc
    for name, (section, key, cast) in ENV.items():
        if name in env:
            try:
                value = cast(env[name])
            except ValueError as exc:
                raise SettingsError(f"{name}={env[name]!r}: {exc}") from exc
            (data.setdefault(section, {}) if section else data)[key] = value
    for section, values in (overrides or {}).items():
        if isinstance(values, dict):
            data.setdefault(section, {}).update(values)
        else:
            data[section] = values
    try:
        settings = msgspec.convert(data, Settings)
        settings.policy()
    except (msgspec.ValidationError, TypeError, ValueError) as exc:
        raise SettingsError(f"invalid settings: {exc}") from exc
    return settings
