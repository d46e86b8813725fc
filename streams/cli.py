"""The ``loanwatch`` command.

Every command reads the same settings (``--config FILE`` or ``$LOANWATCH_CONFIG``,
then ``LOANWATCH_*`` environment variables); ``loanwatch settings`` prints them.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Any

import click
import msgspec

from streams.cli_offline import parse_time
from streams.settings import Settings, SettingsError, load


def _settings(ctx: click.Context) -> Settings:
    return ctx.obj["settings"]  # type: ignore[no-any-return]


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--config", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="TOML settings file (default: $LOANWATCH_CONFIG). See `loanwatch settings`.")
@click.option("--bootstrap", default=None, help="Kafka brokers, e.g. 127.0.0.1:9092 "
              "(default: $LOANWATCH_KAFKA_BOOTSTRAP or the settings file).")
@click.pass_context
def main(ctx: click.Context, config: Path | None, bootstrap: str | None) -> None:
    """loanwatch: streaming post-loan risk monitor for SME lending (贷后监控).

    \b
    Live:     loanwatch topics create && loanwatch worker
    Offline:  loanwatch replay events.jsonl --out out/ [--until 2026-06-30T00:00:00+08:00]
    Try it:   loanwatch demo            (no broker needed)

    Input events follow the contract in streams/schemas/ (JSON Schema, one file per type).
    """
    try:
        ctx.obj = {"settings": load(config, overrides={"kafka": {"bootstrap": bootstrap}} if bootstrap else None)}
    except SettingsError as exc:
        raise click.UsageError(str(exc)) from exc


@main.command()
@click.pass_context
def settings(ctx: click.Context) -> None:
    """Print the effective settings as TOML-like JSON (defaults, file, environment)."""
    click.echo(msgspec.json.format(msgspec.json.encode(_settings(ctx)), indent=2))


@main.command()
@click.option("--all", "every", is_flag=True, help="Also the rules switched off in the file (enabled = false).")
@click.option("--examples", is_flag=True, help="The alert each rule raises on its example, in English and Chinese.")
@click.pass_context
def rules(ctx: click.Context, every: bool, examples: bool) -> None:
    """List the alert rules: what each watches, its thresholds, whether it is on.

    The rules are the packaged alerts/rules.toml, or your own file named by
    [core] rules in the settings (it replaces the packaged one; each rule's
    `example` is checked when the file is loaded).

    \b
    loanwatch rules                           the rules in use
    loanwatch rules --all --examples          every rule in the file and the alert it raises on its example
    loanwatch --config my.toml rules --all    the rules of your own file
    """
    from rich.console import Console
    from rich.table import Table

    from alerts.rules import load_rules

    s = _settings(ctx)
    path = s.core.rules or None
    on = {r.name for r in s.policy().ruleset.rules}
    shown = [r for r in load_rules(path, timezone=s.core.timezone, include_disabled=True).rules
             if every or r.name in on]
    table = Table(title=f"alert rules: {path or 'alerts/rules.toml (packaged)'}")
    for column in ("rule", "on", "alert type", "scope", "fires when"):
        table.add_column(column)
    for r in shown:
        table.add_row(r.name, "yes" if r.name in on else "no", r.type, r.scope, r.describe())
    console = Console()
    console.print(table)
    if examples:
        for r in shown:
            found = r.run_example()
            if found is None:
                console.print(f"\n[bold]{r.name}[/bold]: no example in the file")
                continue
            level, reason = found
            given = ", ".join(f"{k} = {v:g}" for k, v in r.example)
            console.print(f"\n[bold]{r.name}[/bold] ({given}) → {level.severity}, {reason.code}", highlight=False)
            console.print(f"  {reason.message}\n  {reason.message_zh}", highlight=False, markup=False, soft_wrap=True)


@main.group()
def topics() -> None:
    """Create or check the Kafka topics (the broker never creates them implicitly)."""


@topics.command("create")
@click.pass_context
def topics_create(ctx: click.Context) -> None:
    """Create every missing input, output and state topic with the configured partitions."""
    from streams import topics as topic_admin

    created = topic_admin.create(_settings(ctx))
    click.echo(f"created {len(created)} topic(s)" + (": " + ", ".join(created) if created else ""))
    left = topic_admin.problems(_settings(ctx))
    if left:
        raise click.ClickException("; ".join(left))


@topics.command("check")
@click.pass_context
def topics_check(ctx: click.Context) -> None:
    """Exit 0 when every topic exists with the configured partitions, else list the problems."""
    from streams import topics as topic_admin

    left = topic_admin.problems(_settings(ctx))
    if left:
        raise click.ClickException("; ".join(left))
    click.echo("topics ok")


@main.command()
@click.option("--loglevel", default="info", show_default=True)
@click.pass_context
def worker(ctx: click.Context, loglevel: str) -> None:
    """Run the live worker: consume events, keep state, send alerts, tasks and limit changes.

    Refuses to start (exit 2) when a topic is missing or its partition count is
    wrong. Serves /metrics and /health on worker.web_port (default 6066).
    SIGTERM stops it cleanly.
    """
    import faust

    from streams import topics as topic_admin
    from streams.app import create_app

    s = _settings(ctx)
    try:
        left = topic_admin.problems(s)
    except Exception as exc:  # no broker: say so plainly
        click.echo(f"loanwatch worker: cannot reach Kafka at {s.kafka.bootstrap}: {exc}", err=True)
        sys.exit(2)
    if left:
        click.echo("loanwatch worker: refusing to start: " + "; ".join(left), err=True)
        sys.exit(2)
    app = create_app(s)
    faust.Worker(app, loglevel=loglevel, quiet=True).execute_from_commandline()


@main.command("store-sink")
@click.option("--exit-when-idle", type=float, default=None,
              help="Stop after this many seconds without new records (for batch use and tests).")
@click.pass_context
def store_sink(ctx: click.Context, exit_when_idle: float | None) -> None:
    """Keep alerts, tasks, limit changes and dead letters from the output topics in the SQL store.

    The store is settings.store_url ($LOANWATCH_STORE_URL; SQLite by default,
    postgresql+psycopg://… in production). Runs beside the worker as its own
    consumer group; records are upserted by id, so re-runs are harmless.
    """
    from streams.sink import run_sink

    saved = run_sink(_settings(ctx), exit_when_idle)
    click.echo(f"saved {saved:,} records")


@main.command()
@click.argument("events", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Directory for alerts.jsonl, tasks.jsonl, limits.jsonl, dead_letters.jsonl, borrowers.jsonl.")
@click.option("--until", default=None, help="Advance event time to this moment at the end (ISO 8601 with "
              "offset), so due dates and silences after the last event are seen. Default: the last event.")
@click.option("--store", "store_url", default=None, help="Also save records to this SQLAlchemy URL "
              "(e.g. sqlite:///out/loanwatch.db).")
@click.option("--progress/--no-progress", default=True, help="Progress bar on stderr.")
@click.pass_context
def replay(ctx: click.Context, events: Path, out_dir: Path, until: str | None, store_url: str | None,
           progress: bool) -> None:
    """Run the live worker's core over a JSON Lines file of events (one event per line; a name ending in .gz is
    read as gzip-compressed).

    Gives the same records as the live worker given the same events: same ids,
    same content. Invalid lines become dead letters with their reason.
    """
    summary = run_replay(_settings(ctx), events, out_dir, parse_time(until), store_url, progress)
    print_summary(summary, out_dir)


def run_replay(s: Settings, events: Path, out_dir: Path, until: dt.datetime | None,
               store_url: str | None, progress: bool) -> Any:
    from tqdm import tqdm

    from streams.processor import Processor
    from streams.replay import JsonlSink, file_bytes, read_lines
    from streams.replay import replay as run

    store = None
    if store_url:
        from alerts.store import Store

        store = Store(store_url)
        store.create_schema()
    sink = JsonlSink(out_dir)
    bar = tqdm(total=file_bytes(events), unit="B", unit_scale=True, desc="replay", disable=not progress,
               file=sys.stderr)
    try:
        return run(read_lines(events), Processor(s.policy(), s.kafka.max_event_bytes, s.topics.partitions), sink,
                   source=events.name, until=until, received_at=dt.datetime.now(dt.UTC).isoformat(),
                   store=store, on_line=bar.update)
    finally:
        bar.close()
        sink.close()


def print_summary(summary: Any, out_dir: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"replay → {out_dir}", show_header=True)
    table.add_column("what")
    table.add_column("count", justify="right")
    table.add_row("events applied", f"{summary.events:,}")
    table.add_row("dead letters", f"{summary.dead_letters:,}")
    table.add_row("borrowers", f"{summary.borrowers:,}")
    for key, count in sorted(summary.outputs.items()):
        table.add_row(key.replace(":", " "), f"{count:,}")
    table.add_row("advanced to", summary.until)
    Console(stderr=False).print(table)


@main.command()
@click.argument("events", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--topic", default=None, help="Topic (default: the events topic of the settings).")
@click.option("--rate", type=float, default=0.0, help="Events per second (0: as fast as possible).")
@click.pass_context
def produce(ctx: click.Context, events: Path, topic: str | None, rate: float) -> None:
    """Send a JSON Lines file of events (.gz: gzip-compressed) to Kafka, keyed by borrower_id, in file order.

    Lines that are not valid events are sent as they are (keyed by their
    borrower_id when one can be read), so the worker dead-letters them.
    """
    from streams.produce import produce_file

    s = _settings(ctx)
    sent = produce_file(s.kafka.bootstrap, topic or s.topics.events, events, rate=rate)
    click.echo(f"sent {sent:,} messages to {topic or s.topics.events}")


def _register_offline_commands() -> None:
    from streams.cli_offline import backtest, demo, simulate, stress

    for command in (simulate, backtest, stress, demo):
        main.add_command(command)


_register_offline_commands()

if __name__ == "__main__":  # pragma: no cover
    main()
