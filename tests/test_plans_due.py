"""The check-in sweep on a controllable clock: a week of plans, both DST weekends, a long
downtime reported as "missed by the system", pauses and stops, idempotent ticks."""
from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from handlers import plans_due
from handlers.sweeps import SWEEPS
from models import ChannelIdentity, Neighbourhood, Outbox, Person
from models.base import TZ
from models.plan_times import next_due
from models.schedules import CheckinAttempt, CheckinOccurrence, CheckinPlan, SweepRun
from scheduler.runner import Ticks, run_sweeps

MON, THU, SUN = 0, 3, 6


def local(*args) -> datetime:
    return datetime(*args, tzinfo=TZ)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def setup_network(s, n_people: int = 2):
    nb = Neighbourhood(name="Etterbeek", slug="etterbeek", postcodes=["1040"], default_language="nl")
    s.add(nb)
    s.flush()
    coord = Person(neighbourhood_id=nb.id, first_name="Fatima", language="nl", is_coordinator=True)
    people = [Person(neighbourhood_id=nb.id, first_name=name, language="nl", is_resident=True)
              for name in ("Maria", "Jan", "Ahmed", "Rita")[:n_people]]
    s.add_all([coord, *people])
    s.flush()
    for person, address in [(coord, "fatima"), *[(p, p.first_name.lower()) for p in people]]:
        s.add(ChannelIdentity(channel="demo", address=address, person_id=person.id, language="nl"))
    s.flush()
    return nb, coord, people


def add_plan(s, nb, person, days, at="10:00", after=None, **kw) -> CheckinPlan:
    plan = CheckinPlan(person_id=person.id, neighbourhood_id=nb.id, channel="demo", days=days, time_local=at, **kw)
    plan.next_due_at = kw.get("next_due_at") or next_due(days, at, after)
    s.add(plan)
    s.flush()
    return plan


def occurrences(sessions):
    with sessions() as s:
        return list(s.scalars(select(CheckinOccurrence).order_by(CheckinOccurrence.due_at, CheckinOccurrence.id)))


def attempts(sessions):
    """The first contact of each occurrence (what this sweep does; the ladder's steps are handlers.checkins')."""
    with sessions() as s:
        return list(s.scalars(select(CheckinAttempt).where(CheckinAttempt.step == "checkin")
                              .order_by(CheckinAttempt.id)))


def coordinator_messages(sessions):
    with sessions() as s:
        return list(s.scalars(select(Outbox.text).where(Outbox.address == "fatima").order_by(Outbox.id)))


def test_a_week_of_mon_thu_plans_on_a_fake_clock(sessions):
    start = local(2026, 12, 6, 0, 0)  # Sunday
    with sessions() as s, s.begin():
        nb, _coord, (maria, jan) = setup_network(s)
        add_plan(s, nb, maria, [MON, THU], "10:00", after=start)
        add_plan(s, nb, jan, [MON, THU], "17:45", after=start)
    # A tick every 30 minutes for eight days (and every tick runs every sweep, as the runner does).
    at = start
    while at < start + timedelta(days=8):
        at += timedelta(minutes=30)
        run_sweeps(sessions, at.astimezone(timezone.utc))
    occ = occurrences(sessions)
    expected = [local(2026, 12, 7, 10, 0), local(2026, 12, 7, 17, 45), local(2026, 12, 10, 10, 0),
                local(2026, 12, 10, 17, 45)]
    assert [o.due_at for o in occ] == expected
    assert [o.key.rsplit(":", 2)[1:] for o in occ] == [["2026-12-07T10", "00"], ["2026-12-07T17", "45"],
                                                      ["2026-12-10T10", "00"], ["2026-12-10T17", "45"]]
    assert {o.status for o in occ} == {"escalated"}  # nobody answered: the ladder ran up to the coordinator
    att = attempts(sessions)
    # Each occurrence contacted exactly once, at the first tick after it fell due.
    assert Counter(a.occurrence_id for a in att) == {o.id: 1 for o in occ}
    assert all(timedelta(0) <= a.at - o.due_at < timedelta(minutes=30) for a, o in zip(att, occ))
    with sessions() as s:
        assert sorted(p.next_due_at for p in s.scalars(select(CheckinPlan))) == [
            local(2026, 12, 14, 10, 0), local(2026, 12, 14, 17, 45)]
        assert s.scalar(select(SweepRun.last_count).where(SweepRun.name == "checkins")) == 0


