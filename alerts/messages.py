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


# --------------------------------------------------------------------------- alert rules and lifecycle
# Rule templates are formatted with ``value``, ``threshold``, ``baseline``, ``loan_id`` and the rule's
# ``context`` signals (see alerts/rules.toml); a value that is not known renders as "n/a". Besides the
# usual format specs, ``{value:.0pp}`` gives a fraction in percentage points (0.12 -> "12").

TEMPLATES.update({
    # alert types, as a risk officer names them
    "type_revenue_decline": ("revenue decline", "营业收入下滑"),
    "type_revenue_volatility": ("revenue volatility", "营业收入波动"),
    "type_dormancy": ("dormancy", "经营停滞"),
    "type_cash_runway": ("short cash runway", "现金流紧张"),
    "type_margin_decline": ("margin decline", "利润率下滑"),
    "type_multi_lending": ("multi-lending", "多头借贷"),
    "type_delinquency": ("delinquency", "逾期"),
    "type_repayment_behaviour": ("repayment behaviour", "还款行为异常"),
    "type_anomaly": ("anomaly", "经营异常"),
    "type_default_risk": ("default risk", "违约风险"),
    "type_ops_feed_outage": ("data feed outage", "数据源中断"),
    # rules
    "revenue_drop": (
        "Revenue over the last {days:.0f} days is {value:.0%} below its seasonal baseline "
        "(threshold {threshold:.0%}).",
        "近{days:.0f}天营业收入较季节性基线下降{value:.0%}（阈值{threshold:.0%}）。",
    ),
    "revenue_collapse": (
        "Revenue has collapsed: {drop:.0%} below its seasonal baseline over the last {days:.0f} days.",
        "营业收入断崖式下跌：近{days:.0f}天较季节性基线下降{drop:.0%}。",
    ),
    "revenue_erosion": (
        "Revenue has been eroding: the last days' revenue is {value:.0%} below its level of three months ago "
        "(threshold {threshold:.0%}).",
        "营业收入持续缓慢下滑：近期收入较三个月前的水平下降{value:.0%}（阈值{threshold:.0%}）。",
    ),
    "revenue_volatility": (
        "Daily revenue has become {value:.1f} times as volatile as usual (threshold {threshold:.1f} times).",
        "日营业收入波动幅度升至平时的{value:.1f}倍（阈值{threshold:.1f}倍）。",
    ),
    "feed_silent": (
        "No sales or account activity for {value:.0f} days, longer than this borrower's usual rhythm allows "
        "(threshold {threshold:.0f} days).",
        "已连续{value:.0f}天无销售或账户流水，超出该借款人的正常经营节奏（阈值{threshold:.0f}天）。",
    ),
    "feed_silent_long": (
        "No sales or account activity for {value:.0f} days, far longer than this borrower's usual rhythm "
        "allows (threshold {threshold:.0f} days): the business may have stopped trading.",
        "已连续{value:.0f}天无销售或账户流水，远超该借款人的正常经营节奏（阈值{threshold:.0f}天），可能已停止经营。",
    ),
    "cash_runway": (
        "Cash on hand covers only {value:.0f} days of typical outflows (threshold {threshold:.0f} days; "
        "usually {baseline:.0f} days).",
        "账户余额仅够支付约{value:.0f}天的日常支出（阈值{threshold:.0f}天，平时约{baseline:.0f}天）。",
    ),
    "margin_decline": (
        "The operating margin (customer receipts after supplier, payroll and rent payments) is "
        "{value:.0pp} percentage points below its usual {baseline:.0%} (threshold {threshold:.0pp} points).",
        "经营利润率（客户回款扣除供应商、工资和租金支出后）较平时的{baseline:.0%}下降{value:.0pp}个百分点"
        "（阈值{threshold:.0pp}个百分点）。",
    ),
    "margin_decline_month": (
        "Last month's operating margin (customer receipts after supplier, payroll and rent payments) was "
        "{value:.0pp} percentage points below its usual {baseline:.0%} (threshold {threshold:.0pp} points).",
        "上月经营利润率（客户回款扣除供应商、工资和租金支出后）较平时的{baseline:.0%}下降{value:.0pp}个百分点"
        "（阈值{threshold:.0pp}个百分点）。",
    ),
    "multi_lending": (
        "{value:.0f} other lenders disbursed to or were repaid by the borrower in the last 30 days "
        "(threshold {threshold:.0f}).",
        "近30天内与{value:.0f}家其他放贷机构存在放款或还款往来（阈值{threshold:.0f}家），有多头借贷迹象。",
    ),
    "delinquency": (
        "Loan {loan_id} is {value:.0f} days past due (threshold {threshold:.0f} days).",
        "贷款 {loan_id} 已逾期 {value:.0f} 天（阈值 {threshold:.0f} 天）。",
    ),
    "late_repayments": (
        "The borrower's last {value:.0f} installments went overdue in a row (threshold {threshold:.0f}).",
        "该借款人最近连续{value:.0f}期还款逾期（阈值{threshold:.0f}期）。",
    ),
    "bucket_roll": (
        "Arrears have rolled forward into a worse overdue bucket (now M{bucket:.0f}).",
        "逾期账龄迁徙恶化，已进入更差的逾期档（现为M{bucket:.0f}）。",
    ),
    "anomaly": (
        "The borrower's recent revenue, cash-flow and repayment pattern is unusual for the portfolio "
        "(anomaly score {value:.2f}, threshold {threshold:.2f}).",
        "该借款人近期营业收入、现金流和还款模式在组合中明显异常（异常分{value:.2f}，阈值{threshold:.2f}）。",
    ),
    "default_risk": (
        "The estimated probability of default is {value:.0%} (threshold {threshold:.0%}).",
        "模型估计违约概率为{value:.0%}（阈值{threshold:.0%}）。",
    ),
    "feed_outage": (
        "{count:.0f} of the {usual:.0f} borrowers who usually report through this source on that weekday "
        "({value:.0%}) did not report (threshold {threshold:.0%}): a feed or pipeline outage, not borrower "
        "behaviour; their dormancy warnings are held back until it is repaired.",
        "该数据源通常每天有{usual:.0f}个借款人上报，当天有{count:.0f}个（{value:.0%}）未上报（阈值{threshold:.0%}），"
        "属数据源或管道故障而非借款人经营问题，相关休眠预警在修复前暂不发出。",
    ),
    # lifecycle
    "inhibited": (
        "Held back by the open {severity} {type_en} alert {alert_id} of the same borrower: act on that "
        "alert first; this one is kept for the record.",
        "因同一借款人存在未关闭的{type_zh}预警（{alert_id}），本预警被抑制，仅作记录；请优先处理该预警。",
    ),
    "inhibited_loan": (
        "Held back by the open {severity} {type_en} alert {alert_id} on loan {loan_id}: act on that "
        "alert first; this one is kept for the record.",
        "因贷款 {loan_id} 存在未关闭的{type_zh}预警（{alert_id}），本预警被抑制，仅作记录；请优先处理该预警。",
    ),
    "inhibition_lifted": (
        "No longer held back: the alert that inhibited this one has been resolved.",
        "抑制已解除：原先抑制本预警的预警已关闭。",
    ),
    "reminder": (
        "Still open after {days} days (since {opened}); sent again so that it is not forgotten.",
        "本预警自{opened}起已持续{days}天仍未关闭，再次提醒。",
    ),
    "resolved": (
        "The {type_en} condition has not been seen since {since}, for the full hysteresis span of "
        "{span_en}; the alert is resolved.",
        "自{since}起已连续{span_zh}未再出现{type_zh}情形，预警解除。",
    ),
    "resolved_at_once": (
        "The {type_en} condition is no longer seen (since {since}); the alert is resolved.",
        "自{since}起{type_zh}情形已消除，预警解除。",
    ),
    "resolved_delinquency": (
        "Loan {loan_id} is no longer past due (repaid, cured or closed); the delinquency alert is resolved.",
        "贷款 {loan_id} 已不再逾期（已还款、已结清或已关闭），逾期预警解除。",
    ),
})
