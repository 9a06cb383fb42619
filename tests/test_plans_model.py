"""models/plans.py and the due times it writes: wall-clock time in Brussels across the clock
changes, a pause until a day, until resumed, a stop; finding a person by phone or address."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from handlers.plan_days import read_days, read_time
from models import Person
from models.network import add_neighbourhood
from models.plan_times import next_due
from models.plans import (PlanError, ensure_identity, find_person, is_paused, pause, resume, save_plan, split_address,
                          stop)

UTC = timezone.utc


@pytest.mark.parametrize("after,days,expected", [
    # Thursday 26 March 2026 10:00 CET is 09:00 UTC; Monday 30 March, after the change, 10:00 CEST is 08:00 UTC.
    (datetime(2026, 3, 26, 9, 0, tzinfo=UTC), [0, 3], datetime(2026, 3, 30, 8, 0, tzinfo=UTC)),
    (datetime(2026, 3, 26, 8, 59, tzinfo=UTC), [0, 3], datetime(2026, 3, 26, 9, 0, tzinfo=UTC)),
    # October 2026: back to winter time on Sunday the 25th.
    (datetime(2026, 10, 24, 12, 0, tzinfo=UTC), [6], datetime(2026, 10, 25, 9, 0, tzinfo=UTC)),
    (datetime(2027, 10, 30, 12, 0, tzinfo=UTC), [6], datetime(2027, 10, 31, 9, 0, tzinfo=UTC)),
])
def test_next_due_keeps_the_wall_clock_time_in_brussels(after, days, expected):
    assert next_due(days, "10:00", after) == expected


def test_a_time_the_clocks_skip_happens_at_the_first_minute_after_it():
    # Sunday 29 March 2026: 02:00 jumps to 03:00 (CEST, UTC+2): 02:30 happens at 03:00, 01:00 UTC.
    assert next_due([6], "02:30", datetime(2026, 3, 28, 12, 0, tzinfo=UTC)) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)


def test_next_due_after_a_pause_starts_on_that_day():
    after = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)  # a Monday
    assert next_due([0, 3], "10:00", after, paused_until=date(2026, 12, 21)) == datetime(2026, 12, 21, 9, 0,
                                                                                         tzinfo=UTC)
    assert next_due([], "10:00", after) is None


def test_days_and_times_as_people_type_them():
    assert read_days("mon,thu") == ([0, 3], [])
    assert read_days("ma,do")[0] == read_days("lun,jeu")[0] == read_days("maandag en donderdag")[0] == [0, 3]
    assert read_days("sometime")[0] == []
    assert [read_time(t) for t in ("10:00", "9.30", "14u", "14h30", "25:00", "noon")] == \
        ["10:00", "09:30", "14:00", "14:30", None, None]


def test_save_pause_resume_stop_and_find(sessions):
    now = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    with sessions() as s, s.begin():
        nb = add_neighbourhood(s, "Etterbeek", "etterbeek", ["1040"])
        maria = Person(neighbourhood_id=nb.id, first_name="Maria", language="nl")
        pending = Person(neighbourhood_id=nb.id, first_name="Jan", is_volunteer=True, volunteer_status="pending")
        s.add_all([maria, pending])
        s.flush()
        ensure_identity(s, maria, "voice", "+3225551234")
        assert find_person(s, phone="+3225551234") is maria  # by the call's identity, without Person.phone
        assert find_person(s, address=split_address("voice:+3225551234")) is maria
        with pytest.raises(PlanError) as refused:
            save_plan(s, maria, neighbourhood_id=nb.id, channel="voice", days=[0], time_local="10:00", now=now,
                      consent_how=" ", consent_by="Fatima")
        assert refused.value.code == "consent"
        with pytest.raises(PlanError) as refused:
            save_plan(s, maria, neighbourhood_id=nb.id, channel="voice", days=[0], time_local="10:00", now=now,
                      consent_how="by phone", consent_by="Fatima", buddy=pending)
        assert refused.value.code == "buddy"
        plan = save_plan(s, maria, neighbourhood_id=nb.id, channel="voice", days=[0, 3], time_local="10:00", now=now,
                         consent_how="by phone", consent_by="Fatima")
        assert plan.next_due_at == datetime(2026, 12, 10, 9, 0, tzinfo=UTC) and maria.consent_at == now
        pause(s, plan, date(2026, 12, 21), now)
        assert plan.status == "paused" and is_paused(plan, now)
        assert plan.next_due_at == datetime(2026, 12, 21, 9, 0, tzinfo=UTC)
        with pytest.raises(PlanError):
            pause(s, plan, date(2026, 12, 7), now)  # today is no day "after"
        pause(s, plan, None, now)
        assert (plan.status, plan.next_due_at) == ("paused", None)
        resume(s, plan, now)
        assert plan.status == "active" and plan.next_due_at == datetime(2026, 12, 10, 9, 0, tzinfo=UTC)
        stop(s, plan)
        assert (plan.status, plan.next_due_at) == ("stopped", None)
        with pytest.raises(PlanError):
            resume(s, plan, now)
        with pytest.raises(PlanError) as taken:
            other = Person(neighbourhood_id=nb.id, first_name="Louis")
            s.add(other)
            s.flush()
            ensure_identity(s, other, "voice", "+3225551234")
        assert taken.value.code == "taken"


def maria_in_etterbeek(s) -> tuple:
    nb = add_neighbourhood(s, "Etterbeek", "etterbeek", ["1040"])
    maria = Person(neighbourhood_id=nb.id, first_name="Maria", language="nl")
    s.add(maria)
    s.flush()
    return nb, maria


@pytest.mark.parametrize("how", ["pause", "stop"])
def test_pausing_or_stopping_a_plan_cancels_the_hellos_still_queued_but_not_the_replies(sessions, how):
    from sqlalchemy import select

    from models import Outbox

    now = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    with sessions() as s, s.begin():
        nb, maria = maria_in_etterbeek(s)
        identity = ensure_identity(s, maria, "voice", "+3225551234")
        s.flush()
        plan = save_plan(s, maria, neighbourhood_id=nb.id, channel="voice", days=[0], time_local="10:00", now=now,
                         consent_how="by phone", consent_by="Fatima")
        for key, purpose in (("hello", "checkin"), ("remind", "reminder"), ("answer", "reply")):
            s.add(Outbox(idempotency_key=key, channel="voice", address="+3225551234", identity_id=identity.id,
                         text="x", purpose=purpose))
        s.flush()
        pause(s, plan, None, now) if how == "pause" else stop(s, plan)
        s.flush()
        status = dict(s.execute(select(Outbox.idempotency_key, Outbox.status)).all())
    assert status == {"hello": "failed", "remind": "failed", "answer": "pending"}


@pytest.mark.parametrize("ladder", [
    [{"step": "retry", "after": "soon"}], [{"step": "jump"}], [{"after": 10}], [{"step": "retry", "after": -1}],
    [{"step": "retry", "deadline": 60}], "retry", [["retry"]], [{"step": "buddy", "deadline": True}],
])
def test_a_ladder_the_sweep_could_not_run_is_refused(sessions, ladder):
    now = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    with sessions() as s, s.begin():
        nb, maria = maria_in_etterbeek(s)
        with pytest.raises(PlanError) as refused:
            save_plan(s, maria, neighbourhood_id=nb.id, channel="demo", days=[0], time_local="10:00", now=now,
                      consent_how="by phone", consent_by="Fatima", ladder=ladder)
        assert refused.value.code == "ladder"
        plan = save_plan(s, maria, neighbourhood_id=nb.id, channel="demo", days=[0], time_local="10:00", now=now,
                         consent_how="by phone", consent_by="Fatima",
                         ladder=[{"step": "retry", "after": 5}, {"step": "buddy", "after": 0, "deadline": 30}])
        assert plan.ladder[1] == {"step": "buddy", "after": 0, "deadline": 30}


@pytest.mark.parametrize("time_local,ok", [("07:59", False), ("08:00", True), ("20:59", True), ("21:00", False),
                                           ("23:30", False)])
def test_a_check_in_is_never_planned_in_the_night(sessions, time_local, ok):
    now = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    with sessions() as s, s.begin():
        nb, maria = maria_in_etterbeek(s)
        try:
            save_plan(s, maria, neighbourhood_id=nb.id, channel="demo", days=[0], time_local=time_local, now=now,
                      consent_how="by phone", consent_by="Fatima")
            saved = True
        except PlanError as refused:
            assert refused.code == "time"
            saved = False
    assert saved is ok
