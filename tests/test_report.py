"""The HTML report: self-contained, every plot present, and it renders in headless Chromium.

The browser test needs Debian's ``chromium`` at /usr/bin/chromium (``make test``
installs it: ``apt-get install -y chromium``). It installs nothing itself and
fails, saying what to install, when the browser is missing.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
import subprocess
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from streams.backtest import load_run, read_labels, run_core, score, write_metrics
from streams.report import PLOT_IDS, daily_revenue, trailing_baseline, write_report
from streams.settings import load
from streams.simulate import simulate, write

TZ = ZoneInfo("Asia/Shanghai")
CHROMIUM = Path("/usr/bin/chromium")
INSTALL = "apt-get install -y chromium"
IMG = re.compile(r'<img id="(?P<id>[^"]+)" alt="(?P<alt>[^"]*)" src="data:image/png;base64,(?P<b64>[^"]*)">')


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report")
    events, labels = simulate(150, months=9, seed=5, progress=False)
    events_path, labels_path = write(out, events, labels, progress=False)
    settings = load(env={})
    run_core(settings, events_path, out / "replay", workers=1, progress=False)
    labels = read_labels(labels_path)
    data = load_run(out / "replay")
    metrics = score(data, labels, TZ)
    write_metrics(metrics, out / "metrics.json")
    return write_report(out / "report.html", data, metrics, labels, events_path, TZ, title="test portfolio")


def images(page: str) -> dict[str, tuple[str, str]]:
    return {m["id"]: (m["alt"], m["b64"]) for m in IMG.finditer(page)}


def test_the_report_has_every_plot_with_an_alt_text_and_a_png(report: Path) -> None:
    found = images(report.read_text(encoding="utf-8"))
    drilldowns = [i for i in found if i.startswith("plot-drilldown-")]
    assert set(PLOT_IDS) <= set(found)
    assert drilldowns, "no borrower drill-down"
    for plot_id, (alt, b64) in found.items():
        assert alt.strip(), plot_id
        png = base64.b64decode(b64, validate=True)
        assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5_000, plot_id


def test_the_report_is_self_contained(report: Path) -> None:
    page = report.read_text(encoding="utf-8")
    assert "http://" not in page and "https://" not in page
    assert not re.search(r'src="(?!data:)', page)


def test_the_report_states_its_definitions_and_headline_figures(report: Path) -> None:
    page = report.read_text(encoding="utf-8")
    for key in ("auc_90d", "median_lead_days", "false_alerts_per_100_borrower_months", "nab_score"):
        assert f"id='metric-{key}'" in page
    for word in ("true_warning", "false_warning", "lead_days", "sigma(y)", "预警时间线", "Alert timeline"):
        assert word in page


def test_the_baseline_is_the_mean_of_the_days_before() -> None:
    daily = np.array([10.0] * 10 + [0.0] * 5)
    base = trailing_baseline(daily, window=7, min_days=3)
    assert np.isnan(base[:3]).all()
    assert base[9] == pytest.approx(10.0) and base[10] == pytest.approx(10.0)
    assert base[12] == pytest.approx(50 / 7)


def test_weekly_revenue_is_spread_over_its_seven_days() -> None:
    events = [{"schema": "revenue/1", "occurred_at": "2025-01-07T23:59:59+08:00", "amount": "700.00",
               "period": "week"},
              {"schema": "revenue/1", "occurred_at": "2025-01-08T23:59:59+08:00", "amount": "5.00"}]
    daily = daily_revenue(events, dt.date(2025, 1, 1), dt.date(2025, 1, 10), TZ)
    assert daily.tolist() == [100.0] * 7 + [5.0, 0.0, 0.0]


def _chromium() -> Path:
    if not CHROMIUM.exists():
        pytest.fail(f"headless Chromium is missing at {CHROMIUM}: install it with `{INSTALL}` "
                    "(make test does); this test installs nothing itself", pytrace=False)
    return CHROMIUM


def _flags(user_data: Path) -> list[str]:
    return ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--user-data-dir={user_data}"]


def test_the_report_renders_in_headless_chromium_with_its_plots(report: Path, tmp_path: Path) -> None:
    browser = _chromium()
    shot = tmp_path / "report.png"
    done = subprocess.run([str(browser), *_flags(tmp_path / "profile"), f"--screenshot={shot}",
                           "--window-size=1400,4000", report.resolve().as_uri()],
                          capture_output=True, timeout=180, check=False)
    assert done.returncode == 0 and shot.exists(), done.stderr.decode(errors="replace")[-2000:]
    assert shot.stat().st_size > 100_000  # a blank page is a few kB
    from matplotlib.image import imread

    pixels = imread(str(shot))[..., :3]
    assert pixels.shape[:2] == (4000, 1400)
    non_white = (pixels < 0.95).any(axis=2).mean()
    assert non_white > 0.05, f"only {non_white:.1%} of the screenshot is not white"


def test_every_plot_decodes_in_the_browser(report: Path, tmp_path: Path) -> None:
    """Chromium loads a copy of the report and lists each image's natural width (0: broken)."""
    browser = _chromium()
    probe = tmp_path / "probe.html"
    script = ("<script>window.addEventListener('load',()=>{document.body.setAttribute('data-images',"
              "[...document.images].map(i=>i.id+'='+i.naturalWidth).join(' '));});</script>")
    probe.write_text(report.read_text(encoding="utf-8").replace("</body>", script + "</body>"), encoding="utf-8")
    done = subprocess.run([str(browser), *_flags(tmp_path / "profile"), "--virtual-time-budget=10000",
                           "--dump-dom", probe.resolve().as_uri()], capture_output=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]
    found = re.search(r'data-images="([^"]*)"', done.stdout.decode())
    assert found, "the page did not finish loading"
    widths = dict(item.split("=") for item in found.group(1).split())
    assert set(PLOT_IDS) <= set(widths) and any(k.startswith("plot-drilldown-") for k in widths)
    assert all(int(w) > 300 for w in widths.values()), widths

