"""When a check-in plan is next due: weekdays and a wall-clock time in Brussels, as a UTC instant.

Computed on the local calendar, never by adding 7 x 24 hours, so a 10:00 check-in stays at 10:00
across the March and October clock changes. Two wall-clock times need a rule (PEP 495):
- a time that does not exist (02:30 on the spring-forward Sunday: the clocks jump from 02:00 to
  03:00) happens at the first instant that exists after it, 03:00 -- it never vanishes;
- a time that exists twice (02:30 on the fall-back Sunday) happens once, at the first of the two.
A pause (``paused_until``) skips the days before it: the plan resumes *on* that day.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache

from models.base import TZ

#: Weekday names as the CLI and chat accept them, 0 = Monday.
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def parse_hm(text: str) -> time:
    """"HH:MM" -> time; ValueError for anything else."""
    hours, _, minutes = text.strip().partition(":")
    if not (hours.isdigit() and minutes.isdigit() and len(minutes) == 2 and 1 <= len(hours) <= 2):
        raise ValueError(f"not a time of day (HH:MM): {text!r}")
    return time(int(hours), int(minutes))


def local_instant(day: date, at: time) -> datetime:
    """The UTC instant of the wall-clock time ``at`` on ``day`` in Brussels: the first of two
    when the clocks go back, the first instant after the gap when they go forward."""
    naive = datetime.combine(day, at)
    aware = naive.replace(tzinfo=TZ, fold=0)
    instant = aware.astimezone(timezone.utc)
    if instant.astimezone(TZ).replace(tzinfo=None) == naive:
        return instant
    # In the gap: walk forward on the wall clock to the first minute that exists (the gap is
    # at most an hour in Brussels; a few dozen steps on two days a year).
    probe = naive
    for _ in range(24 * 60):
        probe += timedelta(minutes=1)
        candidate = probe.replace(tzinfo=TZ, fold=0).astimezone(timezone.utc)
        if candidate.astimezone(TZ).replace(tzinfo=None) == probe:
            return candidate
    raise AssertionError("no wall-clock time exists after the gap")  # pragma: no cover


def next_due(plan_days: list[int], time_local: str, after: datetime, *,
             paused_until: date | None = None) -> datetime | None:
    """The first instant strictly after ``after`` (aware) that falls on one of ``plan_days``
    (0 = Monday) at ``time_local`` ("HH:MM", Brussels), on or after ``paused_until``; UTC.
    None for a plan without days."""
    return _next_due(tuple(plan_days), time_local, after, paused_until)


@lru_cache(maxsize=4096)  # a sweep asks the same question for every plan due at one time
def _next_due(plan_days: tuple, time_local: str, after: datetime, paused_until: date | None) -> datetime | None:
    days = {int(d) for d in plan_days if 0 <= int(d) <= 6}
    if not days:
        return None
    if after.tzinfo is None:
        raise ValueError("after must be timezone-aware")
    at = parse_hm(time_local)
    start = after.astimezone(TZ).date()
    if paused_until is not None and paused_until > start:
        start = paused_until
    for offset in range(8):  # a week and a day: today's time may have passed
        day = start + timedelta(days=offset)
        if day.weekday() in days:
            instant = local_instant(day, at)
            if instant > after:
                return instant
    raise AssertionError("a weekday in the plan must come within eight days")  # pragma: no cover


def local_minute(instant: datetime) -> str:
    """"2026-12-07T10:00": the Brussels wall-clock minute of an instant (occurrence keys)."""
    return instant.astimezone(TZ).strftime("%Y-%m-%dT%H:%M")


def day_start(day: date) -> datetime:
    """The UTC instant the Brussels day ``day`` begins."""
    return local_instant(day, time(0, 0))
