"""When a weekly plan is next due: local days and a local time in Brussels -> one UTC instant.

A minimal version written on the plans branch (the engine's version replaces it at merge):
days are weekdays 0 = Monday ... 6 = Sunday, ``time_local`` is "HH:MM" on the wall clock in
Brussels. Computing from the local date and time each time (never by adding 7 * 24 hours)
keeps 10:00 at 10:00 across the summer-time changes. A wall time that does not exist on the
day the clocks go forward (02:30 on the last Sunday of March) happens at the first minute that
exists after it (03:00); one that exists twice (October) is the first of the two.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

from models.base import TZ


def parse_hhmm(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def _utc(day: date, at: time) -> datetime:
    local = datetime.combine(day, at).replace(tzinfo=TZ, fold=0)
    utc = local.astimezone(timezone.utc)
    naive = local.replace(tzinfo=None)
    while utc.astimezone(TZ).replace(tzinfo=None) != naive:  # a time the clocks skipped: the first that exists
        naive += timedelta(minutes=1)
        utc = naive.replace(tzinfo=TZ, fold=0).astimezone(timezone.utc)
    return utc


def next_due(days: list[int], time_local: str, after: datetime, paused_until: date | None = None) -> datetime | None:
    """The first instant strictly after ``after`` (UTC or aware) on one of ``days`` at
    ``time_local`` in Brussels, and not on a day before ``paused_until`` (the plan runs again
    from that day on). None without days."""
    wanted = sorted({int(d) for d in days if 0 <= int(d) <= 6})
    if not wanted:
        return None
    if after.tzinfo is None:
        after = after.replace(tzinfo=timezone.utc)
    at = parse_hhmm(time_local)
    day = after.astimezone(TZ).date()
    if paused_until is not None and paused_until > day:
        day = paused_until
    for offset in range(0, 15):
        candidate = day + timedelta(days=offset)
        if candidate.weekday() in wanted:
            due = _utc(candidate, at)
            if due > after:
                return due
    return None  # pragma: no cover - two weeks always hold a wanted weekday