@pytest.mark.parametrize("saturday", [date(2026, 3, 28), date(2026, 10, 24)])
def test_both_dst_weekends(sessions, saturday):
    """A Sunday 02:30 plan and a Sunday 10:00 plan through the clock changes, a tick every 10
    minutes: 02:30 does not vanish in March (it is sent at 03:00), it is sent once in October,
    and 10:00 stays 10:00."""
    start = datetime.combine(saturday, datetime.min.time(), tzinfo=TZ) + timedelta(hours=12)
    with sessions() as s, s.begin():
        nb, _coord, (maria, jan) = setup_network(s)
        night = add_plan(s, nb, maria, [SUN], "02:30", after=start).id
        morning = add_plan(s, nb, jan, [SUN], "10:00", after=start).id
    at = start.astimezone(timezone.utc)
    while at < start + timedelta(hours=24):
        at += timedelta(minutes=10)
        run_sweeps(sessions, at)
    occ = occurrences(sessions)
    by_plan = {o.plan_id: o for o in occ}
    assert len(occ) == 2 and set(by_plan) == {night, morning}
    assert by_plan[morning].due_at.astimezone(TZ).strftime("%H:%M") == "10:00"
    sunday = saturday + timedelta(days=1)
    if saturday.month == 3:
        assert by_plan[night].due_at == local(2026, 3, 29, 3, 0)  # the first instant after the gap
        assert by_plan[night].key == f"checkin:{night}:2026-03-29T03:00"
    else:
        assert by_plan[night].due_at == utc(2026, 10, 25, 0, 30)  # the first 02:30 (summer time)
        assert by_plan[night].key == f"checkin:{night}:2026-10-25T02:30"
    assert by_plan[night].due_at.astimezone(TZ).date() == sunday
    # each contacted once; the night one kept for the end of the quiet hours (08:00), then said
    assert sorted((a.occurrence_id, a.outcome) for a in attempts(sessions)) == sorted(
        [(by_plan[night].id, "postponed"), (by_plan[night].id, "queued"), (by_plan[morning].id, "queued")])


def test_missed_by_the_system_after_a_long_downtime(sessions):
    """Down from Monday 09:00 to Friday 12:00: Maria's Monday and Thursday check-ins and Jan's
    Thursday one were never sent -- each is an occurrence "missed_by_system" with its attempt,
    and the coordinator gets ONE message naming both; Ahmed's check-in 20 minutes ago (within
    the grace window) is still sent. Next due times move on to next week."""
    with sessions() as s, s.begin():
        nb, coord, (maria, jan, ahmed) = setup_network(s, 3)
        add_plan(s, nb, maria, [MON, THU], "10:00", after=local(2026, 12, 7, 9, 0))
        add_plan(s, nb, jan, [THU], "10:00", after=local(2026, 12, 7, 9, 0))
        add_plan(s, nb, ahmed, [4], "11:40", after=local(2026, 12, 7, 9, 0))  # Friday 11:40
    counts, failed = run_sweeps(sessions, local(2026, 12, 11, 12, 0).astimezone(timezone.utc))
    assert failed == [] and counts["checkins"] == 3
    occ = occurrences(sessions)
    assert [(o.person_id, o.status) for o in occ] == [
        (maria.id, "missed_by_system"), (maria.id, "missed_by_system"), (jan.id, "missed_by_system"),
        (ahmed.id, "waiting")]
    outcomes = Counter((a.occurrence_id, a.step, a.outcome == "missed_by_system") for a in attempts(sessions))
    assert outcomes == Counter({(occ[0].id, "checkin", True): 1, (occ[1].id, "checkin", True): 1,
                                (occ[2].id, "checkin", True): 1, (occ[3].id, "checkin", False): 1})
    messages = coordinator_messages(sessions)
    assert len(messages) == 1
    assert "3" in messages[0] and "Maria" in messages[0] and "Jan" in messages[0] and "Ahmed" not in messages[0]
    with sessions() as s:
        assert {p.person_id: p.next_due_at for p in s.scalars(select(CheckinPlan))} == {
            maria.id: local(2026, 12, 14, 10, 0), jan.id: local(2026, 12, 17, 10, 0),
            ahmed.id: local(2026, 12, 18, 11, 40)}
    # The same tick again: nothing new, nobody told twice.
    counts, _ = run_sweeps(sessions, local(2026, 12, 11, 12, 0).astimezone(timezone.utc))
    assert counts["checkins"] == 0 and len(occurrences(sessions)) == 4 and len(coordinator_messages(sessions)) == 1


def test_grace_comes_from_the_module_constant(sessions, monkeypatch):
    """Ninety minutes late is within a grace of 120 minutes (set by the runner from settings)."""
    with sessions() as s, s.begin():
        nb, _coord, (maria, _jan) = setup_network(s)
        add_plan(s, nb, maria, [MON], "10:00", after=local(2026, 12, 7, 9, 0))
    monkeypatch.setattr(plans_due, "GRACE", 120)
    run_sweeps(sessions, local(2026, 12, 7, 11, 30).astimezone(timezone.utc))
    assert [o.status for o in occurrences(sessions)] == ["waiting"]


