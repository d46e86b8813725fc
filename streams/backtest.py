"""Backtest: replay events through the real core with monthly cutoffs, then score it against labels.

Two halves:

* :func:`run_core` is the replay shell for the offline commands (backtest,
  stress, demo): :func:`streams.replay.replay` over a JSON Lines file, with a
  snapshot of every borrower at each monthly cutoff. With ``workers > 1`` the
  borrowers are split into partitions by a stable hash of ``borrower_id`` (as
  the Kafka topics are) and each partition is replayed in its own process; the
  core is per borrower, so the records and snapshots are the same as in one
  process (a test checks it), only the files group them by partition.
* :func:`score` turns the replay outputs and the simulator's labels into the
  metrics a risk team asks for (definitions in :data:`DEFINITIONS`; they are
  written into ``metrics.json`` and the report as well).

>>> round(auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]), 3)
0.75
>>> auc([0.9, 0.8, 0.2], [1, 1, 0])
1.0
>>> round(nab_sigmoid(-1.0), 4), nab_sigmoid(0.0)
(0.9866, 0.0)
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import multiprocessing as mp
import shutil
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import numpy as np

from alerts.records import Alert, CollectionTask, LimitChange, Reason
from streams.processor import kafka_partition
from streams.replay import BORROWERS, DEAD_LETTERS, FILES, ReplaySummary, file_bytes, open_events

DAY = 86_400
SNAPSHOTS = "snapshots.jsonl"
RUN = "run.json"
METRICS = "metrics.json"


# --------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class BacktestConfig:
    """What the scores mean; every figure is written next to the metrics it produced."""

    horizon_days: int = 90  # AUC: does the borrower default within this many days after the cutoff?
    early_horizon_days: int = 180  # the early-warning AUC: borrowers current at the cutoff, this horizon
    warning_horizon_days: int = 180  # a warning is true when its borrower defaults within this after it
    severities: tuple[str, ...] = ("warning", "critical")  # which alerts count as warnings
    reviewer_capacity: float = 40.0  # warnings one risk reviewer can look into per day
    nab_window_days: int = 180  # NAB: the window before a default in which a warning earns credit
    nab_a_tp: float = 1.0  # NAB "standard" profile weights
    nab_a_fp: float = -0.11
    nab_a_fn: float = -1.0


DEFINITIONS = {
    "default": "a borrower defaults when it first reaches 90 days past due (label default_date, taken as "
               "00:00 local time of that day)",
    "auc_90d": "AUC of the snapshot risk_score at each monthly cutoff against 'defaults within horizon_days "
               "after the cutoff', pooled over borrower-months; a borrower-month is in the pool when the "
               "borrower has a loan on the book at the cutoff (credit_limit > 0), has not defaulted yet, "
               "and the whole horizon lies within the data (later cutoffs are censored and left out). "
               "Ties count one half (Mann-Whitney).",
    "auc_180d_current": "the early-warning AUC: risk_score at monthly cutoffs against default within "
                        "early_horizon_days, pooled over borrower-months that are on the book and not past "
                        "due at the cutoff (dpd 0), with the whole horizon within the data. (With a 90-day "
                        "horizon such a borrower cannot reach 90 DPD in time, so the horizon is longer.) Can "
                        "the score tell who will default before the first missed payment? A score built on "
                        "days past due alone has little to go on here.",
    "false_alerts_per_100_borrower_months_excl_censored": "the same without the censored false warnings "
                                                          "(an optimistic bound)",
    "warning": "an alert of any type whose severity is one of `severities`, counted once per alert_id, "
               "at the time it first had such a severity",
    "true_warning": "a warning on a borrower that defaults within warning_horizon_days after it",
    "false_warning": "a warning on a borrower that does not default within warning_horizon_days after it "
                     "(warnings whose horizon runs past the end of the data are counted as false too, "
                     "pessimistically; `censored_false_warnings` says how many)",
    "after_default_warning": "a warning raised after its borrower had already defaulted: neither true "
                             "nor false, left out of precision",
    "precision": "true warnings / (true + false warnings)",
    "warnings_by_type": "per alert type: warnings, true, false, after default, first_true (defaulters whose "
                        "first true warning was of this type) and precision: which detector earns its keep",
    "recall": "defaulters with at least one true warning / all defaulters in the data",
    "lead_days": "per defaulter: days from its first true warning to its default (90 DPD)",
    "false_alerts_per_100_borrower_months": "false warnings per 100 borrower-months, a borrower-month "
                                            "being a (borrower, monthly cutoff) with a loan on the book",
    "warnings_per_reviewer_day": "warnings per calendar day of the data divided by reviewer_capacity "
                                 "(warnings one reviewer handles a day): 1.0 keeps one reviewer busy full time",
    "nab_score": "NAB-style, normalised to 0 (no warnings at all) .. 100 (every default warned at the "
                 "start of its window, no false warnings). Each defaulter has a window [default - W, "
                 "default]; its first warning in the window earns A_TP * sigma(y), y = (t - default) / W "
                 "in [-1, 0], sigma(y) = 2 / (1 + exp(5 y)) - 1 (0.987 at the window start, 0 at the "
                 "default); a defaulter without a warning in its window costs A_FN; every false warning "
                 "costs |A_FP|; later warnings in a window and warnings after default count 0. "
                 "normalised = 100 * (raw - null) / (perfect - null), null = A_FN * defaulters, "
                 "perfect = A_TP * sigma(-1) * defaulters.",
}


# --------------------------------------------------------------------------- replay shell


@dataclass
class CoreRun:
    """What :func:`run_core` did: where the files are, the summary, and how long it took."""

    out_dir: Path
    summary: ReplaySummary
    first: dt.datetime
    until: dt.datetime
    cutoffs: list[dt.datetime]
    seconds: float
    workers: int

    @property
    def events_per_second(self) -> float:
        return self.summary.events / max(self.seconds, 1e-9)


class _Head(msgspec.Struct):
    borrower_id: str = ""
    occurred_at: str = ""


_head = msgspec.json.Decoder(_Head)


def _read_head(raw: bytes) -> _Head | None:
    try:
        return _head.decode(raw)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None


def event_span(path: Path) -> tuple[dt.datetime, dt.datetime]:
    """Earliest and latest ``occurred_at`` among the lines whose envelope can be read."""
    first: dt.datetime | None = None
    last: dt.datetime | None = None
    seen: dict[str, dt.datetime] = {}
    with open_events(path) as f:
        for line in f:
            head = _read_head(line)
            if head is None or not head.occurred_at:
                continue
            key = head.occurred_at
            t = seen.get(key)
            if t is None:
                try:
                    t = dt.datetime.fromisoformat(key)
                except ValueError:
                    continue
                if t.tzinfo is None:
                    continue
                if len(seen) < 1_000_000:
                    seen[key] = t
            if first is None or t < first:
                first = t
            if last is None or t > last:
                last = t
    if first is None or last is None:
        raise ValueError(f"{path}: no event with a readable occurred_at")
    return first, last


def monthly_cutoffs(first: dt.datetime, until: dt.datetime, tz: Any) -> list[dt.datetime]:
    """00:00 local time on the first of every month after ``first`` up to ``until``.

    >>> from zoneinfo import ZoneInfo
    >>> tz = ZoneInfo("Asia/Shanghai")
    >>> [c.date().isoformat() for c in monthly_cutoffs(dt.datetime(2025, 1, 1, 9, tzinfo=tz),
    ...                                                  dt.datetime(2025, 3, 31, tzinfo=tz), tz)]
    ['2025-02-01', '2025-03-01']
    """
    local = first.astimezone(tz)
    year, month = local.year, local.month
    out: list[dt.datetime] = []
    while True:
        month += 1
        if month > 12:
            year, month = year + 1, 1
        cut = dt.datetime(year, month, 1, tzinfo=tz)
        if cut > until:
            return out
        out.append(cut)


def partition_of(borrower_id: str, parts: int, partitions: int = 8) -> int:
    """Which of ``parts`` worker processes replays a borrower: whole Kafka partitions (of ``partitions``)
    go to one process, so each partition's feed board sees all its borrowers, as in the live worker.

    >>> partition_of("B00001", 2) == partition_of("B00001", 2), partition_of("B1", 3), partition_of("B1", 1)
    (True, 1, 0)
    """
    return kafka_partition(borrower_id.encode(), partitions) % parts if parts > 1 else 0


def _partition_lines(path: Path, part: int, parts: int, partitions: int,
                     progress: Callable[[int], Any] | None = None) -> Iterator[tuple[int, bytes]]:
    """(line number, raw) of the lines of one partition; unreadable lines go to partition 0."""
    done = 0
    with open_events(path) as f:
        for number, line in enumerate(f, 1):
            raw = line.rstrip(b"\r\n")
            if parts > 1:
                head = _read_head(raw)
                mine = partition_of(head.borrower_id, parts, partitions) \
                    if head is not None and head.borrower_id else 0
                if mine != part:
                    continue
            done += len(line)
            if progress is not None and done >= 1 << 20:
                progress(done)
                done = 0
            yield number, raw
    if progress is not None and done:
        progress(done)


_shared_progress: Any = None  # a multiprocessing.Value of bytes done, in worker processes


def _init_worker(progress: Any) -> None:
    global _shared_progress
    _shared_progress = progress


def _add_shared(n: int) -> None:
    with _shared_progress.get_lock():
        _shared_progress.value += n


def _replay_part(args: tuple[Any, ...], progress: Callable[[int], Any] | None = None,
                 ) -> tuple[ReplaySummary, list[dict[str, Any]]]:
    """One partition's replay (runs in a worker process, or inline for one worker)."""
    from streams.processor import Processor
    from streams.replay import JsonlSink, replay

    events, out_dir, settings, part, parts, until_iso, cutoffs_iso, received_at = args
    if progress is None and _shared_progress is not None:
        progress = _add_shared
    until = dt.datetime.fromisoformat(until_iso)
    cutoffs = [dt.datetime.fromisoformat(c) for c in cutoffs_iso]
    snapshots: list[dict[str, Any]] = []

    def keep(cutoff: str, snapshot: dict[str, Any]) -> None:
        snapshots.append({"cutoff": cutoff, **snapshot})

    sink = JsonlSink(Path(out_dir))
    try:
        lines = _partition_lines(Path(events), part, parts, settings.topics.partitions, progress)
        processor = Processor(settings.policy(), settings.kafka.max_event_bytes, settings.topics.partitions)
        summary = replay(lines, processor, sink, source=Path(events).name, until=until,
                         received_at=received_at, cutoffs=cutoffs, on_snapshot=keep)
    finally:
        sink.close()
    return summary, snapshots


