"""Five-category loan classification (五级分类) from days past due and warnings.

>>> t = ClassThresholds()
>>> [risk_class(d, False, t) for d in (0, 1, 91, 271, 361)]
['normal', 'special_mention', 'substandard', 'doubtful', 'loss']
>>> risk_class(0, True, t)
'special_mention'
"""

from __future__ import annotations

from dataclasses import dataclass

CLASSES = ("normal", "special_mention", "substandard", "doubtful", "loss")
CLASS_NAMES_ZH = {
    "normal": "正常",
    "special_mention": "关注",
    "substandard": "次级",
    "doubtful": "可疑",
    "loss": "损失",
}


@dataclass(frozen=True, slots=True)
class ClassThresholds:
    """DPD above which a loan is at least substandard, doubtful, loss (configuration)."""

    substandard_dpd: int = 90
    doubtful_dpd: int = 270
    loss_dpd: int = 360


def risk_class(dpd: int, has_critical_warning: bool, thresholds: ClassThresholds) -> str:
    """The class of a borrower by its worst current DPD and open critical warnings.

    Any overdue amount, or an open critical warning, is at least special mention.
    """
    if dpd > thresholds.loss_dpd:
        return "loss"
    if dpd > thresholds.doubtful_dpd:
        return "doubtful"
    if dpd > thresholds.substandard_dpd:
        return "substandard"
    if dpd > 0 or has_critical_warning:
        return "special_mention"
    return "normal"
