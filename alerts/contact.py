"""One contact policy per borrower: quiet hours and caps on calls and contacts.

Every task that reaches out to the borrower (a reminder, a call, a visit) gets
the first moment at which the contact keeps to the policy: outside quiet hours
in the borrower's time zone, at most ``calls_per_day`` calls on a local day and
at most ``contacts_per_week`` contacts in any 7 days. A contact that would
break them is deferred to that moment (the task's ``contact_after``), never
dropped. The history is a short list of the borrower's scheduled contacts.

>>> import datetime as dt
>>> from zoneinfo import ZoneInfo
>>> tz, p = ZoneInfo("Asia/Shanghai"), ContactPolicy()
>>> t = int(dt.datetime(2026, 3, 2, 10, tzinfo=tz).timestamp())      # Monday 10:00
>>> history: list[int] = []
>>> [dt.datetime.fromtimestamp(schedule(history, t, True, tz, p), tz).strftime("%a %H:%M") for _ in range(3)]
['Mon 10:00', 'Tue 08:00', 'Wed 08:00']
>>> late = int(dt.datetime(2026, 3, 9, 22, 30, tzinfo=tz).timestamp())  # 22:30: quiet hours
>>> dt.datetime.fromtimestamp(schedule([], late, False, tz, p), tz).strftime("%a %H:%M")
'Tue 08:00'
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

DAY = 86_400
WEEK = 7 * DAY


@dataclass(frozen=True, slots=True)
class ContactPolicy:
    """Quiet hours (local) and caps, shared by every task that contacts the borrower."""

    quiet_from: int = 21  # no contact from this local hour ...
    quiet_to: int = 8  # ... until this one
    calls_per_day: int = 1
    contacts_per_week: int = 3
    call_channels: tuple[str, ...] = ("phone", "field")
    contact_actions: tuple[str, ...] = ("reminder", "call", "visit")


def schedule(history: list[int], t: int, is_call: bool, tz: ZoneInfo, policy: ContactPolicy) -> int:
    """The first moment at or after ``t`` the contact is allowed; it is added to ``history``.

    ``history`` holds ``moment * 2 + is_call`` of contacts already scheduled
    (entries more than a week before ``t`` are dropped).
    """
    history[:] = [h for h in history if (h >> 1) > t - WEEK]
    moment = t
    for _ in range(64):  # each pass moves forward; the caps are met within a few
        moment = _outside_quiet_hours(moment, tz, policy)
        week = sorted(h >> 1 for h in history if moment - WEEK < (h >> 1) <= moment)
        if len(week) >= policy.contacts_per_week:
            moment = week[len(week) - policy.contacts_per_week] + WEEK
            continue
        if is_call:
            day = _local_date(moment, tz)
            calls = [h >> 1 for h in history if h & 1 and _local_date(h >> 1, tz) == day]
            if len(calls) >= policy.calls_per_day:
                moment = _at_hour(day + dt.timedelta(days=1), policy.quiet_to, tz)
                continue
        break
    history.append(moment * 2 + int(is_call))
    return moment


def _local_date(t: int, tz: ZoneInfo) -> dt.date:
    return dt.datetime.fromtimestamp(t, tz).date()


def _at_hour(day: dt.date, hour: int, tz: ZoneInfo) -> int:
    return int(dt.datetime(day.year, day.month, day.day, hour, tzinfo=tz).timestamp())


def _outside_quiet_hours(t: int, tz: ZoneInfo, policy: ContactPolicy) -> int:
    local = dt.datetime.fromtimestamp(t, tz)
    if policy.quiet_to <= local.hour < policy.quiet_from:
        return t
    day = local.date() + dt.timedelta(days=1 if local.hour >= policy.quiet_from else 0)
    return _at_hour(day, policy.quiet_to, tz)
