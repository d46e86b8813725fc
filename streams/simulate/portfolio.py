"""Who the borrowers are: sector, region, size, revenue source and feed period.

Sizes are log-normal: ``size`` is the borrower's typical daily revenue in CNY
before seasonality and shocks, around a sector median (catering 4,000, web
shops 3,000, textile 12,000, manufacturing 20,000). The spread (``SIZE_SIGMA``)
is set so that the top tenth of borrowers hold about two thirds of the
portfolio's revenue, as the top tenth of Olist sellers do (see
``calibration.py``); the very smallest are cut off (a lender would not lend)
and the largest capped at 400,000 a day (a medium enterprise).

>>> import numpy as np
>>> b = draw_borrower(0, np.random.default_rng(1))
>>> b.borrower_id, b.sector in SECTORS, b.source in ("pos", "ecommerce", "invoice")
('B00000', True, True)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SECTORS = ("textile", "ecommerce", "catering", "manufacturing")
SECTOR_SHARES = (0.25, 0.25, 0.30, 0.20)

# Median typical daily revenue (CNY) per sector; spread within a sector.
SIZE_MEDIAN = {"textile": 12_000.0, "ecommerce": 3_000.0, "catering": 4_000.0, "manufacturing": 20_000.0}
SIZE_SIGMA = 1.55
SIZE_Z_RANGE = (-2.0, 3.5)  # a lender does not lend to the very smallest
SIZE_CAP = 400_000.0  # CNY a day, ~146 million a year: the top of a medium enterprise

# GB/T 2260 province codes, weighted towards the coastal SME provinces.
REGIONS = ("CN-33", "CN-44", "CN-32", "CN-35", "CN-37", "CN-31", "CN-11", "CN-51", "CN-41", "CN-42", "CN-43", "CN-34")
REGION_SHARES = (0.18, 0.18, 0.14, 0.08, 0.08, 0.06, 0.04, 0.06, 0.06, 0.05, 0.04, 0.03)

# Revenue source by sector (textile: mostly B2B invoices, some shops and web stores).
SOURCES = {
    "textile": (("invoice", 0.6), ("ecommerce", 0.25), ("pos", 0.15)),
    "ecommerce": (("ecommerce", 1.0),),
    "catering": (("pos", 1.0),),
    "manufacturing": (("invoice", 1.0),),
}

# Median ticket (CNY per sale / order / invoice) by (sector, source), and how it grows with size.
TICKET = {
    ("catering", "pos"): (55.0, 0.2),
    ("textile", "pos"): (260.0, 0.2),
    ("textile", "ecommerce"): (150.0, 0.2),
    ("ecommerce", "ecommerce"): (120.0, 0.2),
    ("textile", "invoice"): (45_000.0, 0.6),
    ("manufacturing", "invoice"): (85_000.0, 0.6),
}

# Share of borrowers whose revenue feed reports weekly instead of daily (not for POS feeds).
WEEKLY_SHARE = 0.08


@dataclass(frozen=True)
class Borrower:
    index: int
    borrower_id: str
    account_id: str
    sector: str
    region: str
    source: str
    period: str  # "day" or "week"
    size: float  # typical daily revenue, CNY
    ticket: float  # typical sale / order / invoice, CNY
    channel: str  # habitual repayment channel

    @property
    def profile(self) -> str:
        """Name of the weekday profile: catering, shop, web or b2b."""
        if self.source == "invoice":
            return "b2b"
        if self.source == "ecommerce":
            return "web"
        return "catering" if self.sector == "catering" else "shop"


def _choice(rng: np.random.Generator, options: tuple, shares: tuple[float, ...]):
    return options[int(rng.choice(len(options), p=np.asarray(shares) / sum(shares)))]


def draw_borrower(index: int, rng: np.random.Generator) -> Borrower:
    sector = _choice(rng, SECTORS, SECTOR_SHARES)
    region = _choice(rng, REGIONS, REGION_SHARES)
    names, shares = zip(*SOURCES[sector], strict=True)
    source = _choice(rng, names, shares)
    z = float(np.clip(rng.standard_normal(), *SIZE_Z_RANGE))
    median = SIZE_MEDIAN[sector]
    size = min(median * float(np.exp(SIZE_SIGMA * z)), SIZE_CAP)
    ticket_median, elasticity = TICKET[(sector, source)]
    ticket = ticket_median * (size / median) ** elasticity * float(np.exp(0.15 * rng.standard_normal()))
    period = "week" if source != "pos" and rng.random() < WEEKLY_SHARE else "day"
    channel = "app" if rng.random() < 0.6 else "bank"
    borrower_id = f"B{index:05d}"
    return Borrower(
        index=index, borrower_id=borrower_id, account_id=f"A{index:05d}", sector=sector, region=region,
        source=source, period=period, size=round(size, 2), ticket=round(ticket, 2), channel=channel,
    )
