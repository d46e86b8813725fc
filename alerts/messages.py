"""Message templates for risk officers, in English and Chinese.

>>> en, zh = render("dpd_over_threshold", dpd=35, threshold=30, loan_id="L1")
>>> en
'Loan L1 is 35 days past due (threshold 30).'
>>> zh
'贷款 L1 已逾期 35 天（阈值 30 天）。'
"""

from __future__ import annotations

TEMPLATES: dict[str, tuple[str, str]] = {
    "dpd_over_threshold": (
        "Loan {loan_id} is {dpd} days past due (threshold {threshold}).",
        "贷款 {loan_id} 已逾期 {dpd} 天（阈值 {threshold} 天）。",
    ),
    "loan_current": (
        "Loan {loan_id} is current again.",
        "贷款 {loan_id} 已恢复正常还款。",
    ),
    "loan_closed": (
        "Loan {loan_id} was closed ({reason}).",
        "贷款 {loan_id} 已结清或关闭（{reason}）。",
    ),
    "installment_overdue": (
        "Installment {seq} of loan {loan_id} is {dpd} days past due; {amount} overdue.",
        "贷款 {loan_id} 第 {seq} 期已逾期 {dpd} 天，逾期金额 {amount}。",
    ),
}


def render(code: str, **values: object) -> tuple[str, str]:
    """English and Chinese text of a message."""
    en, zh = TEMPLATES[code]
    return en.format(**values), zh.format(**values)