def run_core(settings: Any, events: Path, out_dir: Path, *, until: dt.datetime | None = None,
             cutoffs: Sequence[dt.datetime] | None = None, store_url: str | None = None, workers: int = 1,
             progress: bool = True, desc: str = "replay") -> CoreRun:
    """Replay ``events`` through the core into ``out_dir`` with monthly cutoff snapshots.

    Writes the replay files (``alerts.jsonl``, ``tasks.jsonl``, ``limits.jsonl``,
    ``dead_letters.jsonl``, ``borrowers.jsonl``), ``snapshots.jsonl`` (one line per
    borrower and cutoff, with ``cutoff``) and ``run.json``; with ``store_url`` the
    records are saved in that store too. ``until`` defaults to the latest event time.
    """
    from tqdm import tqdm

    began = time.perf_counter()
    policy = settings.policy()
    first, last = event_span(events)
    until = until or last
    cuts = list(cutoffs) if cutoffs is not None else monthly_cutoffs(first, until, policy.tz)
    workers = max(1, min(workers, 64))
    out_dir.mkdir(parents=True, exist_ok=True)
    received_at = dt.datetime.now(dt.UTC).isoformat()
    common = (str(events), settings, until.isoformat(), [c.isoformat() for c in cuts], received_at)
    bar = tqdm(total=file_bytes(events), unit="B", unit_scale=True, desc=desc, disable=not progress,
               file=sys.stderr, leave=False)
    try:
        if workers == 1:
            events_s, settings_, until_iso, cutoffs_iso, received_at_ = common
            results = [_replay_part((events_s, str(out_dir), settings_, 0, 1, until_iso, cutoffs_iso,
                                     received_at_), bar.update)]
            part_dirs = [out_dir]
        else:
            parts_root = out_dir / ".parts"
            shutil.rmtree(parts_root, ignore_errors=True)
            part_dirs = [parts_root / str(k) for k in range(workers)]
            results = _run_parallel(common, part_dirs, workers, bar)
    finally:
        bar.close()
    summary = ReplaySummary(until=results[0][0].until)
    for part_summary, _ in results:
        summary.events += part_summary.events
        summary.dead_letters += part_summary.dead_letters
        summary.borrowers += part_summary.borrowers
        summary.outputs.update(part_summary.outputs)
    if workers > 1:
        _merge_parts(part_dirs, out_dir)
        shutil.rmtree(out_dir / ".parts", ignore_errors=True)
    snapshots = [s for _, part in results for s in part]
    snapshots.sort(key=lambda s: (s["cutoff"], s["borrower_id"]))
    with (out_dir / SNAPSHOTS).open("wb") as f:
        f.write(msgspec.json.Encoder(decimal_format="string").encode_lines(snapshots))
    if store_url:
        save_to_store(store_url, out_dir)
    seconds = time.perf_counter() - began
    run = CoreRun(out_dir, summary, first, until, cuts, seconds, workers)
    (out_dir / RUN).write_text(json.dumps({
        "events_file": str(events), "events": summary.events, "dead_letters": summary.dead_letters,
        "borrowers": summary.borrowers, "outputs": dict(sorted(summary.outputs.items())),
        "first_event": first.isoformat(), "until": until.isoformat(),
        "cutoffs": [c.isoformat() for c in cuts], "seconds": round(seconds, 3), "workers": workers,
        "events_per_second": round(run.events_per_second, 1),
    }, indent=2))
    return run


