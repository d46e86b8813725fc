"""Real merchant revenue (Olist, ``../shared/data/olist``) through the whole pipeline agrees with the detectors.

``bench/olist_replay.py`` turns the sellers' sale days into ``revenue/1`` events
and replays them as ``loanwatch replay`` would; ``bench/olist_dormancy.py``
feeds the same days to the detectors directly. The figures the README quotes
come from these two scripts: here they must agree (the alerts opened are the
detectors' warnings) and stay in range.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "olist"


def _load(name: str):
    sys.path.insert(0, str(BENCH))
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(not DATA.exists(), reason=f"no Olist data at {DATA}")
def test_olist_replayed_through_the_pipeline_warns_as_the_detectors_do(tmp_path):
    replayed, direct = _load("olist_replay"), _load("olist_dormancy")
    n, summary, _seconds, m, _days = replayed.run(DATA, tmp_path, holidays=False)
    assert summary.events == n > 30_000 and summary.dead_letters == 0 and summary.borrowers == 1_535
    sellers = direct.load(DATA)
    d = direct.measure(sellers, direct.revenue.RevenuePolicy(), direct.dormancy.DormancyPolicy(holidays=False),
                       True, direct.JUDGE_DAYS)
    assert m["dormant"] == d["dormant"] == 596
    # the alerts opened are the detectors' warnings, judged the same ...
    assert abs(m["dormancy_judged"] - d["dormancy_judged"]) <= 5 and abs(m["false"] - d["false"]) <= 5, (m, d)
    # ... and the lifecycle keeps them open a little longer (resolved after clear days), never shorter
    assert d["warned"] - 5 <= m["warned"], (m, d)
    assert m["fresh"] <= m["warned"]
    assert 0.6 <= m["warned"] / m["dormant"] <= 1.0 and m["false"] / m["months"] <= 0.11
