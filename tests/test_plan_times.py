"""Next due times of check-in plans in Brussels: weekdays, DST both ways, pauses."""
from datetime import date, datetime, timezone

import pytest

from models.base import TZ
from models.plan_times import local_minute, next_due, parse_hm

MON, TUE, WED, THU, FRI, SAT, SUN = range(7)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def local(*args) -> datetime:
    return datetime(*args, tzinfo=TZ)


def test_mon_thu_at_ten_in_winter_and_summer():
    # Monday 7 December 2026 09:00 Brussels (CET, UTC+1): today 10:00 is next.
    assert next_due([MON, THU], "10:00", local(2026, 12, 7, 9, 0)) == utc(2026, 12, 7, 9, 0)
    # At 10:00 exactly it is no longer "after": Thursday.
    assert next_due([MON, THU], "10:00", utc(2026, 12, 7, 9, 0)) == utc(2026, 12, 10, 9, 0)
    # Summer (CEST, UTC+2).
    assert next_due([MON, THU], "10:00", local(2026, 6, 1, 11, 0)) == utc(2026, 6, 4, 8, 0)
    # Sunday evening -> Monday.
    assert next_due([MON], "10:00", local(2026, 12, 13, 23, 59)) == utc(2026, 12, 14, 9, 0)


def test_a_ten_o_clock_checkin_stays_at_ten_across_both_dst_changes():
    march = [next_due([SUN], "10:00", local(2026, 3, 22, 12, 0)), next_due([SUN], "10:00", local(2026, 3, 29, 12))]
    assert march[0] == utc(2026, 3, 29, 8, 0)  # 29 March 2026, the first Sunday of summer time
    assert march[0].astimezone(TZ).hour == 10 and march[1].astimezone(TZ).hour == 10
    october = next_due([SUN], "10:00", local(2026, 10, 18, 12, 0))
    assert october == utc(2026, 10, 25, 9, 0)  # back to UTC+1
    assert october.astimezone(TZ).strftime("%H:%M") == "10:00"
    # 2027 too: 28 March and 31 October.
    assert next_due([SUN], "10:00", local(2027, 3, 27, 12)) == utc(2027, 3, 28, 8, 0)
    assert next_due([SUN], "10:00", local(2027, 10, 30, 12)) == utc(2027, 10, 31, 9, 0)


def test_a_time_in_the_spring_gap_does_not_vanish():
    """02:30 does not exist on 29 March 2026: the check-in happens at 03:00 (the first instant
    after the gap), once, and the next week at 02:30 again."""
    first = next_due([SUN], "02:30", local(2026, 3, 28, 12, 0))
    assert first == utc(2026, 3, 29, 1, 0)
    assert first.astimezone(TZ).strftime("%Y-%m-%d %H:%M") == "2026-03-29 03:00"
    second = next_due([SUN], "02:30", first)
    assert second == utc(2026, 4, 5, 0, 30) and second.astimezone(TZ).strftime("%H:%M") == "02:30"


def test_a_time_that_exists_twice_in_october_happens_once():
    """02:30 happens twice on 25 October 2026 (CEST, then CET): the check-in is at the first."""
    first = next_due([SUN], "02:30", local(2026, 10, 24, 12, 0))
    assert first == utc(2026, 10, 25, 0, 30)  # 02:30 CEST
    # Asked again right after (and at the second 02:30): next Sunday, never the second 02:30.
    assert next_due([SUN], "02:30", first) == utc(2026, 11, 1, 1, 30)
    assert next_due([SUN], "02:30", utc(2026, 10, 25, 1, 0)) == utc(2026, 11, 1, 1, 30)
    assert local_minute(first) == "2026-10-25T02:30"


def test_pause_skips_the_days_before_and_resumes_on_the_day():
    after = local(2026, 12, 7, 9, 0)  # Monday
    assert next_due([MON, THU], "10:00", after, paused_until=date(2026, 12, 17)) == utc(2026, 12, 17, 9, 0)
    assert next_due([MON, THU], "10:00", after, paused_until=date(2026, 12, 18)) == utc(2026, 12, 21, 9, 0)
    # A pause in the past changes nothing.
    assert next_due([MON, THU], "10:00", after, paused_until=date(2026, 12, 1)) == utc(2026, 12, 7, 9, 0)


def test_no_days_no_due_time_and_bad_input_is_refused():
    assert next_due([], "10:00", utc(2026, 12, 7)) is None
    with pytest.raises(ValueError):
        next_due([MON], "25h", utc(2026, 12, 7))
    with pytest.raises(ValueError):
        next_due([MON], "10:00", datetime(2026, 12, 7))
    assert parse_hm("9:05").hour == 9


def test_every_day_for_a_year_stays_on_the_wall_clock():
    """Walking a daily 10:00 plan through 2026: 365 instants, each 10:00 local, none twice."""
    at, seen = utc(2025, 12, 31, 12), []
    for _ in range(365):
        at = next_due(list(range(7)), "10:00", at)
        seen.append(at)
    assert {s.astimezone(TZ).strftime("%H:%M") for s in seen} == {"10:00"}
    assert len({s.astimezone(TZ).date() for s in seen}) == 365