def _run_parallel(common: tuple[Any, ...], part_dirs: list[Path], workers: int,
                  bar: Any) -> list[tuple[ReplaySummary, list]]:
    from concurrent.futures import ProcessPoolExecutor, wait

    events, settings, until_iso, cutoffs_iso, received_at = common
    ctx = mp.get_context("spawn")  # no fork of a process with threads (tqdm, sqlite)
    counter = ctx.Value("q", 0)
    with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker, initargs=(counter,)) as pool:
        futures = [pool.submit(_replay_part, (events, str(d), settings, k, workers, until_iso, cutoffs_iso,
                                              received_at)) for k, d in enumerate(part_dirs)]
        pending = set(futures)
        while pending:
            _, pending = wait(pending, timeout=0.5)
            bar.n = counter.value
            bar.refresh()
        return [f.result() for f in futures]


def _merge_parts(part_dirs: list[Path], out_dir: Path) -> None:
    for name in (*FILES.values(), DEAD_LETTERS):
        with (out_dir / name).open("wb") as out:
            for d in part_dirs:
                with (d / name).open("rb") as f:
                    shutil.copyfileobj(f, out)
    lines: list[bytes] = []
    for d in part_dirs:
        with (d / BORROWERS).open("rb") as f:
            lines.extend(f)
    decoder = msgspec.json.Decoder(_Head)
    lines.sort(key=lambda line: decoder.decode(line).borrower_id)
    with (out_dir / BORROWERS).open("wb") as out:
        out.writelines(lines)


