"""Statistics that compare simulated revenue with real merchants (Olist).

Every statistic works on a *series*: for each entity (seller or borrower) a
dict ``{date: revenue}`` holding only the days with a sale. The active span
runs from the first to the last sale; days inside it without a row are days
without sales.

* :func:`zero_share` – share of days in the active span without a sale;
* :func:`cv_all_days` – coefficient of variation of daily revenue over the
  active span, zero days included (mostly a measure of intermittency);
* :func:`cv_sale_days` – the same over sale days only (lumpiness of amounts);
* :func:`weekday_profile` – mean revenue by weekday, each entity normalised
  to mean 1 first (so big sellers do not dominate), Monday first;
* :func:`top_share` – share of total revenue held by the top 10 % of entities;
* :func:`mean_quantiles` – quantiles of per-entity mean daily revenue.

>>> from datetime import date
>>> s = {"a": {date(2024, 1, 1): 10.0, date(2024, 1, 3): 30.0}}
>>> float(zero_share(s)[0]), round(float(cv_all_days(s)[0]), 3)
(0.333, 0.935)
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np

Series = Mapping[str, Mapping[date, float]]

OLIST_DIR = Path(__file__).resolve().parents[3] / "shared" / "data" / "olist"
MIN_ACTIVE_DAYS = 30  # Olist sellers with fewer sale days are one-off sellers, not going concerns


def load_olist(path: str | Path | None = None) -> dict[str, dict[date, float]]:
    """``seller_daily_revenue.csv`` as a series (revenue only, freight excluded)."""
    path = Path(path) if path is not None else OLIST_DIR / "seller_daily_revenue.csv"
    out: dict[str, dict[date, float]] = defaultdict(dict)
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            out[row["seller_id"]][date.fromisoformat(row["date"])] = float(row["revenue"])
    return dict(out)


def revenue_series(events: Iterable[Mapping[str, Any]], source: str | None = None) -> dict[str, dict[date, float]]:
    """Daily revenue per borrower from ``revenue/1`` events with ``period`` day (of one ``source``, if given)."""
    out: dict[str, dict[date, float]] = defaultdict(dict)
    for e in events:
        if (e["schema"] == "revenue/1" and e.get("period", "day") == "day"
                and (source is None or e.get("source", "pos") == source)):
            day = date.fromisoformat(e["occurred_at"][:10])
            series = out[e["borrower_id"]]
            series[day] = series.get(day, 0.0) + float(e["amount"])
    return dict(out)


def active(series: Series, min_days: int = MIN_ACTIVE_DAYS) -> dict[str, Mapping[date, float]]:
    """Entities with at least ``min_days`` sale days."""
    return {k: v for k, v in series.items() if len(v) >= min_days}


def _dense(days: Mapping[date, float]) -> np.ndarray:
    first = min(days)
    x = np.zeros((max(days) - first).days + 1)
    for d, v in days.items():
        x[(d - first).days] = v
    return x


def zero_share(series: Series) -> np.ndarray:
    return np.array([round(float(np.mean(_dense(v) == 0)), 3) for v in series.values()])


def cv_all_days(series: Series) -> np.ndarray:
    out = []
    for v in series.values():
        x = _dense(v)
        out.append(float(x.std() / x.mean()) if x.mean() > 0 else 0.0)
    return np.array(out)


def cv_sale_days(series: Series) -> np.ndarray:
    out = []
    for v in series.values():
        x = np.array([a for a in v.values() if a > 0])
        out.append(float(x.std() / x.mean()) if len(x) > 1 else 0.0)
    return np.array(out)


def weekday_profile(series: Series) -> np.ndarray:
    """Mean revenue per weekday (Monday first), each entity normalised to a daily mean of 1."""
    total = np.zeros(7)
    for v in series.values():
        first, last = min(v), max(v)
        span = (last - first).days + 1
        mean = sum(v.values()) / span
        if mean <= 0:
            continue
        counts = np.bincount([(first + timedelta(days=i)).weekday() for i in range(span)], minlength=7)
        sums = np.zeros(7)
        for d, a in v.items():
            sums[d.weekday()] += a
        total += sums / np.maximum(counts, 1) / mean
    return total / total.mean()


def weekend_share(profile: np.ndarray) -> float:
    """Share of a week's revenue made on Saturday and Sunday."""
    return float((profile[5] + profile[6]) / profile.sum())


def top_share(series: Series, top: float = 0.1) -> float:
    totals = np.sort(np.array([sum(v.values()) for v in series.values()]))[::-1]
    k = max(1, int(round(len(totals) * top)))
    return float(totals[:k].sum() / totals.sum())


def mean_quantiles(series: Series, qs: tuple[float, ...] = (0.5, 0.9, 0.99)) -> np.ndarray:
    means = np.array([sum(v.values()) / ((max(v) - min(v)).days + 1) for v in series.values()])
    return np.quantile(means, qs)


def summary(series: Series) -> dict[str, Any]:
    """The calibration figures of one population (all entities for the tail, active ones otherwise)."""
    act = active(series)
    profile = weekday_profile(act)
    q50, q90, q99 = mean_quantiles(series)
    return {
        "entities": len(series),
        "active": len(act),
        "zero_share_median": float(np.median(zero_share(act))),
        "cv_all_days_median": float(np.median(cv_all_days(act))),
        "cv_sale_days_median": float(np.median(cv_sale_days(act))),
        "weekday_profile": [round(float(x), 3) for x in profile],
        "weekend_share": weekend_share(profile),
        "top10_share": top_share(series),
        "mean_q90_over_q50": float(q90 / q50),
        "mean_q99_over_q50": float(q99 / q50),
    }


def report(olist: Series, simulated: Series, invoice: Series | None = None) -> str:
    """A side-by-side table of the calibration figures (Olist, simulated, simulated B2B invoices)."""
    columns = [("olist", summary(olist)), ("simulated", summary(simulated))]
    if invoice:
        columns.append(("simulated invoice", summary(invoice)))
    lines = [f"{'statistic':<22}" + "".join(f"{name:>36}" for name, _ in columns)]
    for key in columns[0][1]:
        cells = []
        for _, figures in columns:
            value = figures[key]
            if isinstance(value, list):
                cells.append(" ".join(f"{x:.2f}" for x in value))
            elif isinstance(value, float):
                cells.append(f"{value:.3f}")
            else:
                cells.append(str(value))
        lines.append(f"{key:<22}" + "".join(f"{c:>36}" for c in cells))
    return "\n".join(lines)
