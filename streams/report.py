"""The backtest report: one self-contained HTML file with the plots embedded as PNG (base64).

Sections (each plot an ``<img>`` with a stable ``id``):

* ``plot-portfolio``: borrowers by risk class at each monthly cutoff, and by sector;
* ``plot-alert-timeline``: warnings opened per week by alert type, collection tasks and defaults;
* ``plot-lead-time``: days from the first true warning to default (90 DPD);
* ``plot-roc``: ROC curve of the risk score at monthly cutoffs (90-day default);
* ``plot-drilldown-<borrower_id>``: one borrower's revenue, a trailing 28-day baseline
  computed here from its events, its alerts and collection tasks, and (from the
  simulator's labels, shown as ground truth) its onset and default.

Plots use matplotlib's object API (no pyplot, no global state). Plot texts are in
English (the CJK fonts may be missing); headings are in Chinese and English.

>>> daily = np.array([0, 10, 10, 10, 10, 10, 10, 10, 40.0])
>>> [round(float(x), 1) for x in trailing_baseline(daily, window=7, min_days=3)[-2:]]
[8.6, 10.0]
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
from matplotlib.figure import Figure

from alerts.classification import CLASSES
from streams.backtest import DAY, RunData

CLASS_COLOURS = {"normal": "#4caf50", "special_mention": "#ffc107", "substandard": "#ff7043",
                 "doubtful": "#d32f2f", "loss": "#4a148c"}
SEVERITY_COLOURS = {"critical": "#c62828", "warning": "#ef6c00", "info": "#1565c0"}
PLOT_IDS = ("plot-portfolio", "plot-alert-timeline", "plot-lead-time", "plot-roc")


# --------------------------------------------------------------------------- events


class _Head(msgspec.Struct):
    schema: str = ""
    borrower_id: str = ""


_head = msgspec.json.Decoder(_Head)


def scan_events(events: Path | None, wanted: Iterable[str]) -> tuple[dict[str, str], dict[str, list[dict]]]:
    """Sector of every borrower (from ``loan_opened``) and every event of the ``wanted`` borrowers."""
    sectors: dict[str, str] = {}
    series: dict[str, list[dict[str, Any]]] = {b: [] for b in wanted}
    if events is None or not events.exists():
        return sectors, series
    with events.open("rb") as f:
        for line in f:
            try:
                head = _head.decode(line)
            except (msgspec.DecodeError, msgspec.ValidationError):
                continue
            if head.borrower_id in series:
                try:
                    series[head.borrower_id].append(msgspec.json.decode(line))
                except msgspec.DecodeError:
                    continue
            if head.schema == "loan_opened/1" and head.borrower_id not in sectors:
                try:
                    sector = msgspec.json.decode(line).get("sector")
                except msgspec.DecodeError:
                    continue
                if sector:
                    sectors[head.borrower_id] = sector
    return sectors, series


def daily_revenue(events: Sequence[dict[str, Any]], first: dt.date, last: dt.date, tz: Any) -> np.ndarray:
    """Revenue per local day from ``revenue/1`` events; weekly and monthly amounts spread over their days."""
    n = (last - first).days + 1
    out = np.zeros(n)
    spread = {"day": 1, "week": 7, "month": 30}
    for e in events:
        if e.get("schema") != "revenue/1":
            continue
        try:
            day = dt.datetime.fromisoformat(e["occurred_at"]).astimezone(tz).date()
            amount = float(e["amount"])
        except (KeyError, ValueError, TypeError):
            continue
        k = spread.get(e.get("period", "day"), 1)
        end = (day - first).days
        start = max(end - k + 1, 0)
        if end < 0 or start >= n:
            continue
        out[start:min(end, n - 1) + 1] += amount / k
    return out


def trailing_baseline(daily: np.ndarray, window: int = 28, min_days: int = 7) -> np.ndarray:
    """Mean of the previous ``window`` days (today excluded); NaN until ``min_days`` are known."""
    c = np.r_[0.0, np.cumsum(daily)]
    idx = np.arange(len(daily))
    lo = np.maximum(idx - window, 0)
    count = idx - lo
    with np.errstate(invalid="ignore", divide="ignore"):
        base = (c[idx] - c[lo]) / count
    base[count < min_days] = np.nan
    return base


# --------------------------------------------------------------------------- plots


def _png(fig: Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _local(text: str, tz: Any) -> dt.datetime:
    return dt.datetime.fromisoformat(text).astimezone(tz).replace(tzinfo=None)


def plot_portfolio(run: RunData, sectors: dict[str, str], tz: Any) -> str:
    by_cutoff: dict[str, Counter[str]] = defaultdict(Counter)
    sector_book: dict[str, Counter[str]] = defaultdict(Counter)
    sector_bad: dict[str, Counter[str]] = defaultdict(Counter)
    for s in run.snapshots:
        c = s["cutoff"]
        by_cutoff[c][s.get("risk_class", "normal")] += 1
        sector = sectors.get(s["borrower_id"], "unknown")
        sector_book[sector][c] += 1
        if s.get("risk_class", "normal") != "normal":
            sector_bad[sector][c] += 1
    cutoffs = sorted(by_cutoff)
    x = [_local(c, tz) for c in cutoffs]
    fig = Figure(figsize=(13, 4.2))
    ax1, ax2 = fig.subplots(1, 2)
    bottom = np.zeros(len(cutoffs))
    classes = [k for k in CLASSES if any(by_cutoff[c][k] for c in cutoffs)]
    classes += sorted({k for c in cutoffs for k in by_cutoff[c]} - set(CLASSES))
    for k in classes:
        values = np.array([by_cutoff[c][k] for c in cutoffs], dtype=float)
        ax1.bar(x, values, width=20, bottom=bottom, label=k, color=CLASS_COLOURS.get(k, "#9e9e9e"))
        bottom += values
    ax1.set_title("Borrowers by risk class at each monthly cutoff")
    ax1.set_ylabel("borrowers")
    ax1.legend(fontsize=8, loc="lower left")
    for sector in sorted(sector_book):
        book = np.array([sector_book[sector][c] for c in cutoffs], dtype=float)
        bad = np.array([sector_bad[sector][c] for c in cutoffs], dtype=float)
        with np.errstate(invalid="ignore", divide="ignore"):
            ax2.plot(x, 100 * bad / book, marker="o", ms=3, label=f"{sector} ({int(book.max()) if len(book) else 0})")
    ax2.set_title("Share of borrowers not 'normal', by sector (n at peak)")
    ax2.set_ylabel("% of borrowers")
    ax2.legend(fontsize=8)
    for ax in (ax1, ax2):
        ax.tick_params(axis="x", labelrotation=30, labelsize=8)
        ax.grid(alpha=0.3)
    return _png(fig)


def _week(t: dt.datetime) -> dt.date:
    d = t.date()
    return d - dt.timedelta(days=d.weekday())


def plot_alert_timeline(run: RunData, warnings: Sequence[dict], labels: Sequence[dict], tz: Any) -> str:
    fig = Figure(figsize=(13, 4.2))
    ax = fig.subplots()
    by_type: dict[str, Counter[dt.date]] = defaultdict(Counter)
    for w in warnings:
        by_type[f"{w['type']} ({w['severity']})"][_week(_local(w["at"], tz))] += 1
    tasks: Counter[dt.date] = Counter()
    seen: set[str] = set()
    for t in run.tasks:
        if t["task_id"] not in seen:
            seen.add(t["task_id"])
            tasks[_week(_local(t["created_at"], tz))] += 1
    defaults: Counter[dt.date] = Counter()
    for label in labels:
        if label.get("default_date"):
            d = dt.date.fromisoformat(label["default_date"])
            defaults[d - dt.timedelta(days=d.weekday())] += 1
    first, until = _local(run.meta["first_event"], tz), _local(run.meta["until"], tz)
    weeks = []
    w0 = _week(first)
    while w0 <= until.date():
        weeks.append(w0)
        w0 += dt.timedelta(days=7)
    bottom = np.zeros(len(weeks))
    for name in sorted(by_type):
        values = np.array([by_type[name][w] for w in weeks], dtype=float)
        ax.bar(weeks, values, width=6, bottom=bottom, label=f"warnings: {name}")
        bottom += values
    ax.plot(weeks, [defaults[w] for w in weeks], color="black", lw=1.2, label="defaults (90 DPD, labels)")
    ax.set_ylabel("warnings / defaults per week")
    ax2 = ax.twinx()
    ax2.plot(weeks, [tasks[w] for w in weeks], color="#607d8b", lw=1, ls="--", label="collection tasks opened")
    ax2.set_ylabel("collection tasks per week")
    lines = ax.get_legend_handles_labels()
    lines2 = ax2.get_legend_handles_labels()
    ax.legend(lines[0] + lines2[0], lines[1] + lines2[1], fontsize=8, loc="upper left")
    ax.set_title("Alert timeline: warnings opened per week by type, defaults and collection tasks")
    ax.grid(alpha=0.3)
    return _png(fig)


def plot_lead_time(leads: Sequence[float], median: float | None) -> str:
    fig = Figure(figsize=(6.4, 4.2))
    ax = fig.subplots()
    if leads:
        top = max(max(leads), 30.0)
        bins = np.arange(0, top + 15, 15)
        ax.hist(leads, bins=bins, color="#1976d2", edgecolor="white")
        if median is not None:
            ax.axvline(median, color="#c62828", ls="--", label=f"median {median:.0f} days")
        ax.axvline(60, color="#9e9e9e", ls=":", label="aim: 60 days")
        ax.legend(fontsize=8)
    else:
        ax.text(0.5, 0.5, "no defaulter was warned in time", ha="center", va="center", transform=ax.transAxes)
    ax.set_title(f"Lead time: first true warning → 90 DPD (n={len(leads)})")
    ax.set_xlabel("days before default")
    ax.set_ylabel("defaulters")
    ax.grid(alpha=0.3)
    return _png(fig)


def plot_roc(fpr: Sequence[float], tpr: Sequence[float], auc_value: float | None, horizon: int) -> str:
    fig = Figure(figsize=(5.2, 4.8))
    ax = fig.subplots()
    label = f"risk_score, AUC {auc_value:.3f}" if auc_value is not None else "risk_score (AUC n/a)"
    ax.plot(fpr, tpr, color="#1976d2", lw=2, label=label)
    ax.plot([0, 1], [0, 1], color="#9e9e9e", ls="--", label="chance")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title(f"ROC at monthly cutoffs: default within {horizon} days")
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3)
    return _png(fig)


def plot_drilldown(borrower_id: str, events: Sequence[dict], alerts: Sequence[dict], tasks: Sequence[dict],
                   label: dict[str, Any] | None, first: dt.datetime, until: dt.datetime, tz: Any,
                   why: str) -> str:
    d0, d1 = first.astimezone(tz).date(), until.astimezone(tz).date()
    daily = daily_revenue(events, d0, d1, tz)
    base = trailing_baseline(daily)
    days = [d0 + dt.timedelta(days=k) for k in range(len(daily))]
    fig = Figure(figsize=(13, 4.4))
    ax = fig.subplots()
    ax.bar(days, daily, width=1.0, color="#90caf9", label="revenue per day")
    ax.plot(days, base, color="#0d47a1", lw=1.5, label="trailing 28-day baseline")
    top = float(np.nanmax(daily)) if len(daily) and np.nanmax(daily) > 0 else 1.0
    ax.set_ylim(0, top * 1.15)
    ax.set_ylabel("CNY")
    # alert episodes: shaded from open to resolve (or the end), a line where each opens
    episodes: dict[str, dict[str, Any]] = {}
    for a in alerts:
        e = episodes.setdefault(a["alert_id"], {"open": a["opened_at"], "end": None, "type": a.get("type", ""),
                                                "severity": a.get("severity", "")})
        if a.get("status") == "resolved":
            e["end"] = a["updated_at"]
        elif a.get("severity") in SEVERITY_COLOURS and SEVERITY_COLOURS.get(e["severity"]) is None:
            e["severity"] = a["severity"]
    labelled: set[str] = set()
    for e in episodes.values():
        start = _local(e["open"], tz)
        end = _local(e["end"], tz) if e["end"] else until.astimezone(tz).replace(tzinfo=None)
        colour = SEVERITY_COLOURS.get(e["severity"], "#757575")
        ax.axvspan(start, end, color=colour, alpha=0.08)
        name = f"alert: {e['type']} ({e['severity']})"
        ax.axvline(start, color=colour, lw=1.5, label=name if name not in labelled else None)
        labelled.add(name)
    ax2 = ax.twinx()
    seen: set[str] = set()
    xs, ys = [], []
    for t in tasks:
        if t["task_id"] in seen:
            continue
        seen.add(t["task_id"])
        xs.append(_local(t["created_at"], tz))
        ys.append(t.get("dpd", 0))
    if xs:
        ax2.scatter(xs, ys, marker="v", color="#37474f", s=22, label="collection task (DPD)", zorder=5)
    ax2.set_ylabel("days past due at task")
    ax2.set_ylim(bottom=0)
    if label:
        if label.get("onset_date"):
            ax.axvline(dt.date.fromisoformat(label["onset_date"]), color="#6a1b9a", ls=":", lw=1.5,
                       label="trouble onset (label)")
        if label.get("default_date"):
            ax.axvline(dt.date.fromisoformat(label["default_date"]), color="black", ls="--", lw=1.5,
                       label="default, 90 DPD (label)")
        if label.get("benign_date"):
            ax.axvline(dt.date.fromisoformat(label["benign_date"]), color="#2e7d32", ls=":", lw=1.5,
                       label="benign shock (label)")
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, fontsize=7, loc="upper left", ncol=2)
    story = f", story: {label.get('story')}" if label and label.get("story") else ""
    ax.set_title(f"{borrower_id}: {why}{story}")
    ax.grid(alpha=0.3)
    return _png(fig)


# --------------------------------------------------------------------------- notable borrowers


def notable_borrowers(metrics: dict[str, Any], k: int = 3) -> list[tuple[str, str, str]]:
    """(borrower_id, why in English, why in Chinese): earliest-warned defaulters, a false alarm, a miss."""
    out: list[tuple[str, str, str]] = []
    leads = metrics.get("lead_days_by_defaulter", {})
    for b, lead in sorted(leads.items(), key=lambda kv: (-kv[1], kv[0]))[:k]:
        out.append((b, f"defaulter warned {lead:.0f} days before 90 DPD", f"违约前 {lead:.0f} 天预警"))
    false_by: Counter[str] = Counter()
    censored: set[str] = set()
    defaults: set[str] = set()
    until = metrics.get("period", {}).get("until")
    horizon = metrics.get("config", {}).get("warning_horizon_days", 180) * DAY
    for w in metrics.get("_warnings", []):
        if w.get("outcome") == "false":
            false_by[w["borrower_id"]] += 1
            if w.get("borrower_defaults"):
                defaults.add(w["borrower_id"])
            if until and w["t"] + horizon > dt.datetime.fromisoformat(until).timestamp():
                censored.add(w["borrower_id"])
    if false_by:
        # a borrower that never defaults and whose warnings were followed long enough shows it best
        ranked = sorted(false_by, key=lambda b: (b in defaults, b in censored, -false_by[b], b))
        b = ranked[0]
        out.append((b, f"false alarm: {false_by[b]} warning(s), no default within the horizon",
                    f"误报：{false_by[b]} 次预警，期内未违约"))
    missed = metrics.get("missed_defaulters", [])
    if missed:
        out.append((missed[0], "defaulter missed: no warning in time", "漏报：违约前无预警"))
    return out


# --------------------------------------------------------------------------- HTML


STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI","Noto Sans CJK SC","PingFang SC","Microsoft YaHei",sans-serif;
margin:24px auto;max-width:1280px;color:#212121;background:#fff}
h1{font-size:26px;margin-bottom:4px} h2{font-size:20px;margin-top:32px;border-bottom:1px solid #e0e0e0}
.sub{color:#616161} .cards{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0}
.card{border:1px solid #e0e0e0;border-radius:8px;padding:10px 16px;min-width:170px}
.card .v{font-size:26px;font-weight:600} .card .k{font-size:12px;color:#616161}
.aim{font-size:11px;color:#9e9e9e} table{border-collapse:collapse;font-size:13px}
td,th{border:1px solid #e0e0e0;padding:4px 8px;text-align:left;vertical-align:top}
img{max-width:100%;border:1px solid #f0f0f0} dt{font-weight:600;margin-top:6px} dd{margin-left:16px;color:#424242}
.note{background:#fff8e1;border-left:4px solid #ffc107;padding:8px 12px}
"""


