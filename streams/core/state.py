"""Per-borrower state: small, exact and serializable.

Times are epoch seconds (int) and dates day ordinals (int) to keep the
serialized state small; money is Decimal. The state is encoded with msgpack
(``encode``/``decode``) for the faust table and the replay.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

from alerts.lifecycle import LifecycleState
from detectors.cashflow import CashflowState
from detectors.default_model import LabelMemory
from detectors.dormancy import DormancyState
from detectors.limit import LimitState
from detectors.repayment import RepaymentState
from detectors.revenue import RevenueState
from streams.events import Event


class Installment(msgspec.Struct, array_like=True, omit_defaults=True):
    seq: int
    due: int  # date ordinal
    amount_due: Decimal
    paid: Decimal = Decimal(0)
    paid_on: int = 0  # date ordinal of the payment that settled it (0: not settled)
    late: bool = False  # went past its due date (plus grace) unpaid: counted once by detectors.repayment

    @property
    def outstanding(self) -> Decimal:
        return max(self.amount_due - self.paid, Decimal(0))


class OpenTask(msgspec.Struct, array_like=True):
    seq: int
    stage: str
    amount_overdue: Decimal
    opened_at: int
    # appended fields (older states decode with the defaults)
    hold_until: int = 0  # day ordinal: escalation held until then (a promise to pay, a dispute)
    keep_paid: Decimal = Decimal(0)  # the installment's paid amount that keeps the promise
    review: bool = False  # disputed: with the review queue
    switched: bool = False  # unreachable: the stage's alternative channel
    contact_at: int = 0  # epoch second from which the contact policy allows reaching out (0: not a contact)


class Held(msgspec.Struct, array_like=True):
    """An event waiting for the allowed lateness to pass, so events are applied in event-time order."""

    t: int  # its occurred_at, epoch seconds
    h: int  # hash of its event_id
    event: Event


class Contribution(msgspec.Struct, array_like=True):
    """Something for the partition's shared models to learn: an anomaly sample (``label`` -1) or a PD label."""

    day: int  # local day of the reconcile that made it
    moment: int  # its epoch second
    x: list[int]  # packed features (detectors.features.pack)
    label: int = -1


class Loan(msgspec.Struct, array_like=True, omit_defaults=True):
    loan_id: str
    product: str
    credit_limit: Decimal
    installments: list[Installment] = []
    drawn: Decimal = Decimal(0)
    closed: bool = False
    settled_seqs: int = 0  # installments settled in full and pruned from the list
    max_dpd: int = 0
    tasks: list[OpenTask] = []
    payment_ids: list[int] = []  # legacy (states written before repaid_ids): moved there on decode
    repaid_ids: bytes = b""  # keys of the applied repayments' event ids, ID_BYTES each (see id_key)


class BorrowerState(msgspec.Struct, array_like=True, omit_defaults=True):
    borrower_id: str
    partition: int = -1
    clock: int = 0  # latest event time seen (epoch seconds)
    advanced_to: int = 0  # timers at or before this moment have fired
    loans: list[Loan] = []
    recent_ids: list[int] = []  # legacy (states written before seen_ids): moved there on decode
    max_dpd: int = 0
    events_applied: int = 0
    # fields are appended at the end only (array-like encoding): states written before still decode
    next_at: int = 0  # the next timer (0: none); a cache of step.next_timer, kept by step and advance
    sector: str = ""  # from the first loan_opened/1: the revenue detector's seasonal calendar
    revenue: RevenueState | None = None  # revenue baseline and drop detector
    feed: DormancyState | None = None  # rhythm of the revenue feed (silence → dormancy)
    cash: CashflowState | None = None  # business-account cash flow
    alerts: LifecycleState = msgspec.field(default_factory=LifecycleState)  # open alerts of every type
    closed_day: int = 0  # the revenue detector's open day before the latest revenue event
    limit: LimitState | None = None  # repayment cycles and limit history (credit-limit policy)
    contacts: list[int] = []  # contacts scheduled in the last week: moment * 2 + is_call (contact policy)
    repay: RepaymentState | None = None  # repayment behaviour: lateness in a row, bucket rolls
    own_amounts: list[int] = []  # cents of our latest disbursements and repayments (a ring): our money on the account
    lender_flows: list[int] = []  # flat ring [cents, lender key, ...] of the latest lender flows on the account
    held: list[Held] = []  # events not applied yet, in event-time order (see step.step: the reorder buffer)
    source: str = ""  # the source of its latest revenue report (pipeline outages are per source)
    report_day: int = 0  # the latest local day a revenue report arrived for (arrival order, before the reorder)
    reported: int = 0  # bit k: a report arrived for day report_day - k (k < 8); the partition counts them
    sampled_day: int = 0  # the latest local day it gave the shared models its daily sample (anomaly, label memory)
    labels: LabelMemory | None = None  # feature snapshots awaiting their PD label
    defaulted: bool = False  # reached default_dpd: its positive label is given, it contributes no more
    contrib: list[Contribution] = []  # what it gave the shared models in its last few days (learnt from here)
    seen_ids: bytes = b""  # keys of the latest applied event ids, ID_BYTES each, oldest first (a ring; id_key)

    def loan(self, loan_id: str) -> Loan | None:
        for loan in self.loans:
            if loan.loan_id == loan_id:
                return loan
        return None


_encoder = msgspec.msgpack.Encoder(decimal_format="string")
_decoder = msgspec.msgpack.Decoder(BorrowerState)


def encode(state: BorrowerState) -> bytes:
    return _encoder.encode(state)


def decode(raw: bytes) -> BorrowerState:
    state = _decoder.decode(raw)
    if state.recent_ids:  # written before the packed keys: the same keys, moved
        state.seen_ids = b"".join(id_key(h) for h in state.recent_ids) + state.seen_ids
        state.recent_ids = []
    for loan in state.loans:
        if loan.payment_ids:
            loan.repaid_ids = b"".join(id_key(h) for h in loan.payment_ids) + loan.repaid_ids
            loan.payment_ids = []
    return state


ID_BYTES = 6  # bytes of an event id's hash kept to recognise a re-delivery (48 bits)


def id_key(h: int) -> bytes:
    """The key kept for an event id's 64-bit hash (its top ID_BYTES bytes).

    48 bits: with the 24 latest ids kept, a new event is taken for a re-delivery
    with probability 24 / 2**48 (about 1e-13), once in ten trillion events.

    >>> id_key(0x0102030405060708)
    b'\\x01\\x02\\x03\\x04\\x05\\x06'
    """
    return (h >> (64 - 8 * ID_BYTES)).to_bytes(ID_BYTES, "big")


def has_id(keys: bytes, key: bytes) -> bool:
    """Is ``key`` one of the packed ``keys`` (at a key boundary)?

    >>> has_id(b"abcdefghijkl", b"ghijkl"), has_id(b"abcdefghijkl", b"bcdefg")
    (True, False)
    """
    i = keys.find(key)
    while i > 0 and i % ID_BYTES:
        i = keys.find(key, i + 1)
    return i >= 0