# --------------------------------------------------------------------------- output files → records


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    with path.open("rb") as f:
        data = f.read()
    return [msgspec.json.decode(line) for line in data.splitlines() if line.strip()]


def _fields(kind: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(kind) if f.init)


def record_from_json(record: dict[str, Any]) -> Alert | CollectionTask | LimitChange:
    """Rebuild an output record from its JSON line (as the replay wrote it)."""
    kind = {"alert": Alert, "task": CollectionTask, "limit": LimitChange}[record["kind"]]
    values = {name: record.get(name) for name in _fields(kind)}
    if "reasons" in values:
        values["reasons"] = tuple(Reason(**r) for r in values["reasons"] or ())
    for money in ("amount_overdue", "old_limit", "new_limit"):
        if money in values and values[money] is not None:
            values[money] = Decimal(str(values[money]))
    return kind(**values)  # type: ignore[no-any-return]


def save_to_store(store_url: str, out_dir: Path) -> dict[str, dict[str, int]]:
    """Save the records of a replay directory to the SQL store (idempotent upserts); return its counts."""
    from alerts.store import Store

    store = Store(store_url)
    try:
        store.create_schema()
        for name in FILES.values():
            store.save(record_from_json(r) for r in read_jsonl(out_dir / name))
        store.save_dead_letters(read_jsonl(out_dir / DEAD_LETTERS))
        return store.counts()
    finally:
        store.close()


