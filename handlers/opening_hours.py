"""Opening hours of a service on the social map: read from a directory file, and "open now?"
against a given moment (the caller's clock), always in Brussels time so that a desk open
09:00-12:00 is open at 09:00 local in winter and in summer alike.

Hours are kept as ``{"mon": ["09:00-12:00", "13:30-16:00"], ...}``; "24:00" closes at midnight.
"""
from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

from models.base import TZ

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_RANGE = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")
#: How far ahead the next opening is looked for.
LOOK_AHEAD_DAYS = 8


class HoursError(ValueError):
    """A day or a time range that cannot be read; the message says which."""


def minutes(hour: str, minute: str) -> int:
    h, m = int(hour), int(minute)
    if not (0 <= h <= 24 and 0 <= m < 60) or (h == 24 and m):
        raise HoursError(f"not a time: {hour}:{minute}")
    return h * 60 + m


def read_range(text: str) -> str:
    """ "9:00 - 12:00" -> "09:00-12:00"; the end must come after the start."""
    match = _RANGE.match(text.strip())
    if not match:
        raise HoursError(f"not a time range: {text.strip()!r} (like 09:00-12:00)")
    start, end = minutes(*match.group(1, 2)), minutes(*match.group(3, 4))
    if end <= start:
        raise HoursError(f"a range must end after it starts: {text.strip()!r}")
    return f"{start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}"


def read_days(text: str) -> list[str]:
    """ "mon" -> ["mon"], "mon-fri" -> ["mon", ..., "fri"]."""
    first, sep, last = text.strip().lower().partition("-")
    if first not in DAYS or (sep and last not in DAYS):
        raise HoursError(f"not a day: {text.strip()!r} (mon, tue, wed, thu, fri, sat, sun, or mon-fri)")
    if not sep:
        return [first]
    a, b = DAYS.index(first), DAYS.index(last)
    if b < a:
        raise HoursError(f"days must run forward: {text.strip()!r}")
    return list(DAYS[a:b + 1])


def read_mapping(value: object) -> dict[str, list[str]]:
    """A YAML mapping ``{mon: ["09:00-12:00"], mon-fri: "09:00-12:00, 13:00-16:00"}``."""
    if value in (None, ""):
        return {}
    if not isinstance(value, dict):
        raise HoursError("hours must be a mapping of days to time ranges (mon: [\"09:00-12:00\"])")
    out: dict[str, list[str]] = {}
    for days, ranges in value.items():
        if isinstance(ranges, str):
            ranges = [r for r in re.split(r"[,\s]+(?=\d)", ranges) if r.strip()]
        if not isinstance(ranges, list) or not all(isinstance(r, str) for r in ranges):
            raise HoursError(f"the hours of {days!r} must be time ranges like \"09:00-12:00\"")
        for day in read_days(str(days)):
            out.setdefault(day, []).extend(read_range(r) for r in ranges)
    return {day: sorted(set(out[day])) for day in DAYS if day in out}


def read_text(text: str) -> dict[str, list[str]]:
    """A CSV cell: "mon-fri 09:00-12:00 13:30-16:00; sat 10:00-12:00"."""
    out: dict[str, list[str]] = {}
    for part in (text or "").split(";"):
        part = part.strip()
        if not part:
            continue
        days, _sep, ranges = part.partition(" ")
        found = [r for r in re.split(r"[,\s]+(?=\d)", ranges.strip()) if r.strip()]
        if not found:
            raise HoursError(f"no time range after {days!r} (like \"mon 09:00-12:00\")")
        out.setdefault(days, []).extend(found)
    return read_mapping(out)


def _ranges(hours: dict, day: date) -> list[tuple[int, int]]:
    out = []
    for text in hours.get(DAYS[day.weekday()], []):
        start, _sep, end = text.partition("-")
        out.append((minutes(*start.split(":")), minutes(*end.split(":"))))
    return sorted(out)


def _at(day: date, minute: int) -> datetime:
    """A local Brussels moment (24:00 is the next day's midnight)."""
    return datetime.combine(day, time(0), tzinfo=TZ) + timedelta(minutes=minute) if minute < 24 * 60 else \
        datetime.combine(day + timedelta(days=1), time(0), tzinfo=TZ)


def open_until(hours: dict, now: datetime) -> datetime | None:
    """When the service closes if it is open at ``now`` (an aware moment), else None."""
    local = now.astimezone(TZ)
    minute = local.hour * 60 + local.minute
    for start, end in _ranges(hours or {}, local.date()):
        if start <= minute < end:
            return _at(local.date(), end)
    return None


def next_opening(hours: dict, now: datetime) -> datetime | None:
    """The next moment the service opens after ``now``, within a week; None if it never does."""
    local = now.astimezone(TZ)
    minute = local.hour * 60 + local.minute
    for ahead in range(LOOK_AHEAD_DAYS):
        day = local.date() + timedelta(days=ahead)
        for start, _end in _ranges(hours or {}, day):
            if ahead or start > minute:
                return _at(day, start)
    return None
