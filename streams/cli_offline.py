"""The offline commands: ``simulate``, ``backtest``, ``stress`` and ``demo``.

Each is a click command that reads the settings object the main group puts in
``ctx.obj["settings"]`` (or loads the defaults when run on its own). Register
them on the main group with ``main.add_command(...)``.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path
from typing import Any

import click

from streams.settings import Settings, SettingsError, load


def _settings(ctx: click.Context) -> Settings:
    obj = ctx.find_root().obj
    if isinstance(obj, dict) and isinstance(obj.get("settings"), Settings):
        return obj["settings"]
    try:
        return load()
    except SettingsError as exc:
        raise click.UsageError(str(exc)) from exc


def parse_time(value: str | None, tz: Any = None) -> dt.datetime | None:
    """An ISO 8601 time with its UTC offset (a bare date in ``tz`` when one is given); None stays None."""
    if value is None:
        return None
    try:
        if len(value) == 10 and tz is not None:
            d = dt.date.fromisoformat(value)
            return dt.datetime(d.year, d.month, d.day, tzinfo=tz)
        parsed = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 time (e.g. 2026-06-30T00:00:00+08:00)") from exc
    if parsed.tzinfo is None:
        raise click.BadParameter(f"{value!r} has no UTC offset; write e.g. 2026-06-30T00:00:00+08:00")
    return parsed


def _workers_option(f: Any) -> Any:
    # the same default as streams.demo.default_workers, without importing numpy when the CLI starts
    return click.option("--workers", type=click.IntRange(1, 64), default=max(1, min(os.cpu_count() or 1, 4)),
                        show_default=True,
                        help="Replay processes; borrowers are split among them by a hash of borrower_id.")(f)


_progress_option = click.option("--progress/--no-progress", default=True, help="Progress bars on stderr.")


@click.command()
@click.option("--borrowers", type=click.IntRange(0), default=2000, show_default=True)
@click.option("--months", type=click.IntRange(1), default=18, show_default=True)
@click.option("--seed", type=click.IntRange(0), default=7, show_default=True)
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]), default="2025-01-01", show_default=True,
              help="First day of the portfolio.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Directory for events.jsonl and labels.jsonl (with --kafka: labels.jsonl only).")
@click.option("--kafka", "bootstrap", default=None, help="Produce the events to Kafka at these brokers "
              "instead of writing events.jsonl (topic: the events topic of the settings).")
@click.option("--topic", default=None, help="With --kafka: the topic (default: the events topic).")
@click.option("--rate", type=float, default=0.0, show_default=True,
              help="With --kafka: events per second (0: as fast as possible).")
@_progress_option
@click.pass_context
def simulate(ctx: click.Context, borrowers: int, months: int, seed: int, start: dt.datetime, out_dir: Path | None,
             bootstrap: str | None, topic: str | None, rate: float, progress: bool) -> None:
    """Simulate an SME loan portfolio: contract events (in event-time order) and per-borrower labels.

    \b
    loanwatch simulate --borrowers 2000 --months 18 --seed 7 --out sim/
    loanwatch simulate --borrowers 200 --months 6 --kafka 127.0.0.1:9092 --rate 5000 --out sim/
    """
    import msgspec
    from tqdm import tqdm

    from streams.simulate import simulate as make
    from streams.simulate import write

    if out_dir is None and bootstrap is None:
        raise click.UsageError("give --out DIR (files) or --kafka BOOTSTRAP (and --out DIR for the labels)")
    s = _settings(ctx)
    events, labels = make(borrowers, months, seed, start.date(), progress=progress)
    defaults = sum(1 for label in labels if label.get("defaulted"))
    if bootstrap is None:
        assert out_dir is not None
        events_path, labels_path = write(out_dir, events, labels, progress=progress)
        click.echo(f"{len(events):,} events from {len(labels):,} borrowers ({defaults} default) → "
                   f"{events_path}, {labels_path}")
        return
    from streams.produce import produce

    topic = topic or s.topics.events
    encoder = msgspec.json.Encoder()
    records = (encoder.encode(e) for e in tqdm(events, desc=f"produce → {topic}", unit="event", file=sys.stderr,
                                              disable=not progress))
    sent = produce(bootstrap, topic, records, rate=rate)
    click.echo(f"sent {sent:,} events from {len(labels):,} borrowers to {topic} at {bootstrap}")
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "labels.jsonl").write_bytes(encoder.encode_lines(labels))
        click.echo(f"labels ({defaults} default) → {out_dir / 'labels.jsonl'}")
    else:
        click.echo("labels not written (give --out DIR to keep them for a backtest)", err=True)


@click.command()
@click.argument("events", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--labels", "labels_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help="labels.jsonl of the simulator (borrower_id, default_date, ...).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Directory for metrics.json, report.html and the replay files (replay/).")
@click.option("--until", default=None, help="Advance event time to this moment at the end (ISO 8601 with offset). "
              "Default: the last event.")
@click.option("--store", "store_url", default=None, help="Also save the records to this SQLAlchemy URL.")
@click.option("--horizon-days", type=click.IntRange(1), default=90, show_default=True,
              help="AUC: default within this many days after a monthly cutoff.")
@click.option("--warning-horizon-days", type=click.IntRange(1), default=180, show_default=True,
              help="A warning is true when its borrower defaults within this many days.")
@click.option("--reviewer-capacity", type=click.FloatRange(min=0.001), default=40.0, show_default=True,
              help="Warnings one reviewer handles per day.")
@_workers_option
@_progress_option
@click.pass_context
def backtest(ctx: click.Context, events: Path, labels_path: Path, out_dir: Path, until: str | None,
             store_url: str | None, horizon_days: int, warning_horizon_days: int, reviewer_capacity: float,
             workers: int, progress: bool) -> None:
    """Replay EVENTS (JSON Lines; .gz: gzip-compressed) through the real core with monthly cutoffs and score it against LABELS.

    Writes OUT/metrics.json (auc_90d, median_lead_days, false_alerts_per_100_borrower_months,
    precision, recall, warnings_per_reviewer_day, nab_score, with their definitions) and
    OUT/report.html, and prints a summary.
    """
    from streams.backtest import (
        BacktestConfig,
        load_run,
        print_summary,
        read_labels,
        run_core,
        score,
        write_metrics,
    )
    from streams.report import write_report

    s = _settings(ctx)
    tz = s.policy().tz
    config = BacktestConfig(horizon_days=horizon_days, warning_horizon_days=warning_horizon_days,
                            nab_window_days=warning_horizon_days, reviewer_capacity=reviewer_capacity)
    run = run_core(s, events, out_dir / "replay", until=parse_time(until), store_url=store_url, workers=workers,
                   progress=progress)
    click.echo(f"replayed {run.summary.events:,} events of {run.summary.borrowers:,} borrowers in "
               f"{run.seconds:.1f} s ({run.events_per_second:,.0f} events/s, {workers} worker(s))", err=True)
    labels = read_labels(labels_path)
    data = load_run(out_dir / "replay")
    metrics = score(data, labels, tz, config)
    write_metrics(metrics, out_dir / "metrics.json")
    report = write_report(out_dir / "report.html", data, metrics, labels, events, tz,
                          command=f"loanwatch backtest {events} --labels {labels_path} --out {out_dir}")
    print_summary(metrics, report)
    click.echo(f"metrics → {out_dir / 'metrics.json'}")


@click.command()
@click.argument("events", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--shock", "shocks", multiple=True, required=True,
              help='e.g. "sector=textile,revenue=-30%" or "receivable_delay=30d,sector=catering" '
                   "(keys: sector, region, revenue, receivable_delay, suppliers=follow|fixed); repeatable.")
@click.option("--from", "start", default=None, help="When the shock starts: a date (00:00 local) or an ISO time "
              "with offset. Default: the midpoint of the data.")
@click.option("--until", default=None, help="End of both replays (ISO 8601 with offset). Default: the last event.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Directory for stress.json, the shocked events and both replays.")
@_workers_option
@_progress_option
@click.pass_context
def stress(ctx: click.Context, events: Path, shocks: tuple[str, ...], start: str | None, until: str | None,
           out_dir: Path, workers: int, progress: bool) -> None:
    """Stress scenario (情景分析): shock some borrowers' sales or receivables, replay both, explain the difference.

    Lists every shocked borrower that would cross a warning, risk-class or
    credit-limit threshold, with its credit limit and amount overdue, and checks
    that nothing changes for borrowers outside the shock. Writes OUT/stress.json.
    """
    from streams.stress import ShockError, parse_shock, parse_start, print_stress, run_stress

    s = _settings(ctx)
    tz = s.policy().tz
    try:
        parsed = [parse_shock(text) for text in shocks]
        begin = parse_start(start, tz)
    except ShockError as exc:
        raise click.BadParameter(str(exc)) from exc
    report = run_stress(s, events, parsed, out_dir, start=begin, until=parse_time(until, tz), workers=workers,
                        progress=progress)
    print_stress(report)
    click.echo(f"stress report → {out_dir / 'stress.json'}")


@click.command()
@click.option("--borrowers", type=click.IntRange(1), default=2000, show_default=True)
@click.option("--months", type=click.IntRange(1), default=18, show_default=True)
@click.option("--seed", type=click.IntRange(0), default=7, show_default=True)
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("demo-out"),
              show_default=True)
@_workers_option
@_progress_option
@click.pass_context
def demo(ctx: click.Context, borrowers: int, months: int, seed: int, out_dir: Path, workers: int,
         progress: bool) -> None:
    """Try loanwatch without a broker: simulate → replay through the core → SQLite → backtest → HTML report."""
    from streams.demo import print_demo, run_demo

    result = run_demo(_settings(ctx), out_dir, borrowers=borrowers, months=months, seed=seed, workers=workers,
                      progress=progress)
    print_demo(result)
    click.echo(f"open the report: {result['report'].resolve()}")


COMMANDS = (simulate, backtest, stress, demo)

__all__ = ["COMMANDS", "backtest", "demo", "simulate", "stress"]