def test_the_plans_coordinator_hears_else_the_neighbourhoods(sessions):
    with sessions() as s, s.begin():
        nb, coord, (maria, jan) = setup_network(s)
        other = Person(neighbourhood_id=nb.id, first_name="Luc", language="fr", is_coordinator=True)
        s.add(other)
        s.flush()
        s.add(ChannelIdentity(channel="demo", address="luc", person_id=other.id, language="fr"))
        add_plan(s, nb, maria, [MON], "10:00", after=local(2026, 12, 7, 9, 0), coordinator_id=other.id)
        add_plan(s, nb, jan, [MON], "10:00", after=local(2026, 12, 7, 9, 0))
    run_sweeps(sessions, local(2026, 12, 8, 12, 0).astimezone(timezone.utc))
    with sessions() as s:
        told = {(r.address, r.language): r.text for r in s.scalars(select(Outbox).where(Outbox.purpose == "alert"))}
    # Luc (the plan's coordinator) hears of Maria only, in French; both coordinators of the
    # neighbourhood hear of Jan, whose plan names none.
    assert set(told) == {("luc", "fr"), ("fatima", "nl")}
    assert "Maria" in told[("luc", "fr")] and "Jan" in told[("luc", "fr")]
    assert "Jan" in told[("fatima", "nl")] and "Maria" not in told[("fatima", "nl")]


def test_paused_and_stopped_plans(sessions):
    """Paused until resumed: never contacted. Paused until Thursday 10 December: not on Monday,
    by itself again on Thursday. Stopped: never. A tick every hour for the week."""
    start = local(2026, 12, 6, 12, 0)
    with sessions() as s, s.begin():
        nb, _coord, (maria, jan, ahmed) = setup_network(s, 3)
        add_plan(s, nb, maria, [MON, THU], after=start, status="paused")
        holiday = add_plan(s, nb, jan, [MON, THU], after=start, status="paused", paused_until=date(2026, 12, 10)).id
        add_plan(s, nb, ahmed, [MON, THU], after=start, status="stopped")
    at = start.astimezone(timezone.utc)
    while at < start + timedelta(days=7):
        at += timedelta(hours=1)
        run_sweeps(sessions, at)
    occ = occurrences(sessions)
    assert [(o.plan_id, o.due_at) for o in occ] == [(holiday, local(2026, 12, 10, 10, 0))]
    assert occ[0].status == "escalated"  # contacted, and (nobody answering) the ladder went on
    with sessions() as s:
        plan = s.get(CheckinPlan, holiday)
        assert plan.status == "active" and plan.paused_until is None and plan.next_due_at == local(2026, 12, 14, 10)


def test_an_active_plan_with_a_pause_date_skips_until_then(sessions):
    with sessions() as s, s.begin():
        nb, _coord, (maria, _jan) = setup_network(s)
        plan_id = add_plan(s, nb, maria, [MON, THU], after=local(2026, 12, 7, 9), paused_until=date(2026, 12, 14)).id
    at = local(2026, 12, 7, 9).astimezone(timezone.utc)
    while at < local(2026, 12, 15, 0):
        at += timedelta(hours=1)
        run_sweeps(sessions, at)
    assert [o.due_at for o in occurrences(sessions)] == [local(2026, 12, 14, 10, 0)]
    with sessions() as s:
        assert s.get(CheckinPlan, plan_id).paused_until is None


def test_a_tick_twice_for_the_same_time_does_nothing_the_second_time(sessions):
    with sessions() as s, s.begin():
        nb, _coord, (maria, jan) = setup_network(s)
        add_plan(s, nb, maria, [MON], after=local(2026, 12, 7, 9))
        add_plan(s, nb, jan, [MON], after=local(2026, 12, 7, 9))
    at = local(2026, 12, 7, 10, 5).astimezone(timezone.utc)
    assert run_sweeps(sessions, at)[0]["checkins"] == 2
    assert run_sweeps(sessions, at)[0]["checkins"] == 0
    assert len(occurrences(sessions)) == 2 and len(attempts(sessions)) == 2


def test_an_occurrence_already_written_is_not_contacted_again(sessions):
    """Another instance wrote the occurrence (and contacted) but this plan row still looks due
    (e.g. its next_due_at was set back): the key stops a second contact."""
    at = local(2026, 12, 7, 10, 5).astimezone(timezone.utc)
    with sessions() as s, s.begin():
        nb, _coord, (maria, _jan) = setup_network(s)
        plan_id = add_plan(s, nb, maria, [MON], after=local(2026, 12, 7, 9)).id
    run_sweeps(sessions, at)
    with sessions() as s, s.begin():
        s.get(CheckinPlan, plan_id).next_due_at = local(2026, 12, 7, 10)
    assert run_sweeps(sessions, at)[0]["checkins"] == 1
    assert len(occurrences(sessions)) == 1 and len(attempts(sessions)) == 1


