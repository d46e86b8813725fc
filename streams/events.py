"""Typed input events of the loanwatch contract (v1).

The types mirror ``../shared/contracts/events.md`` and the JSON Schemas in
``streams/schemas/``. Money ledgers are exact :class:`~decimal.Decimal`;
timestamps are timezone-aware. Decoding bytes into these types happens in one
place only, :mod:`streams.decode`; everything after that edge trusts them.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

import msgspec

EventId = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
BorrowerId = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Key = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
AwareTime = Annotated[dt.datetime, msgspec.Meta(tz=True)]
Currency = Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}$")]
Code = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]  # product, source, channel, ...
Seq = Annotated[int, msgspec.Meta(ge=1, le=2**31 - 1)]
Rate = Annotated[float, msgspec.Meta(ge=0, le=10)]  # a fraction per year (0.072 = 7.2 %); finite
MAX_INSTALLMENTS = 600


def _non_negative(name: str, value: Decimal | None) -> None:
    if value is not None and (not value.is_finite() or value < 0):
        raise ValueError(f"`{name}` must be a finite amount >= 0, got {value}")


class Installment(msgspec.Struct, frozen=True, forbid_unknown_fields=False):
    seq: Seq
    due_date: dt.date
    amount_due: Decimal

    def __post_init__(self) -> None:
        _non_negative("amount_due", self.amount_due)


class _Event(msgspec.Struct, frozen=True, tag_field="schema", kw_only=True):
    event_id: EventId
    borrower_id: BorrowerId
    occurred_at: AwareTime


Schedule = Annotated[list[Installment], msgspec.Meta(max_length=MAX_INSTALLMENTS)]


class LoanOpened(_Event, frozen=True, tag="loan_opened/1"):
    loan_id: Key
    principal: Decimal
    credit_limit: Decimal
    installments: Schedule
    product: Code = "term_loan"
    currency: Currency = "CNY"
    annual_rate: Rate | None = None
    sector: Code | None = None
    region: Code | None = None

    def __post_init__(self) -> None:
        _non_negative("principal", self.principal)
        _non_negative("credit_limit", self.credit_limit)
        _check_unique_seqs(self.installments)


class ScheduleChanged(_Event, frozen=True, tag="schedule_changed/1"):
    loan_id: Key
    installments: Schedule
    reason: Code = "restructure"

    def __post_init__(self) -> None:
        _check_unique_seqs(self.installments)


class InstallmentDue(_Event, frozen=True, tag="installment_due/1"):
    loan_id: Key
    seq: Seq
    due_date: dt.date
    amount_due: Decimal
    statement_balance: Decimal | None = None

    def __post_init__(self) -> None:
        _non_negative("amount_due", self.amount_due)
        _non_negative("statement_balance", self.statement_balance)


class Drawdown(_Event, frozen=True, tag="drawdown/1"):
    loan_id: Key
    amount: Decimal

    def __post_init__(self) -> None:
        _non_negative("amount", self.amount)


class Repayment(_Event, frozen=True, tag="repayment/1"):
    loan_id: Key
    amount: Decimal
    installment_seq: Seq | None = None
    channel: Code | None = None

    def __post_init__(self) -> None:
        _non_negative("amount", self.amount)


class LoanClosed(_Event, frozen=True, tag="loan_closed/1"):
    loan_id: Key
    reason: Literal["repaid", "written_off", "restructured", "sold"]


class Revenue(_Event, frozen=True, tag="revenue/1"):
    amount: Decimal
    period: Literal["day", "week", "month"] = "day"
    source: Code = "pos"
    currency: Currency = "CNY"

    def __post_init__(self) -> None:
        _non_negative("amount", self.amount)


CounterpartyType = Literal[
    "customer", "supplier", "payroll", "tax", "rent", "utilities",
    "loan_repayment", "lender_disbursement", "transfer", "other",
]


class Cashflow(_Event, frozen=True, tag="cashflow/1"):
    account_id: Key
    direction: Literal["in", "out"]
    amount: Decimal
    counterparty_type: CounterpartyType = "other"
    balance_after: Decimal | None = None
    counterparty_id: Key | None = None
    currency: Currency = "CNY"

    def __post_init__(self) -> None:
        _non_negative("amount", self.amount)
        if self.balance_after is not None and not self.balance_after.is_finite():
            raise ValueError("`balance_after` must be a finite amount")


class CollectionOutcome(_Event, frozen=True, tag="collection_outcome/1"):
    task_id: Key
    loan_id: Key
    outcome: Literal["contacted", "promise_to_pay", "unreachable", "dispute", "paid"]
    promised_amount: Decimal | None = None
    promised_date: dt.date | None = None
    agent_id: Key | None = None

    def __post_init__(self) -> None:
        _non_negative("promised_amount", self.promised_amount)


def _check_unique_seqs(installments: list[Installment]) -> None:
    seqs = [i.seq for i in installments]
    if len(seqs) != len(set(seqs)):
        raise ValueError("`installments` has a repeated `seq`")


Event = (
    LoanOpened | ScheduleChanged | InstallmentDue | Drawdown | Repayment
    | LoanClosed | Revenue | Cashflow | CollectionOutcome
)

EVENT_TYPES: tuple[type[_Event], ...] = (
    LoanOpened, ScheduleChanged, InstallmentDue, Drawdown, Repayment,
    LoanClosed, Revenue, Cashflow, CollectionOutcome,
)

SCHEMAS: tuple[str, ...] = tuple(t.__struct_config__.tag for t in EVENT_TYPES)  # type: ignore[misc]