@dataclass
class RunData:
    """The outputs of one replay directory, in memory."""

    out_dir: Path
    alerts: list[dict[str, Any]]
    tasks: list[dict[str, Any]]
    limits: list[dict[str, Any]]
    snapshots: list[dict[str, Any]]
    borrowers: list[dict[str, Any]]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def first(self) -> dt.datetime:
        return dt.datetime.fromisoformat(self.meta["first_event"])

    @property
    def until(self) -> dt.datetime:
        return dt.datetime.fromisoformat(self.meta["until"])


def load_run(out_dir: Path) -> RunData:
    meta = json.loads((out_dir / RUN).read_text()) if (out_dir / RUN).exists() else {}
    return RunData(out_dir, read_jsonl(out_dir / FILES["alert"]), read_jsonl(out_dir / FILES["task"]),
                   read_jsonl(out_dir / FILES["limit"]), read_jsonl(out_dir / SNAPSHOTS),
                   read_jsonl(out_dir / BORROWERS), meta)


def read_labels(path: Path) -> list[dict[str, Any]]:
    return read_jsonl(path)


# --------------------------------------------------------------------------- scores


def auc(scores: Sequence[float], positives: Sequence[int | bool]) -> float:
    """Area under the ROC curve (Mann-Whitney U with average ranks for ties); NaN without both classes."""
    s = np.asarray(scores, dtype=float)
    y = np.asarray(positives, dtype=bool)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(s, kind="mergesort")
    sorted_s = s[order]
    ranks = np.empty(len(s), dtype=float)
    # average rank of each run of equal scores
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_s)) + 1]
    ends = np.r_[starts[1:], len(s)]
    avg = (starts + ends + 1) / 2.0  # ranks are 1-based: mean of start+1 .. end
    ranks[order] = np.repeat(avg, ends - starts)
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def roc_curve(scores: Sequence[float], positives: Sequence[int | bool],
              max_points: int = 400) -> tuple[list[float], list[float]]:
    """(false positive rates, true positive rates), one point per distinct score, thinned to ``max_points``."""
    s = np.asarray(scores, dtype=float)
    y = np.asarray(positives, dtype=bool)
    if not y.any() or y.all():
        return [0.0, 1.0], [0.0, 1.0]
    order = np.argsort(-s, kind="mergesort")
    s, y = s[order], y[order]
    last_of_run = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]
    tp = np.cumsum(y)[last_of_run]
    fp = np.cumsum(~y)[last_of_run]
    tpr = np.r_[0.0, tp / y.sum()]
    fpr = np.r_[0.0, fp / (~y).sum()]
    if len(tpr) > max_points:
        keep = np.unique(np.r_[np.linspace(0, len(tpr) - 1, max_points).astype(int), len(tpr) - 1])
        tpr, fpr = tpr[keep], fpr[keep]
    return [round(float(v), 5) for v in fpr], [round(float(v), 5) for v in tpr]


def nab_sigmoid(y: float) -> float:
    """NAB's scaled sigmoid: 2 / (1 + e^(5y)) - 1 (y = -1 at a window's start, 0 at its end)."""
    return 2.0 / (1.0 + math.exp(5.0 * y)) - 1.0


def _t(text: str) -> float:
    return dt.datetime.fromisoformat(text).timestamp()


def default_moments(labels: Iterable[dict[str, Any]], tz: Any) -> dict[str, float | None]:
    """borrower_id → epoch second of its default (00:00 local of default_date), None if it did not."""
    out: dict[str, float | None] = {}
    for label in labels:
        d = label.get("default_date") if label.get("defaulted", label.get("default_date") is not None) else None
        if d:
            day = dt.date.fromisoformat(d)
            out[label["borrower_id"]] = dt.datetime(day.year, day.month, day.day, tzinfo=tz).timestamp()
        else:
            out[label["borrower_id"]] = None
    return out