def _fmt(v: Any, spec: str = "") -> str:
    return "n/a" if v is None else format(v, spec)


def _img(plot_id: str, alt: str, b64: str) -> str:
    return (f'<img id="{html.escape(plot_id)}" alt="{html.escape(alt)}" '
            f'src="data:image/png;base64,{b64}">')


def render_html(metrics: dict[str, Any], images: list[tuple[str, str, str, str, str]],
                notable: list[tuple[str, str, str]], title: str, command: str = "") -> str:
    """The report page; ``images`` are (id, heading zh, heading en, alt, base64 PNG)."""
    cfg = metrics.get("config", {})
    cards = [
        ("auc_90d", _fmt(metrics.get("auc_90d"), ".3f"), "AUC, default within 90 d", "aim ≥ 0.85"),
        ("auc_180d_current", _fmt(metrics.get("auc_180d_current"), ".3f"),
         f"early-warning AUC: current borrowers, default within {cfg.get('early_horizon_days', 180)} d", ""),
        ("median_lead_days", _fmt(metrics.get("median_lead_days"), ".0f"), "median lead, days", "aim ≥ 60"),
        ("false_alerts_per_100_borrower_months", _fmt(metrics.get("false_alerts_per_100_borrower_months"), ".2f"),
         "false warnings / 100 borrower-months", "aim ≤ 1"),
        ("precision", _fmt(metrics.get("precision"), ".2f"), "precision of warnings", ""),
        ("recall", _fmt(metrics.get("recall"), ".2f"), "recall of defaulters", ""),
        ("warnings_per_reviewer_day", _fmt(metrics.get("warnings_per_reviewer_day"), ".3f"),
         f"reviewer load (capacity {cfg.get('reviewer_capacity', '?')}/day)", ""),
        ("nab_score", _fmt(metrics.get("nab_score"), ".1f"), "NAB-style score (0..100)", ""),
    ]
    parts = [f"<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
             f"<style>{STYLE}</style></head><body>",
             f"<h1>贷后风险回测报告 · {html.escape(title)}</h1>",
             f"<p class='sub'>Period 期间 {html.escape(str(metrics.get('period', {}).get('first_event')))} → "
             f"{html.escape(str(metrics.get('period', {}).get('until')))} · "
             f"{metrics.get('replay', {}).get('borrowers') or '?'} borrowers · "
             f"{_fmt(metrics.get('replay', {}).get('events'), ',')} events"
             + (f" · <code>{html.escape(command)}</code>" if command else "") + "</p>",
             "<h2>核心指标 Headline figures</h2><div class='cards'>"]
    for key, value, what, aim in cards:
        parts.append(f"<div class='card' id='metric-{key}'><div class='v'>{html.escape(value)}</div>"
                     f"<div class='k'>{html.escape(what)}</div><div class='aim'>{html.escape(aim)}</div></div>")
    parts.append("</div>")
    parts.append(
        f"<p>{metrics.get('warnings', 0)} warnings 预警: {metrics.get('true_warnings', 0)} true, "
        f"{metrics.get('false_warnings', 0)} false ({metrics.get('censored_false_warnings', 0)} of them with less "
        f"than {cfg.get('warning_horizon_days')} days of follow-up in the data), "
        f"{metrics.get('after_default_warnings', 0)} after default. "
        f"{metrics.get('defaulters_warned', 0)} of {metrics.get('defaulters', 0)} defaulters warned in time. "
        f"Lead days 提前天数: {html.escape(str(metrics.get('lead_days')))}.</p>")
    by_type = metrics.get("warnings_by_type", {})
    if by_type:
        parts.append("<table id='warnings-by-type'><tr><th>alert type 预警类型</th><th>warnings</th><th>true</th>"
                     "<th>false</th><th>after default</th><th>first warning of a defaulter</th>"
                     "<th>precision</th></tr>")
        parts.extend(f"<tr><td>{html.escape(k)}</td><td>{c['warnings']:,}</td><td>{c['true']:,}</td>"
                     f"<td>{c['false']:,}</td><td>{c['after_default']:,}</td><td>{c['first_true']:,}</td>"
                     f"<td>{_fmt(c['precision'], '.3f')}</td></tr>" for k, c in by_type.items())
        parts.append("</table><br>")
    types = metrics.get("alerts_by_type_severity_status", {})
    if types:
        parts.append("<table><tr><th>alert type:severity:status 预警类型</th><th>records</th></tr>")
        parts.extend(f"<tr><td>{html.escape(k)}</td><td>{v:,}</td></tr>" for k, v in types.items())
        parts.append("</table>")
    for plot_id, zh, en, alt, b64 in images:
        parts.append(f"<h2>{html.escape(zh)} {html.escape(en)}</h2>")
        parts.append(_img(plot_id, alt, b64))
    if notable:
        parts.append("<h2>重点借款人 Notable borrowers</h2><table><tr><th>borrower</th><th>why</th><th>原因</th></tr>")
        parts.extend(f"<tr><td><a href='#plot-drilldown-{html.escape(b)}'>{html.escape(b)}</a></td>"
                     f"<td>{html.escape(en)}</td><td>{html.escape(zh)}</td></tr>" for b, en, zh in notable)
        parts.append("</table>")
    parts.append("<h2>定义 Definitions</h2><dl>")
    for key, text in metrics.get("definitions", {}).items():
        parts.append(f"<dt>{html.escape(key)}</dt><dd>{html.escape(text)}</dd>")
    parts.append("</dl><p class='note'>Labels (onset, default, story) come from the simulator and are used only "
                 "to score and annotate; the core never sees them. 标签仅用于评估，不进入事件流。</p>")
    parts.append(f"<h2>配置 Configuration</h2><pre>{html.escape(str(cfg))}</pre></body></html>")
    return "\n".join(parts)


