"""Human phone rounds (issue 11): a coordinator assigns a weekly call from the chat; the caller is
reminded with a first name and a number and logs how it went by button (all well / call back
later / worried -> the coordinator, as an alert they can take); a missing outcome is reminded
once, then shown to the coordinator. Only the caller logs, only coordinators assign.
The clock is explicit: ``remind_caller(session, occ, now)`` and ``sweep_rounds(session, now)``."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from handlers.rounds import REMIND_AFTER, remind_caller, save_round, sweep_rounds
from handlers.sweeps import SWEEPS
from models import Alert, Person
from models.base import TZ, utcnow
from models.network import add_neighbourhood, create_invite, neighbourhood_by_slug
from models.schedules import CheckinAttempt, CheckinOccurrence, CheckinPlan, FollowUp
from tests.flowkit import Do, Row, T, count, dispatcher, has, person, play, resident, volunteer  # noqa: F401

#: Monday 7 December 2026, 10:00 in Brussels.
MONDAY = datetime(2026, 12, 7, 10, 0, tzinfo=TZ).astimezone(timezone.utc)
PHONES = {"maria": "+3225551234", "rosa": "+3225559876"}


def coordinator(who, name, lang, slug="demo"):
    """Another coordinator of ``slug`` (the seeded one is "coordinator", Fatima, in English)."""
    def invite(s, v):
        nb = neighbourhood_by_slug(s, slug) or add_neighbourhood(s, "Elsene", slug, ["1050"])
        v[f"code_{who}"] = create_invite(s, nb, "coordinator").code
    return [Do(invite), Row(who, lambda v: f"/start {v[f'code_{who}']}"), Row(who, payload=f"lang:{lang}"),
            Row(who, payload="yes"), Row(who, name)]


def phones(s, v):
    for who, phone in PHONES.items():
        person(s, who).phone = phone
    for who in ("maria", "rosa", "ahmed", "lucie", "jan", "sophie", "kees", "coordinator"):
        v[who] = person(s, who).id


PEOPLE = (coordinator("sophie", "Sophie", "fr") + coordinator("kees", "Kees", "nl", slug="elsene")
          + resident("maria", "Maria", "nl") + resident("rosa", "Rosa", "fr") + resident("jan", "Jan", "nl")
          + volunteer("ahmed", "Ahmed", "nl") + volunteer("lucie", "Lucie", "fr") + [Do(phones)])


def setup(chat, *rows) -> dict:
    """Everyone joined, the given setup done, and every inbox read."""
    v = play(chat, PEOPLE + list(rows))
    for who in ("maria", "rosa", "ahmed", "lucie", "jan", "sophie", "kees", "coordinator"):
        chat.new(who)
    return v


def plan_of(s, who) -> CheckinPlan:
    return s.scalar(select(CheckinPlan).where(CheckinPlan.person_id == person(s, who).id,
                                              CheckinPlan.kind == "round"))


def no_round(who):
    def check(s, v):
        assert plan_of(s, who) is None, f"{who} has a round"
    return check


def occurrence(s, plan: CheckinPlan, at: datetime) -> CheckinOccurrence:
    """What the check-in sweep writes when a plan falls due (the engine's; written here by hand)."""
    occ = CheckinOccurrence(key=f"checkin:{plan.id}:{at.astimezone(TZ).isoformat()[:16]}", plan_id=plan.id,
                            person_id=plan.person_id, due_at=at, status="waiting", next_at=at)
    s.add(occ)
    s.flush()
    return occ


def assign(s, who, caller, coordinator_who="sophie", days=(0,)):
    save_round(s, person(s, coordinator_who), person(s, who), person(s, caller), list(days), MONDAY - timedelta(days=7))


def round_fu(s, who) -> FollowUp:
    return s.scalar(select(FollowUp).where(FollowUp.person_id == person(s, who).id, FollowUp.kind == "round")
                    .order_by(FollowUp.id.desc()).limit(1))


def test_a_coordinator_assigns_a_round_from_the_chat_in_french(chat):
    def saved(s, v):
        plan = plan_of(s, "maria")
        assert (plan.kind, plan.channel, plan.status, plan.caller_id, plan.coordinator_id, plan.days) == \
            ("round", "round", "active", v["ahmed"], v["sophie"], [0, 3])
        assert plan.consent_by == "Sophie" and plan.consent_at is not None and plan.ladder == []
        due = plan.next_due_at.astimezone(TZ)
        assert due.weekday() in (0, 3) and (due.hour, due.minute) == (10, 0) and plan.next_due_at > utcnow()

    play(chat, PEOPLE + [
        Row("sophie", payload="coord", reply=has(options=("rd:new", "wk"))),
        Row("sophie", payload="rd:new", reply=has(T("Phone rounds: whom should a volunteer phone every week?", "fr"),
                                                  options=(lambda v: f"rdp:{v['maria']}",
                                                           lambda v: f"rdp:{v['rosa']}"),
                                                  no_options=(lambda v: f"rdp:{v['jan']}",))),  # Jan: no phone
        Row("sophie", payload=lambda v: f"rdp:{v['maria']}",
            reply=has(T("Who will phone {name}?", "fr", name="Maria"),
                      options=(lambda v: f"rdc:{v['ahmed']}", lambda v: f"rdc:{v['lucie']}"))),
        Row("sophie", payload=lambda v: f"rdc:{v['ahmed']}",
            reply=has("Ahmed", "Maria", options=("rdd:0", "rdd:done"))),
        Row("sophie", payload="rdd:0", reply=has(": lundi")),
        Row("sophie", "4", reply=has(": lundi, jeudi")),  # a typed number is the fourth button
        Row("sophie", payload="rdd:done", reply=has(T("Has {name} agreed to a call from {caller} every week?", "fr",
                                                      name="Maria", caller="Ahmed"), options=("yes", "no")),
            db=no_round("maria")),
        Row("sophie", "oui",  # typed
            reply=has(T("Done: {caller} will phone {name} every {days}. {caller} gets a reminder with the number on "
                        "those days.", "fr", caller="Ahmed", name="Maria", days="lundi, jeudi")),
            told={"ahmed": has(T("{coordinator} asked you to phone {name} every {days}. On those days I will send you "
                                 "the number, and you tell me how it went.", "nl", coordinator="Sophie", name="Maria",
                                 days="maandag, donderdag"), lacks=(PHONES["maria"],))},
            silent=("maria",), db=saved),
    ])


def test_no_consent_no_round(chat):
    play(chat, PEOPLE + [
        Row("sophie", payload="rd:new"),
        Row("sophie", payload=lambda v: f"rdp:{v['rosa']}"),
        Row("sophie", payload=lambda v: f"rdc:{v['lucie']}"),
        Row("sophie", payload="rdd:done", reply=has(options=("rdd:done",))),  # no day chosen yet: asked again
        Row("sophie", payload="rdd:2"),
        Row("sophie", payload="rdd:done"),
        Row("sophie", payload="no", reply=has(T("All right, no round for now. A round starts only when {name} agrees.",
                                                "fr", name="Rosa")),
            silent=("lucie", "rosa"), db=no_round("rosa")),
    ])


def test_all_well_is_logged_and_answers_the_occurrence(chat):
    v = setup(chat, Do(lambda s, v: assign(s, "maria", "ahmed")))
    with chat.sessions() as s, s.begin():
        occ = occurrence(s, plan_of(s, "maria"), MONDAY)
        assert remind_caller(s, occ, MONDAY) is True
        assert remind_caller(s, occ, MONDAY) is True  # a second call for the same occurrence: nothing twice
        assert count(s, FollowUp) == 1 and occ.next_at is None
        fu = round_fu(s, "maria")
        assert (fu.assignee_id, fu.status, fu.next_at, fu.reminded) == (v["ahmed"], "open", MONDAY + REMIND_AFTER, 0)
        v["fu"], v["occ"] = fu.id, occ.id
    got = chat.new("ahmed")
    assert len(got) == 1
    assert T("This week, please call {name}: {phone}. How did it go?", "nl", name="Maria",
             phone=PHONES["maria"]).__str__() == got[0]["text"]
    assert [o["payload"] for o in got[0]["options"]] == [f"rd:well:{v['fu']}", f"rd:later:{v['fu']}",
                                                          f"rd:worried:{v['fu']}"]
    assert not chat.new("maria")

    def logged(s, v):
        fu, occ = s.get(FollowUp, v["fu"]), s.get(CheckinOccurrence, v["occ"])
        assert (fu.status, fu.outcome, fu.next_at) == ("done", "all_well", None) and fu.closed_at is not None
        assert (occ.status, occ.answer) == ("answered", "ok")
        assert s.scalar(select(func.count()).where(CheckinAttempt.followup_id == fu.id,
                                                   CheckinAttempt.outcome == "all_well")) == 1

    play(chat, [
        Row("ahmed", payload=lambda v: f"rd:well:{v['fu']}",
            reply=has(T("Thank you! Noted: all is well with {name}.", "nl", name="Maria")),
            silent=("coordinator", "sophie", "maria"), db=logged),
        Row("ahmed", payload=lambda v: f"rd:worried:{v['fu']}",
            reply=has(T("Thank you, this call is already noted.", "nl")), silent=("sophie",), db=logged),
    ], v)


def test_worried_goes_to_the_plans_coordinator_as_an_alert_in_french(chat):
    v = setup(chat, Do(lambda s, v: assign(s, "rosa", "lucie", coordinator_who="sophie")))
    with chat.sessions() as s, s.begin():
        occ = occurrence(s, plan_of(s, "rosa"), MONDAY)
        remind_caller(s, occ, MONDAY)
        v["fu"], v["occ"] = round_fu(s, "rosa").id, occ.id
    assert chat.new("lucie")[0]["text"] == str(T("This week, please call {name}: {phone}. How did it go?", "fr",
                                                 name="Rosa", phone=PHONES["rosa"]))

    def escalated(s, v):
        fu, occ = s.get(FollowUp, v["fu"]), s.get(CheckinOccurrence, v["occ"])
        assert (fu.status, fu.outcome, occ.status, occ.next_at) == ("escalated", "worried", "escalated", None)
        v["alert"] = s.scalar(select(func.max(Alert.id)))
        assert s.get(Alert, v["alert"]).phone == PHONES["rosa"]

    play(chat, [
        Row("lucie", payload=lambda v: f"rd:worried:{v['fu']}",
            reply=has(T("Thank you for telling me. I have passed it on to the coordinator. If you think {name} is in "
                        "danger, call 112.", "fr", name="Rosa")),
            told={"sophie": has(T("{caller} phoned {name} and is worried. Could you contact {name}?", "fr",
                                  caller="Lucie", name="Rosa"), PHONES["rosa"], options=("alert:take:",))},
            silent=("coordinator", "rosa", "kees"), db=escalated),
        Row("sophie", payload=lambda v: f"alert:take:{v['alert']}",
            reply=has(T("Thank you, you take care of {name}.", "fr", name="Rosa"))),
    ], v)


def test_a_missing_outcome_is_reminded_once_then_shown_to_the_coordinator(chat):
    v = setup(chat, Do(lambda s, v: assign(s, "maria", "ahmed", coordinator_who="coordinator")))
    with chat.sessions() as s, s.begin():
        remind_caller(s, occurrence(s, plan_of(s, "maria"), MONDAY), MONDAY)
        v["fu"] = round_fu(s, "maria").id
    chat.new("ahmed")
    with chat.sessions() as s, s.begin():
        assert sweep_rounds(s, MONDAY + timedelta(days=1)) == 0  # not yet
    assert not chat.new("ahmed")
    with chat.sessions() as s, s.begin():
        assert SWEEPS["rounds"] is sweep_rounds
        assert sweep_rounds(s, MONDAY + REMIND_AFTER) == 1
        fu = s.get(FollowUp, v["fu"])
        assert (fu.reminded, fu.status, fu.next_at) == (1, "open", MONDAY + 2 * REMIND_AFTER)
    reminder = chat.new("ahmed")
    assert len(reminder) == 1 and reminder[0]["text"] == str(T(
        "A reminder: how did your call to {name} go? Their number: {phone}", "nl", name="Maria", phone=PHONES["maria"]))
    assert not chat.new("coordinator")
    with chat.sessions() as s, s.begin():
        assert sweep_rounds(s, MONDAY + 2 * REMIND_AFTER - timedelta(minutes=1)) == 0
        assert sweep_rounds(s, MONDAY + 2 * REMIND_AFTER) == 1
        fu = s.get(FollowUp, v["fu"])
        occ = s.get(CheckinOccurrence, fu.occurrence_id)
        assert (fu.status, fu.outcome, fu.next_at, occ.status) == ("escalated", "no_outcome", None, "escalated")
    told = chat.new("coordinator")
    assert len(told) == 1 and str(T("{caller} has not said how this week's call to {name} went. Could you check on "
                                    "{name}?", "en", caller="Ahmed", name="Maria")) in told[0]["text"]
    assert PHONES["maria"] in told[0]["text"] and told[0]["options"][0]["payload"].startswith("alert:take:")
    assert not chat.new("ahmed") and not chat.new("sophie")  # the plan's own coordinator only
    with chat.sessions() as s, s.begin():
        assert sweep_rounds(s, MONDAY + 10 * REMIND_AFTER) == 0  # nothing twice
    assert not chat.new("coordinator")

    def answered(s, v):
        fu = s.get(FollowUp, v["fu"])
        assert (fu.status, fu.outcome, s.get(CheckinOccurrence, fu.occurrence_id).status) == \
            ("done", "all_well", "answered")

    # Ahmed answers after all: logged, and the coordinator need not worry any more
    play(chat, [
        Row("ahmed", payload=lambda v: f"rd:well:{v['fu']}",
            reply=has(T("Thank you! Noted: all is well with {name}.", "nl", name="Maria")),
            told={"coordinator": has(T("{caller} says all is well with {name} after all.", "en", caller="Ahmed",
                                       name="Maria"))}, silent=("sophie",), db=answered),
        Row("ahmed", payload=lambda v: f"rd:later:{v['fu']}", reply=has(T("Thank you, this call is already noted.",
                                                                           "nl")),
            silent=("coordinator",), db=answered),
    ], v)


def test_call_back_later_keeps_the_buttons_and_is_reminded(chat):
    v = setup(chat, Do(lambda s, v: assign(s, "maria", "ahmed")))
    with chat.sessions() as s, s.begin():
        remind_caller(s, occurrence(s, plan_of(s, "maria"), MONDAY), MONDAY)
        v["fu"] = round_fu(s, "maria").id
    chat.new("ahmed")
    before = utcnow()
    play(chat, [Row("ahmed", payload=lambda v: f"rd:later:{v['fu']}",
                    reply=has(T("All right. Please try {name} again later, and tell me here how it went.", "nl",
                                name="Maria"), options=(lambda v: f"rd:well:{v['fu']}",)), silent=("sophie",))], v)
    with chat.sessions() as s, s.begin():
        fu = s.get(FollowUp, v["fu"])
        assert (fu.status, fu.outcome, fu.reminded) == ("acknowledged", "later", 0)
        assert before + REMIND_AFTER <= fu.next_at <= utcnow() + REMIND_AFTER
        assert s.get(CheckinOccurrence, fu.occurrence_id).status == "waiting"
        at = fu.next_at
        assert sweep_rounds(s, at) == 1
        assert s.get(FollowUp, v["fu"]).reminded == 1
    assert chat.new("ahmed")[0]["options"][0]["payload"] == f"rd:well:{v['fu']}"


def test_the_caller_is_not_woken_at_night(chat):
    night = datetime(2026, 12, 7, 22, 30, tzinfo=TZ).astimezone(timezone.utc)
    morning = datetime(2026, 12, 8, 8, 0, tzinfo=TZ).astimezone(timezone.utc)
    v = setup(chat, Do(lambda s, v: assign(s, "maria", "ahmed")))
    with chat.sessions() as s, s.begin():
        assert remind_caller(s, occurrence(s, plan_of(s, "maria"), night), night) is True
        fu = round_fu(s, "maria")
        v["fu"] = fu.id
        assert fu.next_at == morning
    assert not chat.new("ahmed")
    with chat.sessions() as s, s.begin():
        assert sweep_rounds(s, morning - timedelta(minutes=1)) == 0
        assert sweep_rounds(s, morning) == 1
        fu = s.get(FollowUp, v["fu"])
        assert (fu.reminded, fu.next_at) == (0, morning + REMIND_AFTER)
    assert "Maria" in chat.new("ahmed")[0]["text"]


def test_a_caller_who_is_no_longer_approved_hands_the_call_to_the_coordinator(chat):
    v = setup(chat, Do(lambda s, v: assign(s, "maria", "ahmed")))
    with chat.sessions() as s, s.begin():
        s.get(Person, v["ahmed"]).volunteer_status = "paused"
        assert remind_caller(s, occurrence(s, plan_of(s, "maria"), MONDAY), MONDAY) is False
        assert round_fu(s, "maria").status == "escalated"
    assert not chat.new("ahmed")
    assert str(T("Nobody could be asked to make this week's call to {name}. Could you phone {name}?", "fr",
                 name="Maria")) in chat.new("sophie")[0]["text"]


def test_only_the_caller_logs_a_call_and_others_change_nothing(chat):
    v = setup(chat, Do(lambda s, v: assign(s, "maria", "ahmed")))
    with chat.sessions() as s, s.begin():
        remind_caller(s, occurrence(s, plan_of(s, "maria"), MONDAY), MONDAY)
        v["fu"] = round_fu(s, "maria").id
        v["attempts"] = count(s, CheckinAttempt)

    def unchanged(s, v):
        fu = s.get(FollowUp, v["fu"])
        assert (fu.status, fu.outcome) == ("open", None) and count(s, CheckinAttempt) == v["attempts"]
        assert count(s, Alert) == 0 and s.get(CheckinOccurrence, fu.occurrence_id).status == "waiting"

    rows = []
    for who, lang in (("jan", "nl"), ("lucie", "fr"), ("kees", "nl"), ("sophie", "fr"), ("coordinator", "en")):
        for what in ("well", "later", "worried"):
            rows.append(Row(who, payload=lambda v, what=what: f"rd:{what}:{v['fu']}",
                            reply=has(T("Sorry, this call was given to someone else.", lang)),
                            silent=("ahmed", "maria", "sophie") if who != "sophie" else ("ahmed", "maria"),
                            db=unchanged))
    for who, lang in (("jan", "nl"), ("lucie", "fr"), ("ahmed", "nl")):
        rows.append(Row(who, payload="rd:new", reply=has(T("Sorry, only coordinators can do that.", lang)),
                        db=no_round("rosa")))
    rows += [
        Row("ahmed", payload="rd:well:999999", reply=has(T("Sorry, that is not possible (any more).", "nl")),
            db=unchanged),
        Row("ahmed", payload="rd:well:x", reply=has(T("Sorry, that is not possible (any more).", "nl")), db=unchanged),
        # a person of another neighbourhood is never offered, nor taken when sent by hand
        Row("kees", payload="rd:new", reply=has(T("Nobody in your neighbourhood has a phone number yet. Enrol someone "
                                                  "with their number first.", "nl"))),
        Row("kees", payload=lambda v: f"rdp:{v['maria']}", reply=has(T("This button is no longer valid.", "nl"))),
    ]
    play(chat, rows, v)


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_two_instances_never_remind_a_caller_twice(chat, engine):
    """The rows one instance's sweep holds are skipped by another's (FOR UPDATE SKIP LOCKED)."""
    v = setup(chat, Do(lambda s, v: assign(s, "maria", "ahmed")), Do(lambda s, v: assign(s, "rosa", "lucie")))
    with chat.sessions() as s, s.begin():
        for who in ("maria", "rosa"):
            remind_caller(s, occurrence(s, plan_of(s, who), MONDAY), MONDAY)
    chat.new("ahmed"), chat.new("lucie")
    due = MONDAY + REMIND_AFTER
    first, second = chat.sessions(), chat.sessions()
    with first.begin():
        assert sweep_rounds(first, due) == 2
        with second.begin():
            assert sweep_rounds(second, due) == 0  # both rows are the first instance's while it works
    with second.begin():
        assert sweep_rounds(second, due) == 0  # and done once it committed
    first.close(), second.close()
    assert len(chat.new("ahmed")) == 1 and len(chat.new("lucie")) == 1
    assert v


def test_a_long_list_is_searched_by_typing_the_first_letters(chat):
    hint = "Not in the list? Type the first letters of their first name."
    names = ["Anna", "Bert", "Carla", "Dirk", "Emma", "Frans", "Greet", "Hilde", "Ines", "Zoë"]

    def many(s, v):
        nb_id = person(s, "maria").neighbourhood_id
        for name in names:
            s.add(Person(neighbourhood_id=nb_id, first_name=name, phone="+3225550000", is_resident=True))
        s.flush()
        v["zoe"] = s.scalar(select(Person.id).where(Person.first_name == "Zoë"))

    play(chat, PEOPLE + [
        Do(many),
        Row("sophie", payload="rd:new", reply=has(T(hint, "fr"), options=("rdp:",),
                                                  no_options=(lambda v: f"rdp:{v['zoe']}",))),
        Row("sophie", "zo", reply=has(options=(lambda v: f"rdp:{v['zoe']}",),
                                      no_options=(lambda v: f"rdp:{v['maria']}",),
                                      lacks=(T(hint, "fr"),))),
        Row("sophie", "1", reply=has(T("Who will phone {name}?", "fr", name="Zoë"))),
    ])


def test_a_caller_on_a_typed_only_screen_answers_with_a_number(chat):
    v = setup(chat, Do(lambda s, v: assign(s, "maria", "ahmed")))
    with chat.sessions() as s, s.begin():
        remind_caller(s, occurrence(s, plan_of(s, "maria"), MONDAY), MONDAY)
        v["fu"] = round_fu(s, "maria").id
    chat.new("ahmed")
    play(chat, [Row("ahmed", "1", reply=has(T("Thank you! Noted: all is well with {name}.", "nl", name="Maria")),
                    db=lambda s, v: None if s.get(FollowUp, v["fu"]).status == "done" else pytest.fail("not done"))], v)


def test_a_round_paused_meanwhile_is_not_chased(chat):
    v = setup(chat, Do(lambda s, v: assign(s, "maria", "ahmed")))
    with chat.sessions() as s, s.begin():
        remind_caller(s, occurrence(s, plan_of(s, "maria"), MONDAY), MONDAY)
        v["fu"] = round_fu(s, "maria").id
        plan_of(s, "maria").status = "paused"  # Maria is in hospital
    chat.new("ahmed")
    with chat.sessions() as s, s.begin():
        assert sweep_rounds(s, MONDAY + REMIND_AFTER) == 1
        fu = s.get(FollowUp, v["fu"])
        assert (fu.status, fu.outcome, fu.next_at) == ("done", "skipped", None)
        assert sweep_rounds(s, MONDAY + 3 * REMIND_AFTER) == 0
    assert not chat.new("ahmed") and not chat.new("sophie")