def warnings_of(alerts: Iterable[dict[str, Any]], severities: Sequence[str]) -> list[dict[str, Any]]:
    """One warning per alert id: the first record with a warning severity, timed when it got it."""
    seen: set[str] = set()
    first_record: set[str] = set()
    out: list[dict[str, Any]] = []
    for a in alerts:
        aid = a["alert_id"]
        is_first = aid not in first_record
        first_record.add(aid)
        if aid in seen or a.get("severity") not in severities or a.get("status") == "resolved":
            continue
        seen.add(aid)
        at = a["opened_at"] if is_first else a["updated_at"]
        out.append({"alert_id": aid, "borrower_id": a["borrower_id"], "type": a.get("type", ""),
                    "severity": a["severity"], "at": at, "t": _t(at), "risk_score": a.get("risk_score")})
    out.sort(key=lambda w: (w["t"], w["alert_id"]))
    return out


def _on_book(snapshot: dict[str, Any]) -> bool:
    try:
        return Decimal(str(snapshot.get("credit_limit", "0"))) > 0
    except ArithmeticError:
        return False


def _quantiles(values: Sequence[float]) -> dict[str, float | None]:
    if not values:
        return {"n": 0, "min": None, "p25": None, "median": None, "mean": None, "p75": None, "max": None}
    a = np.asarray(values, dtype=float)
    return {"n": int(len(a)), "min": round(float(a.min()), 1), "p25": round(float(np.percentile(a, 25)), 1),
            "median": round(float(np.median(a)), 1), "mean": round(float(a.mean()), 1),
            "p75": round(float(np.percentile(a, 75)), 1), "max": round(float(a.max()), 1)}


def _num(x: float | None, digits: int = 4) -> float | None:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return None
    return round(float(x), digits)


