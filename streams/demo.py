"""``loanwatch demo``: simulate a portfolio, replay it through the real core, store, score, report.

No broker needed. Stages (each timed; the times go to ``OUT/timings.json``):

1. simulate: :func:`streams.simulate.simulate` (borrowers × months, seeded);
2. write: ``OUT/events.jsonl`` and ``OUT/labels.jsonl``;
3. replay: :func:`streams.backtest.run_core` over the events file with monthly
   cutoffs (``OUT/replay/``), borrowers split over ``workers`` processes;
4. store: alerts, collection tasks, limit changes and dead letters into SQLite
   (``OUT/loanwatch.db``, made afresh) through :class:`alerts.store.Store`;
5. backtest: :func:`streams.backtest.score` against the labels (``OUT/metrics.json``);
6. report: ``OUT/report.html``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from streams.backtest import (
    BacktestConfig,
    load_run,
    print_summary,
    run_core,
    save_to_store,
    score,
    write_metrics,
)

T = TypeVar("T")

DEFAULT_BORROWERS = 2000
DEFAULT_MONTHS = 18
DEFAULT_SEED = 7
DEFAULT_START = dt.date(2025, 1, 1)


def default_workers() -> int:
    """Replay processes: one per core, at most 4 (the replay is CPU-bound, one process per partition)."""
    return max(1, min(os.cpu_count() or 1, 4))


class Stages:
    """Times named stages (wall clock, seconds)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def run(self, name: str, fn: Callable[[], T]) -> T:
        began = time.perf_counter()
        try:
            return fn()
        finally:
            self.seconds[name] = round(time.perf_counter() - began, 2)


def run_demo(settings: Any, out: Path, *, borrowers: int = DEFAULT_BORROWERS, months: int = DEFAULT_MONTHS,
             seed: int = DEFAULT_SEED, start: dt.date = DEFAULT_START, workers: int | None = None,
             progress: bool = True, config: BacktestConfig | None = None) -> dict[str, Any]:
    """The whole demo; returns paths, stage times, replay summary and metrics."""
    from streams.report import write_report
    from streams.simulate import simulate, write

    workers = workers or default_workers()
    stages = Stages()
    out.mkdir(parents=True, exist_ok=True)
    tz = settings.policy().tz
    config = config or BacktestConfig()
    simulated = stages.run("simulate", lambda: simulate(borrowers, months, seed, start, progress=progress))
    labels = simulated[1]
    n_events = len(simulated[0])
    events_path, labels_path = stages.run("write", lambda: write(out, simulated[0], labels, progress=progress))
    simulated[0].clear()  # the replay reads the file; free the memory
    replay_dir = out / "replay"
    run = stages.run("replay", lambda: run_core(settings, events_path, replay_dir, workers=workers,
                                                 progress=progress))
    db = out / "loanwatch.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    store_url = f"sqlite:///{db}"
    counts = stages.run("store", lambda: save_to_store(store_url, replay_dir))
    data = load_run(replay_dir)
    metrics = stages.run("backtest", lambda: score(data, labels, tz, config))
    write_metrics(metrics, out / "metrics.json")
    command = f"loanwatch demo --borrowers {borrowers} --months {months} --seed {seed} --out {out}"
    report = stages.run("report", lambda: write_report(out / "report.html", data, metrics, labels, events_path, tz,
                                                       title=f"demo: {borrowers:,} borrowers × {months} months, "
                                                             f"seed {seed}", command=command))
    total = round(sum(stages.seconds.values()), 2)
    timings = {"stages": stages.seconds, "total": total, "events": n_events, "borrowers": borrowers,
               "months": months, "workers": workers,
               "replay_events_per_second": round(run.events_per_second, 1),
               "replay_events_per_second_per_worker": round(run.events_per_second / workers, 1)}
    (out / "timings.json").write_text(json.dumps(timings, indent=2))
    return {"out": out, "events": events_path, "labels": labels_path, "db": db, "store_url": store_url,
            "report": report, "metrics": metrics, "timings": timings, "counts": counts, "run": run}


def print_demo(result: dict[str, Any], console: Any = None) -> None:
    """The demo's terminal summary: stage times, store contents, the backtest, the report's path."""
    from rich.console import Console
    from rich.table import Table

    from alerts.store import Store

    console = console or Console()
    t = result["timings"]
    table = Table(title=f"demo 演示: {t['borrowers']:,} borrowers × {t['months']} months, {t['events']:,} events")
    table.add_column("stage 阶段")
    table.add_column("seconds", justify="right")
    for name, seconds in t["stages"].items():
        extra = (f"  ({t['replay_events_per_second']:,.0f} events/s, {t['workers']} worker(s))"
                 if name == "replay" else "")
        table.add_row(name, f"{seconds:.1f}{extra}")
    table.add_row("[bold]total[/bold]", f"[bold]{t['total']:.1f}[/bold]")
    console.print(table)
    counts = result["counts"]
    console.print(f"store 存储 {result['db']}: alerts {counts['alert']}, tasks {counts['task']}, "
                  f"limit changes {counts['limit']}, dead letters {counts['dead_letter']['all']}", highlight=False)
    store = Store(result["store_url"])
    try:
        alerts = store.open_alerts(limit=5)
        tasks = store.task_feed(limit=5)
    finally:
        store.close()
    if alerts:
        at = Table(title="open alerts, most severe first 未关闭预警 (top 5)")
        for col in ("borrower", "type", "severity", "class", "score", "why"):
            at.add_column(col)
        for a in alerts:
            at.add_row(a.borrower_id, a.type, a.severity, a.risk_class, f"{a.risk_score:.2f}",
                       a.reasons[0].message if a.reasons else "")
        console.print(at)
    if tasks:
        tt = Table(title="collection task feed 催收任务 (top 5 by priority)")
        for col in ("borrower", "loan", "action", "DPD", "overdue", "due by"):
            tt.add_column(col)
        for task in tasks:
            tt.add_row(task.borrower_id, task.loan_id, task.action, str(task.dpd), f"{task.amount_overdue:,}",
                       task.due_by[:10])
        console.print(tt)
    print_summary(result["metrics"], result["report"], console)


__all__ = ["DEFAULT_BORROWERS", "DEFAULT_MONTHS", "DEFAULT_SEED", "Stages", "default_workers", "print_demo",
           "run_demo"]