def test_a_failing_sweep_does_not_stop_the_others_and_runs_are_recorded(sessions, caplog):
    with sessions() as s, s.begin():
        nb, _coord, (maria, _jan) = setup_network(s)
        add_plan(s, nb, maria, [MON], after=local(2026, 12, 7, 9))

    def broken(session, now):
        raise RuntimeError("Maria +32470000000")

    SWEEPS["aaa_broken"] = broken
    try:
        counts, failed = run_sweeps(sessions, local(2026, 12, 7, 10, 1).astimezone(timezone.utc))
    finally:
        del SWEEPS["aaa_broken"]
    assert failed == ["aaa_broken"] and counts["checkins"] == 1
    assert "aaa_broken" in caplog.text and "RuntimeError" in caplog.text and "Maria" not in caplog.text
    with sessions() as s:
        runs = {r.name: r.last_count for r in s.scalars(select(SweepRun))}
    assert runs["checkins"] == 1 and "aaa_broken" not in runs and "expire_requests" in runs


def test_health_reports_last_sweep_and_overdue_rows(sessions):
    ticks = Ticks(sessions, tick_seconds=30)
    now = local(2026, 12, 7, 10, 5).astimezone(timezone.utc)
    with sessions() as s, s.begin():
        nb, _coord, (maria, jan) = setup_network(s)
        add_plan(s, nb, maria, [MON], after=local(2026, 12, 7, 9))
        add_plan(s, nb, jan, [MON], "10:04", after=local(2026, 12, 7, 9))  # due, but less than two ticks ago
    health = ticks.health(now)
    assert health["last_sweep"] is None and health["overdue"] == {"plans": 1, "occurrences": 0, "followups": 0,
                                                                  "timers": 0}
    ticks.tick(now)
    health = ticks.health(now)
    assert health["last_sweep"] is not None and health["overdue"]["plans"] == 0
    # The occurrences wait for the ladder's first step (10 minutes): overdue once that has long passed.
    assert ticks.health(now + timedelta(minutes=20))["overdue"]["occurrences"] == 2
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(CheckinOccurrence)) == 2


def test_the_runner_sets_the_grace_window_from_settings(monkeypatch):
    """CHECKIN_GRACE_MINUTES reaches the sweep through the runner (handlers never read settings)."""
    from bot.settings import Settings
    from scheduler.runner import configure

    monkeypatch.setattr(plans_due, "GRACE", plans_due.GRACE)  # restored afterwards
    monkeypatch.setenv("CHECKIN_GRACE_MINUTES", "95")
    configure(Settings(_env_file=None))
    assert plans_due.GRACE == 95


def test_one_check_in_that_fails_to_go_out_does_not_hold_up_the_others(sessions, caplog):
    """The database refuses the attempt row of Jan's check-in, the only one by SMS (a fault
    injected below SQLAlchemy, as a broken row would be): Maria and Ahmed are contacted all the
    same, Jan's occurrence gets an "error" attempt for the ladder, every plan moves on, and the
    log names no one."""
    from sqlalchemy import event

    with sessions() as s, s.begin():
        nb, _coord, (maria, jan, ahmed) = setup_network(s, 3)
        s.add(ChannelIdentity(channel="sms", address="+32470000003", person_id=jan.id))
        for person in (maria, jan, ahmed):
            add_plan(s, nb, person, [MON], after=local(2026, 12, 7, 9))
        s.flush()
        s.scalar(select(CheckinPlan).where(CheckinPlan.person_id == jan.id)).channel = "sms"
    engine = sessions.kw["bind"]

    def refuse(_conn, _cursor, statement, parameters, *_args):
        if "INSERT INTO checkin_attempts" in statement and "'sms'" in str(parameters) \
                and "'error'" not in str(parameters):
            raise RuntimeError("refused")

    event.listen(engine, "before_cursor_execute", refuse)
    try:
        counts, failed = run_sweeps(sessions, local(2026, 12, 7, 10, 5).astimezone(timezone.utc))
    finally:
        event.remove(engine, "before_cursor_execute", refuse)
    assert failed == [] and counts["checkins"] == 3
    with sessions() as s:
        outcome = {a.person_id: a.outcome for a in s.scalars(select(CheckinAttempt))}
        assert outcome[jan.id] == "error" and outcome[maria.id] != "error" and outcome[ahmed.id] != "error"
        assert set(outcome) == {maria.id, jan.id, ahmed.id}
        assert {p.next_due_at for p in s.scalars(select(CheckinPlan))} == {local(2026, 12, 14, 10)}
    assert "Jan" not in caplog.text and "failed" in caplog.text