def score(run: RunData, labels: Sequence[dict[str, Any]], tz: Any,
          config: BacktestConfig = BacktestConfig()) -> dict[str, Any]:
    """All the backtest metrics of one replay directory against the labels (see :data:`DEFINITIONS`)."""
    first, until = run.first.timestamp(), run.until.timestamp()
    defaults = default_moments(labels, tz)
    present = {b["borrower_id"] for b in run.borrowers}
    horizon = config.horizon_days * DAY
    w_horizon = config.warning_horizon_days * DAY

    # --- AUC at monthly cutoffs
    scores: list[float] = []
    positives: list[int] = []
    current: tuple[list[float], list[int]] = ([], [])  # borrowers not past due at the cutoff, early horizon
    early = config.early_horizon_days * DAY
    by_cutoff: dict[str, tuple[list[float], list[int]]] = defaultdict(lambda: ([], []))
    borrower_months = 0
    class_counts: dict[str, Counter[str]] = defaultdict(Counter)
    for snap in run.snapshots:
        cutoff = snap["cutoff"]
        class_counts[cutoff][snap.get("risk_class", "unknown")] += 1
        if not _on_book(snap):
            continue
        borrower_months += 1
        c = _t(cutoff)
        d = defaults.get(snap["borrower_id"])
        if d is not None and d <= c:
            continue  # already defaulted
        s = float(snap.get("risk_score", 0.0))
        if not snap.get("dpd") and c + early <= until:
            current[0].append(s)
            current[1].append(int(d is not None and d <= c + early))
        if c + horizon > until:
            continue  # outcome not observable within the data
        positive = int(d is not None and d <= c + horizon)
        scores.append(s)
        positives.append(positive)
        by_cutoff[cutoff][0].append(s)
        by_cutoff[cutoff][1].append(positive)
    auc_90d = auc(scores, positives)
    fpr, tpr = roc_curve(scores, positives)

    # --- warnings
    warnings = warnings_of(run.alerts, config.severities)
    counts: Counter[str] = Counter()
    censored_false = 0
    for w in warnings:
        d = defaults.get(w["borrower_id"])
        if d is not None and d < w["t"]:
            w["outcome"] = "after_default"
        elif d is not None and d <= w["t"] + w_horizon:
            w["outcome"] = "true"
            w["lead_days"] = round((d - w["t"]) / DAY, 2)
        else:
            w["outcome"] = "false"
            w["borrower_defaults"] = d is not None
            if d is None and w["t"] + w_horizon > until:
                censored_false += 1
        counts[w["outcome"]] += 1
    n_true, n_false = counts["true"], counts["false"]

    defaulters = sorted(b for b, d in defaults.items() if d is not None and (not present or b in present))
    first_true: dict[str, dict[str, Any]] = {}
    for w in warnings:
        if w["outcome"] == "true" and w["borrower_id"] not in first_true:
            first_true[w["borrower_id"]] = w
    leads = [first_true[b]["lead_days"] for b in defaulters if b in first_true]
    detected = sum(1 for b in defaulters if b in first_true)

    # --- NAB-style score
    window = config.nab_window_days * DAY
    raw = 0.0
    by_borrower: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for w in warnings:
        by_borrower[w["borrower_id"]].append(w)
    for b in defaulters:
        d = defaults[b]
        assert d is not None
        in_window = [w for w in by_borrower.get(b, ()) if d - window <= w["t"] <= d]
        if in_window:
            raw += config.nab_a_tp * nab_sigmoid((in_window[0]["t"] - d) / window)
        else:
            raw += config.nab_a_fn
    raw += config.nab_a_fp * n_false  # A_FP < 0: each false warning costs |A_FP|
    null = config.nab_a_fn * len(defaulters)
    perfect = config.nab_a_tp * nab_sigmoid(-1.0) * len(defaulters)
    nab = 100.0 * (raw - null) / (perfect - null) if perfect != null else float("nan")

    by_type: dict[str, Counter[str]] = defaultdict(Counter)
    for w in warnings:
        by_type[w["type"]][w["outcome"]] += 1
    for w in first_true.values():
        by_type[w["type"]]["first_true"] += 1
    warnings_by_type = {
        t: {"warnings": sum(c[o] for o in ("true", "false", "after_default")), "true": c["true"],
            "false": c["false"], "after_default": c["after_default"], "first_true": c["first_true"],
            "precision": _num(c["true"] / (c["true"] + c["false"]) if c["true"] + c["false"] else None)}
        for t, c in sorted(by_type.items())}
    days = max((until - first) / DAY, 1e-9)
    alerts_by = Counter(f"{a.get('type', '?')}:{a.get('severity', '?')}:{a.get('status', '?')}" for a in run.alerts)
    tasks_by = Counter(f"{t.get('action', '?')}:{t.get('status', '?')}" for t in run.tasks)
    metrics: dict[str, Any] = {
        "auc_90d": _num(auc_90d),
        "median_lead_days": _num(float(np.median(leads)) if leads else None, 1),
        "false_alerts_per_100_borrower_months": _num(100.0 * n_false / borrower_months if borrower_months
                                                     else None, 3),
        "auc_180d_current": _num(auc(*current)),
        "false_alerts_per_100_borrower_months_excl_censored": _num(
            100.0 * (n_false - censored_false) / borrower_months if borrower_months else None, 3),
        "precision": _num(n_true / (n_true + n_false) if n_true + n_false else None),
        "recall": _num(detected / len(defaulters) if defaulters else None),
        "warnings": len(warnings),
        "true_warnings": n_true,
        "false_warnings": n_false,
        "censored_false_warnings": censored_false,
        "after_default_warnings": counts["after_default"],
        "defaulters": len(defaulters),
        "defaulters_warned": detected,
        "lead_days": _quantiles(leads),
        "lead_days_by_defaulter": {b: first_true[b]["lead_days"] for b in defaulters if b in first_true},
        "missed_defaulters": [b for b in defaulters if b not in first_true],
        "borrower_months": borrower_months,
        "auc_pool": {"borrower_months": len(scores), "positives": int(sum(positives)),
                     "current_borrower_months": len(current[0]), "current_positives": int(sum(current[1]))},
        "auc_by_cutoff": {c: _num(auc(*by_cutoff[c])) for c in sorted(by_cutoff)},
        "warnings_per_day": _num(len(warnings) / days, 3),
        "warnings_per_reviewer_day": _num(len(warnings) / days / config.reviewer_capacity, 4),
        "nab_score": _num(nab, 2),
        "nab_raw": _num(raw, 3),
        "warnings_by_type": warnings_by_type,
        "alerts_by_type_severity_status": dict(sorted(alerts_by.items())),
        "tasks_by_action_status": dict(sorted(tasks_by.items())),
        "period": {"first_event": run.meta.get("first_event"), "until": run.meta.get("until"),
                   "days": round(days, 1), "cutoffs": len(class_counts)},
        "config": dataclasses.asdict(config),
        "definitions": DEFINITIONS,
        "roc": {"fpr": fpr, "tpr": tpr},
        "replay": {k: run.meta.get(k) for k in ("events", "borrowers", "seconds", "events_per_second", "workers")},
    }
    metrics["_warnings"] = warnings  # for the report; not written to metrics.json
    metrics["_first_true"] = first_true
    metrics["_class_counts"] = {c: dict(v) for c, v in sorted(class_counts.items())}
    return metrics