def write_report(path: Path, run: RunData, metrics: dict[str, Any], labels: Sequence[dict[str, Any]],
                 events: Path | None, tz: Any, *, title: str = "loanwatch backtest", command: str = "",
                 k_notable: int = 3) -> Path:
    """Draw every plot and write the self-contained HTML report to ``path``."""
    notable = notable_borrowers(metrics, k_notable)
    sectors, series = scan_events(events, [b for b, _, _ in notable])
    if not sectors:
        sectors = {label["borrower_id"]: label.get("sector", "unknown") for label in labels}
    warnings = metrics.get("_warnings", [])
    leads = list(metrics.get("lead_days_by_defaulter", {}).values())
    images = [
        ("plot-portfolio", "资产组合概览", "Portfolio overview",
         "Borrowers by risk class at each monthly cutoff and share not normal by sector",
         plot_portfolio(run, sectors, tz)),
        ("plot-alert-timeline", "预警时间线", "Alert timeline",
         "Warnings opened per week by alert type, defaults and collection tasks",
         plot_alert_timeline(run, warnings, labels, tz)),
        ("plot-lead-time", "提前期分布", "Lead-time histogram",
         "Histogram of days from first true warning to default", plot_lead_time(leads, metrics.get("median_lead_days"))),
        ("plot-roc", "ROC 曲线", "ROC curve", "ROC curve of the risk score at monthly cutoffs",
         plot_roc(metrics["roc"]["fpr"], metrics["roc"]["tpr"], metrics.get("auc_90d"),
                  metrics.get("config", {}).get("horizon_days", 90))),
    ]
    by_borrower_alerts: dict[str, list[dict]] = defaultdict(list)
    for a in run.alerts:
        by_borrower_alerts[a["borrower_id"]].append(a)
    by_borrower_tasks: dict[str, list[dict]] = defaultdict(list)
    for t in run.tasks:
        by_borrower_tasks[t["borrower_id"]].append(t)
    label_of = {label["borrower_id"]: label for label in labels}
    for b, why, why_zh in notable:
        images.append((f"plot-drilldown-{b}", f"借款人明细 {b}：{why_zh}", f"Borrower drill-down {b}: {why}",
                       f"Revenue, trailing baseline, alerts and collection tasks of borrower {b}",
                       plot_drilldown(b, series.get(b, []), by_borrower_alerts[b], by_borrower_tasks[b],
                                      label_of.get(b), run.first, run.until, tz, why)))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(metrics, images, notable, title, command), encoding="utf-8")
    return path


__all__ = ["PLOT_IDS", "daily_revenue", "notable_borrowers", "render_html", "scan_events", "trailing_baseline",
           "write_report"]
