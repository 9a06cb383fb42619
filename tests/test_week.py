"""The coordinator's week (issue 11): who has not been reached this week (Monday 00:00 Brussels
until now) in their own neighbourhood, with a few words of what happened, and one person's whole
timeline by button -- for coordinators of that neighbourhood only; everyone else is refused and
nothing changes."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from bot.demo import seed
from handlers.i18n import format_day, speaking
from handlers.week import WHAT, not_reached
from models import Outbox, Person
from models.base import TZ, utcnow
from models.network import add_neighbourhood
from models.schedules import CheckinAttempt, CheckinOccurrence, CheckinPlan, FollowUp
from models.tasks import week_start
from tests.flowkit import Do, Row, T, count, dispatcher, has, person, play  # noqa: F401  (fixture)
from tests.test_rounds import PEOPLE

#: Thursday 10 December 2026, 12:00 in Brussels; the week began on Monday the 7th.
THURSDAY = datetime(2026, 12, 10, 12, 0, tzinfo=TZ).astimezone(timezone.utc)


def local(day: int, hour: int = 10) -> datetime:
    return datetime(2026, 12, day, hour, 0, tzinfo=TZ).astimezone(timezone.utc)


def test_who_has_not_been_reached_this_week(sessions):
    with sessions() as s, s.begin():
        nb = seed(s)
        other = add_neighbourhood(s, "Elsene", "elsene", ["1050"])
        people = {name: Person(neighbourhood_id=nb.id, first_name=name)
                  for name in ("Maria", "Rosa", "Piet", "Els", "Tom", "Bob", "Ahmed", "Lucie", "Nina")}
        people["Zoe"] = Person(neighbourhood_id=other.id, first_name="Zoe")
        s.add_all(people.values())
        s.flush()
        made = local(1)  # the plans exist since last week

        def plan(name, days, kind="checkin", status="active", nb_id=nb.id):
            row = CheckinPlan(person_id=people[name].id, neighbourhood_id=nb_id, kind=kind,
                              channel="round" if kind == "round" else "demo", days=days, time_local="10:00",
                              status=status, created_at=made)
            s.add(row)
            s.flush()
            return row

        def occ(p, day, status, hour=10):
            row = CheckinOccurrence(key=f"checkin:{p.id}:{day}:{hour}", plan_id=p.id, person_id=p.person_id,
                                    due_at=local(day, hour), status=status)
            s.add(row)
            s.flush()
            return row

        occ(plan("Maria", [0]), 7, "answered")                      # reached
        rosa = plan("Rosa", [0, 2])
        occ(rosa, 4, "answered")                                     # last week's answer does not count
        o = occ(rosa, 7, "escalated")
        s.add(FollowUp(kind="lookin", person_id=rosa.person_id, neighbourhood_id=nb.id,
                       assignee_id=people["Ahmed"].id, occurrence_id=o.id, status="acknowledged"))
        occ(plan("Piet", [1]), 8, "missed_by_system")
        plan("Els", [2])                                             # due Wednesday, no occurrence at all
        plan("Tom", [4])                                             # due Friday: not yet
        plan("Nina", [0], status="paused")                           # paused: not expected
        bob = plan("Bob", [1], kind="round")
        o = occ(bob, 8, "waiting")
        s.add(FollowUp(kind="round", person_id=bob.person_id, neighbourhood_id=nb.id, assignee_id=people["Lucie"].id,
                       occurrence_id=o.id, status="acknowledged", outcome="later"))
        occ(plan("Zoe", [0], nb_id=other.id), 7, "waiting")          # another neighbourhood
        occ(plan("Ahmed", [0]), 7, "closed")                         # closed without a hello (capped): not reached
        lucie = plan("Lucie", [0])
        o = occ(lucie, 7, "closed")                                  # closed by a buddy who saw her: reached
        s.add(FollowUp(kind="lookin", person_id=lucie.person_id, neighbourhood_id=nb.id,
                       assignee_id=people["Tom"].id, occurrence_id=o.id, status="done", outcome="all_well"))
        occ(plan("Maria", [3], kind="round"), 10, "waiting", hour=13)  # later today: not yet due

        got = [(p.first_name, what, helper) for p, what, helper in not_reached(s, nb.id, THURSDAY)]
        assert got == [("Ahmed", "no_contact", None), ("Bob", "round_later", "Lucie"), ("Els", "no_contact", None),
                       ("Piet", "missed", None), ("Rosa", "lookin_going", "Ahmed")]
        assert [p.first_name for p, *_r in not_reached(s, other.id, THURSDAY)] == ["Zoe"]
        # on Monday at 09:00 nothing was due yet
        assert not_reached(s, nb.id, local(7, 9)) == []
        assert week_start(THURSDAY) == datetime(2026, 12, 7, 0, 0, tzinfo=TZ)


def _week_story(s, v):
    """Maria's check-in this week was not answered and Ahmed is going; Rosa's was answered."""
    now = utcnow()
    due = max(week_start(now).astimezone(timezone.utc), now - timedelta(minutes=5))
    nb_id = person(s, "maria").neighbourhood_id
    for who, status in (("maria", "escalated"), ("rosa", "answered")):
        p = person(s, who)
        plan = CheckinPlan(person_id=p.id, neighbourhood_id=nb_id, channel="demo", days=[0], time_local="10:00",
                           created_at=now - timedelta(days=8))
        s.add(plan)
        s.flush()
        occ = CheckinOccurrence(key=f"checkin:{plan.id}:x", plan_id=plan.id, person_id=p.id, due_at=due, status=status)
        s.add(occ)
        s.flush()
        s.add(CheckinAttempt(occurrence_id=occ.id, person_id=p.id, at=due, step="checkin", outcome="queued"))
        if who == "maria":
            s.add(FollowUp(kind="lookin", person_id=p.id, neighbourhood_id=nb_id, assignee_id=person(s, "ahmed").id,
                           occurrence_id=occ.id, status="acknowledged", created_at=due))
            v["due"] = due


def test_week_and_timeline_through_the_chat_in_dutch_and_french(chat):
    def timeline_lines(lang):
        def check(s, v):
            with speaking(lang):
                v[f"when_{lang}"] = format_day(v["due"])
        return check

    v = play(chat, PEOPLE + [
        Do(_week_story),
        Do(lambda s, v: setattr(person(s, "coordinator"), "language", "nl")),
        Row("coordinator", "/week",
            reply=has(T("{number}. {name}: {what}", "nl", number=1, name="Maria",
                        what=str(T(WHAT["lookin_going"], "nl", helper="Ahmed"))),
                      lacks=("Rosa",), options=(lambda v: f"wk:{v['_pid']('maria')}", "menu"),
                      no_options=(lambda v: f"wk:{v['_pid']('rosa')}",))),
        Row("sophie", "/semaine",
            reply=has(T("{number}. {name}: {what}", "fr", number=1, name="Maria",
                        what=str(T(WHAT["lookin_going"], "fr", helper="Ahmed"))), lacks=("Rosa",))),
        Row("sophie", payload="wk", reply=has(options=(lambda v: f"wk:{v['_pid']('maria')}",))),
        Do(timeline_lines("fr")),
        Do(timeline_lines("nl")),
        Row("sophie", payload=lambda v: f"wk:{v['_pid']('maria')}",
            reply=has(T("Timeline of {name}", "fr", name="Maria"), "+3225551234",
                      lambda v: str(T("{when}: {what}", "fr", when=v["when_fr"], what=str(T("check-in due", "fr"))))
                      + " · " + str(T("passed on to a person", "fr")),
                      lambda v: str(T("task “{task}” for {helper}: {status}", "fr", task=str(T("look in at the door",
                                                                                                 "fr")),
                                      helper="Ahmed", status=str(T("accepted", "fr")))),
                      lambda v: str(T("check-in", "fr")) + ": " + str(T("sent", "fr")))),
        Row("coordinator", payload=lambda v: f"wk:{v['_pid']('rosa')}",
            reply=has(T("Timeline of {name}", "nl", name="Rosa"),
                      lambda v: v["when_nl"] + ": " + str(T("check-in due", "nl")) + " · " + str(T("answered", "nl")))),
    ])
    assert v


def test_week_views_are_for_the_neighbourhoods_coordinators_only(chat):
    def unchanged(s, v):
        assert count(s, CheckinOccurrence) == 2 and count(s, FollowUp) == 1
        assert s.scalar(select(FollowUp.status)) == "acknowledged"
        assert not s.scalars(select(Outbox).where(Outbox.purpose == "alert")).first()

    maria = lambda v: f"wk:{v['_pid']('maria')}"  # noqa: E731
    rows = [Do(_week_story)]
    for who, lang in (("jan", "nl"), ("ahmed", "nl"), ("lucie", "fr"), ("maria", "nl")):
        for pressed in ("wk", maria):
            rows.append(Row(who, payload=pressed, reply=has(T("Sorry, only coordinators can do that.", lang),
                                                            lacks=("Maria:", "Ahmed")),
                            silent=("coordinator", "sophie"), db=unchanged))
        rows.append(Row(who, "/week", reply=has(T("Sorry, only coordinators can do that.", lang)), db=unchanged))
    rows += [
        # a coordinator of another neighbourhood: their own (empty) week, never Maria's timeline
        Row("kees", "/week", reply=has(T("Everyone with a check-in or a phone round was reached this week. 🌻", "nl"),
                                       lacks=("Maria",))),
        Row("kees", payload=maria, reply=has(T("Sorry, only coordinators of this neighbourhood can do that.", "nl"),
                                             lacks=("+3225551234",)), db=unchanged),
        Row("kees", payload="wk:abc", reply=has(T("Sorry, only coordinators of this neighbourhood can do that.", "nl")),
            db=unchanged),
    ]
    play(chat, PEOPLE + rows)