def write_metrics(metrics: dict[str, Any], path: Path) -> None:
    public = {k: v for k, v in metrics.items() if not k.startswith("_")}
    path.write_text(json.dumps(public, indent=2, ensure_ascii=False))


# --------------------------------------------------------------------------- terminal


def print_summary(metrics: dict[str, Any], report: Path | None = None, console: Any = None) -> None:
    """A rich table of the headline figures (and where the report is)."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    cfg = metrics["config"]

    def fmt(v: Any, spec: str = "") -> str:
        return "n/a" if v is None else format(v, spec)

    table = Table(title="backtest 回测", show_header=True)
    table.add_column("metric 指标")
    table.add_column("value", justify="right")
    table.add_column("meaning", style="dim")
    lead = metrics["lead_days"]
    table.add_row("auc_90d", fmt(metrics["auc_90d"], ".3f"),
                  f"risk_score at monthly cutoffs vs default within {cfg['horizon_days']} d "
                  f"({metrics['auc_pool']['borrower_months']:,} borrower-months, "
                  f"{metrics['auc_pool']['positives']} positive)")
    table.add_row(f"auc_{cfg['early_horizon_days']}d, current borrowers", fmt(metrics["auc_180d_current"], ".3f"),
                  f"early warning: borrower-months not past due at the cutoff "
                  f"({metrics['auc_pool']['current_borrower_months']:,}, "
                  f"{metrics['auc_pool']['current_positives']} positive)")
    table.add_row("median_lead_days", fmt(metrics["median_lead_days"]),
                  f"first true warning → 90 DPD (p25 {fmt(lead['p25'])}, p75 {fmt(lead['p75'])}, n {lead['n']})")
    table.add_row("false alerts / 100 borrower-months", fmt(metrics["false_alerts_per_100_borrower_months"], ".3f"),
                  f"{metrics['false_warnings']} false of {metrics['warnings']} warnings over "
                  f"{metrics['borrower_months']:,} borrower-months ({metrics['censored_false_warnings']} of them "
                  f"censored; without those {fmt(metrics['false_alerts_per_100_borrower_months_excl_censored'], '.3f')})")
    table.add_row("precision", fmt(metrics["precision"], ".3f"),
                  f"default within {cfg['warning_horizon_days']} d of the warning")
    table.add_row("recall", fmt(metrics["recall"], ".3f"),
                  f"{metrics['defaulters_warned']} of {metrics['defaulters']} defaulters warned in time")
    table.add_row("warnings / reviewer-day", fmt(metrics["warnings_per_reviewer_day"], ".3f"),
                  f"{fmt(metrics['warnings_per_day'], '.2f')} warnings a day, "
                  f"capacity {cfg['reviewer_capacity']:g} per reviewer")
    table.add_row("NAB score", fmt(metrics["nab_score"], ".1f"), "0 = no warnings, 100 = perfect")
    console.print(table)
    by_type = metrics.get("warnings_by_type", {})
    if by_type:
        kinds = Table(title="warnings by alert type 按预警类型", show_header=True)
        for col in ("type", "warnings", "true", "false", "after default", "first warning of a defaulter",
                    "precision"):
            kinds.add_column(col, justify="left" if col == "type" else "right")
        for name, c in by_type.items():
            kinds.add_row(name, str(c["warnings"]), str(c["true"]), str(c["false"]), str(c["after_default"]),
                          str(c["first_true"]), fmt(c["precision"], ".3f"))
        console.print(kinds)
    if report is not None:
        console.print(f"report 报告: [bold]{report}[/bold]")


__all__ = ["BacktestConfig", "CoreRun", "DEFINITIONS", "RunData", "auc", "event_span", "load_run",
           "monthly_cutoffs", "nab_sigmoid", "partition_of", "print_summary", "read_labels", "roc_curve",
           "run_core", "save_to_store", "score", "write_metrics"]
