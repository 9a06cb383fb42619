"""The weekly hello and its ladder, with a fake clock: plans and occurrences are rows made
here, contact() and the sweeps are called with an explicit ``now``, and every answer goes
through the real dispatcher on the demo channel (SQLite and PostgreSQL)."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from handlers.checkins import answer_by_voice, call_ended, contact, sweep_ladder, voicemail_text
from handlers.followups import sweep_followups
from models import ChannelIdentity, Outbox, Person
from models.base import TZ, utcnow
from models.network import neighbourhood_by_slug
from models.schedules import CheckinAttempt, CheckinOccurrence, CheckinPlan, FollowUp
from tests.flowkit import T

#: Tomorrow 10:00 in Brussels: the check-in's due time (the clock the sweeps are given).
T0 = datetime.combine(datetime.now(TZ).date() + timedelta(days=1), datetime.min.time(), tzinfo=TZ) \
    .replace(hour=10).astimezone(TZ)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def add(session, name: str, *identities: tuple[str, str], language: str = "nl", **flags) -> Person:
    nb = neighbourhood_by_slug(session, "demo")
    person = Person(neighbourhood_id=nb.id, first_name=name, language=language, consent_at=utcnow(),
                    consent_version="test", **flags)
    session.add(person)
    session.flush()
    for n, (channel, address) in enumerate(identities):
        session.add(ChannelIdentity(channel=channel, address=address, person_id=person.id, language=language,
                                    last_inbound_at=utcnow() - timedelta(minutes=10 - n)))
    session.flush()
    return person


def setup(chat, *, buddy: bool = True, second: bool = False, channel: str = "demo", language: str = "nl",
          **flags) -> dict:
    """Maria (Kerkstraat 12), a plan from "Fatima van het wijkhuis", maybe Jan as her buddy,
    and today's occurrence, contacted at T0. Returns the ids."""
    with chat.sessions() as s, s.begin():
        identities = [("demo", "maria")] if channel == "demo" else [(channel, "+3225551234")]
        if second:
            identities.append(("sms", "+32470111222"))
        maria = add(s, "Maria", *identities, language=language, address_full="Kerkstraat 12, 1040 Etterbeek",
                    phone="+3225551234", is_resident=True, **flags)
        jan = add(s, "Jan", ("demo", "jan"), is_volunteer=True, volunteer_status="approved") if buddy else None
        plan = CheckinPlan(person_id=maria.id, neighbourhood_id=maria.neighbourhood_id, channel=channel, days=[0],
                           time_local="10:00", sender_name="Fatima van het wijkhuis",
                           buddy_id=jan.id if jan else None)
        s.add(plan)
        s.flush()
        occ = CheckinOccurrence(key=f"checkin:{plan.id}:{T0.isoformat()[:16]}", plan_id=plan.id, person_id=maria.id,
                                due_at=T0, status="waiting")
        s.add(occ)
        s.flush()
        assert contact(s, occ, T0, step="checkin") is True
        return {"occ": occ.id, "plan": plan.id, "maria": maria.id, "jan": jan.id if jan else None}


def sweep(chat, fn, minutes: int) -> int:
    with chat.sessions() as s, s.begin():
        return fn(s, at(minutes))


def buddy_is_going(chat, ids) -> FollowUp:
    """Maria did not answer; the ladder reached Jan, who pressed "I'm going"."""
    for minutes in (10, 20):
        sweep(chat, sweep_ladder, minutes)
    fu = followup(chat, ids)
    chat.send("jan", payload=f"fu:go:{fu.id}")
    return fu


def occurrence(chat, ids) -> CheckinOccurrence:
    with chat.sessions() as s:
        return s.get(CheckinOccurrence, ids["occ"])


def timeline(chat, ids) -> list[tuple[str, str]]:
    with chat.sessions() as s:
        return [(a.step, a.outcome) for a in s.scalars(select(CheckinAttempt).where(
            CheckinAttempt.occurrence_id == ids["occ"]).order_by(CheckinAttempt.id))]


def followup(chat, ids) -> FollowUp:
    with chat.sessions() as s:
        return s.scalars(select(FollowUp).where(FollowUp.occurrence_id == ids["occ"]).order_by(FollowUp.id)).first()


def texts(msgs) -> list[str]:
    return [m["text"] for m in msgs]


def payloads_of(msg) -> list[str]:
    return [o["payload"] for o in msg["options"]]


def test_answered_at_once_by_button_stops_the_ladder(chat):
    ids = setup(chat)
    [hello] = chat.new("maria")
    assert hello["text"].startswith(str(T("Good morning {name}, this is {sender}.", "nl", name="Maria",
                                          sender="Fatima van het wijkhuis")))
    assert payloads_of(hello) == [f"ci:ok:{ids['occ']}", f"ci:call:{ids['occ']}", f"ci:help:{ids['occ']}"]
    assert occurrence(chat, ids).next_at == at(10)
    got = chat.send("maria", payload=f"ci:ok:{ids['occ']}")
    assert str(T("Thank you, {name}! Good to hear. Have a nice day.", "nl", name="Maria")) in texts(got)
    occ = occurrence(chat, ids)
    assert (occ.status, occ.answer, occ.next_at) == ("answered", "ok", None)
    assert sweep(chat, sweep_ladder, 30) == 0
    assert chat.new("maria") == [] and chat.new("jan") == []
    assert timeline(chat, ids) == [("checkin", "queued"), ("answer", "ok")]


@pytest.mark.parametrize("typed, language", [("1", "nl"), ("ja", "nl"), ("Oui", "fr")])
def test_answered_by_typed_1_or_yes(chat, typed, language):
    ids = setup(chat, language=language)
    chat.new("maria")
    got = chat.send("maria", typed)
    assert str(T("Thank you, {name}! Good to hear. Have a nice day.", language, name="Maria")) in texts(got)
    assert occurrence(chat, ids).answer == "ok"


def test_writing_something_else_is_being_reached(chat):
    ids = setup(chat)
    chat.new("maria")
    chat.send("maria", "Niet zo goed. Ik heb deze week nog met niemand gesproken en ik voel me eenzaam.")
    assert chat.new("coordinator"), "the loneliness words reach the coordinator, as everywhere"
    assert sweep(chat, sweep_ladder, 10) == 1
    assert chat.new("maria") == [] and chat.new("jan") == []  # no "All well?" again, nobody at the door
    occ = occurrence(chat, ids)
    assert (occ.status, occ.answer, occ.next_at) == ("answered", "wrote", None)


def test_retry_second_channel_buddy_goes_all_well(chat):
    ids = setup(chat, second=True)
    chat.new("maria")
    assert sweep(chat, sweep_ladder, 9) == 0  # not yet
    assert sweep(chat, sweep_ladder, 10) == 1
    [again] = chat.new("maria")
    assert payloads_of(again)[0] == f"ci:ok:{ids['occ']}"
    assert sweep(chat, sweep_ladder, 20) == 1
    with chat.sessions() as s:
        sms = s.scalars(select(Outbox).where(Outbox.channel == "sms")).all()
        assert [(r.address, r.purpose) for r in sms] == [("+32470111222", "checkin")]
    assert chat.new("jan") == []
    assert sweep(chat, sweep_ladder, 30) == 1
    [ask] = chat.new("jan")
    assert "Maria" in ask["text"] and "Kerkstraat 12" in ask["text"] and "+3225551234" in ask["text"]
    assert "1040" not in ask["text"] and "Etterbeek" not in ask["text"]  # street and number, nothing more
    fu = followup(chat, ids)
    assert payloads_of(ask) == [f"fu:go:{fu.id}", f"fu:cant:{fu.id}"]
    assert fu.deadline_at == at(90) and occurrence(chat, ids).status == "escalated"
    got = chat.send("jan", payload=f"fu:go:{fu.id}")
    assert payloads_of(got[-1]) == [f"fu:well:{fu.id}", f"fu:help:{fu.id}", f"fu:none:{fu.id}"]
    got = chat.send("jan", payload=f"fu:well:{fu.id}")
    assert str(T("Thank you for looking in on {name}!", "nl", name="Maria")) in texts(got)
    fu, occ = followup(chat, ids), occurrence(chat, ids)
    assert (fu.status, fu.outcome, occ.status) == ("done", "all_well", "closed")
    assert sweep(chat, sweep_followups, 400) == 0 and sweep(chat, sweep_ladder, 400) == 0
    assert chat.new("coordinator") == []
    assert timeline(chat, ids) == [("checkin", "queued"), ("retry", "queued"), ("second_channel", "queued"),
                                   ("buddy", "asked"), ("buddy", "going"), ("buddy", "all_well")]


def test_without_a_second_channel_it_is_skipped_and_the_buddy_asked_at_once(chat):
    ids = setup(chat)
    sweep(chat, sweep_ladder, 10)
    chat.new("maria")
    assert sweep(chat, sweep_ladder, 20) == 1
    assert chat.new("jan"), "the buddy is asked when the second channel is skipped"
    assert timeline(chat, ids)[-2:] == [("second_channel", "skipped"), ("buddy", "asked")]


def test_buddy_finds_nobody_the_coordinator_hears_at_once(chat):
    ids = setup(chat)
    fu = buddy_is_going(chat, ids)
    chat.new("coordinator")
    got = chat.send("jan", payload=f"fu:none:{fu.id}")
    assert "112" in got[-1]["text"]
    [alert] = chat.new("coordinator")  # the coordinator's language: English
    assert str(T("Call 112 if you see danger signs.", "en")) in alert["text"]
    assert "Maria" in alert["text"] and "Kerkstraat 12, 1040 Etterbeek" in alert["text"]
    assert "+3225551234" in alert["text"] and any(p.startswith("alert:take:") for p in payloads_of(alert))
    assert "nobody opened" in alert["text"]
    assert (followup(chat, ids).status, occurrence(chat, ids).status) == ("escalated", "escalated")


def test_buddy_silent_past_the_deadline_goes_to_the_coordinator(chat):
    ids = setup(chat)
    for minutes in (10, 20):
        sweep(chat, sweep_ladder, minutes)
    chat.new("coordinator")
    assert sweep(chat, sweep_followups, 79) == 0  # deadline: 20 + 60 minutes
    assert sweep(chat, sweep_followups, 80) == 1
    [alert] = chat.new("coordinator")
    assert "did not confirm in time" in alert["text"] and "Jan" in alert["text"]
    assert sweep(chat, sweep_followups, 200) == 0  # once
    fu = followup(chat, ids)
    assert fu.status == "escalated"
    got = chat.send("jan", payload=f"fu:go:{fu.id}")  # too late: said kindly, nothing changes
    assert str(T("This task is already closed. Thank you!", "nl")) in texts(got)
    assert followup(chat, ids).status == "escalated"


def test_no_buddy_goes_to_the_coordinator(chat):
    ids = setup(chat, buddy=False)
    sweep(chat, sweep_ladder, 10)
    chat.new("coordinator")
    assert sweep(chat, sweep_ladder, 20) == 1
    [alert] = chat.new("coordinator")
    assert "no buddy" in alert["text"] and str(T("Call 112 if you see danger signs.", "en")) in alert["text"]
    assert "So far:" in alert["text"]  # the whole picture: what was tried, when
    assert timeline(chat, ids)[-3:] == [("second_channel", "skipped"), ("buddy", "skipped"),
                                        ("coordinator", "no_answer")]
    assert occurrence(chat, ids).next_at is None


def test_a_buddy_who_said_stop_is_not_asked_and_the_coordinator_hears_at_once(chat):
    ids = setup(chat)
    with chat.sessions() as s, s.begin():
        s.get(Person, ids["jan"]).paused = True  # Jan typed /stop: "no more messages from us"
    sweep(chat, sweep_ladder, 10)
    chat.new("coordinator")
    assert sweep(chat, sweep_ladder, 20) == 1
    assert chat.new("jan") == []
    assert chat.new("coordinator"), "the coordinator hears instead"
    assert timeline(chat, ids)[-2:] == [("buddy", "skipped"), ("coordinator", "no_answer")]


@pytest.mark.parametrize("buddy", [True, False])
def test_answer_2_gives_a_callback_task(chat, buddy):
    ids = setup(chat, buddy=buddy)
    helper = "jan" if buddy else "coordinator"
    chat.new(helper)
    got = chat.send("maria", payload=f"ci:call:{ids['occ']}")
    name = "Jan" if buddy else "Fatima"
    assert str(T("Thank you. I have asked {helper} to call you.", "nl", helper=name)) in texts(got)
    [task] = chat.new(helper)
    assert "Maria" in task["text"] and "+3225551234" in task["text"] and "Kerkstraat" not in task["text"]
    fu = followup(chat, ids)
    assert (fu.kind, fu.assignee_id is not None, payloads_of(task)[0]) == ("callback", True, f"fu:call:{fu.id}")
    got = chat.send(helper, payload=f"fu:call:{fu.id}")
    assert "+3225551234" in got[-1]["text"]
    assert followup(chat, ids).status == "acknowledged"
    assert occurrence(chat, ids).answer == "call_me"
    assert sweep(chat, sweep_followups, 600) == 0


def test_answer_3_goes_into_the_ask_flow(chat):
    ids = setup(chat)
    got = chat.send("maria", payload=f"ci:help:{ids['occ']}")
    assert "cat:shopping" in payloads_of(got[-1])
    assert occurrence(chat, ids).answer == "help"


def test_emergency_words_in_an_answer_get_112(chat):
    setup(chat)
    chat.new("maria")
    got = chat.send("maria", "ik ben gevallen en kan niet opstaan")
    assert any("112" in m["text"] for m in got)


def test_an_old_button_of_a_closed_occurrence_is_politely_expired(chat):
    ids = setup(chat)
    with chat.sessions() as s, s.begin():
        s.get(CheckinOccurrence, ids["occ"]).status = "closed"
    got = chat.send("maria", payload=f"ci:ok:{ids['occ']}")
    assert str(T("This hello is over. Thank you, {name}! If you need anything, I am here.", "nl",
                 name="Maria")) in texts(got)
    assert occurrence(chat, ids).answer is None


def test_a_stranger_cannot_press_someone_elses_buttons(chat):
    ids = setup(chat)
    for minutes in (10, 20):
        sweep(chat, sweep_ladder, minutes)
    fu = followup(chat, ids)
    chat.join("kim", "Kim")
    chat.new("coordinator"), chat.new("maria"), chat.new("jan")
    for payload in (f"fu:go:{fu.id}", f"fu:none:{fu.id}", f"ci:ok:{ids['occ']}"):
        got = chat.send("kim", payload=payload)
        assert got and "Maria" not in got[-1]["text"] and "Kerkstraat" not in got[-1]["text"]
    assert (followup(chat, ids).status, occurrence(chat, ids).status) == ("open", "escalated")
    assert chat.new("coordinator") == chat.new("maria") == chat.new("jan") == []


def test_a_late_answer_tells_the_buddy_not_to_go(chat):
    ids = setup(chat)
    for minutes in (10, 20):
        sweep(chat, sweep_ladder, minutes)
    chat.new("jan")
    chat.send("maria", payload=f"ci:ok:{ids['occ']}")
    [news] = chat.new("jan")
    assert "Maria" in news["text"]
    assert (followup(chat, ids).status, followup(chat, ids).outcome) == ("done", "answered")
    assert sweep(chat, sweep_followups, 600) == 0 and chat.new("coordinator") == []


def test_quiet_hours_postpone_and_the_greeting_follows(chat):
    with chat.sessions() as s, s.begin():
        maria = add(s, "Maria", ("demo", "maria"))
        plan = CheckinPlan(person_id=maria.id, neighbourhood_id=maria.neighbourhood_id, channel="demo", days=[0],
                           time_local="22:30", sender_name="Fatima")
        s.add(plan)
        s.flush()
        late = T0.replace(hour=22, minute=30)
        occ = CheckinOccurrence(key="checkin:x", plan_id=plan.id, person_id=maria.id, due_at=late)
        s.add(occ)
        s.flush()
        assert contact(s, occ, late, step="checkin")
        # Nothing waits in the outbox overnight (it would hold back every later message to her).
        assert s.scalars(select(Outbox).where(Outbox.address == "maria")).all() == []
        morning = (T0 + timedelta(days=1)).replace(hour=8, minute=0)
        assert occ.next_at == morning
        assert s.scalars(select(CheckinAttempt.outcome)).all() == ["postponed"]
        occ_id = occ.id
    with chat.sessions() as s, s.begin():  # a message to her in the night goes at once, nothing holds it
        s.add(Outbox(idempotency_key="reply:night", channel="demo", address="maria", text="112", purpose="reply"))
    from models.outbox import due
    with chat.sessions() as s:
        assert [r.idempotency_key for r in due(s, "demo", late + timedelta(minutes=1))] == ["reply:night"]
    with chat.sessions() as s, s.begin():  # the morning's ladder sweep says the hello, then the ladder goes on
        assert sweep_ladder(s, morning - timedelta(minutes=1)) == 0
        assert sweep_ladder(s, morning) == 1
        row = s.scalars(select(Outbox).where(Outbox.address == "maria", Outbox.purpose == "checkin")).one()
        assert row.text.startswith(str(T("Good morning {name}, this is {sender}.", "nl", name="Maria",
                                         sender="Fatima")))
        occ = s.get(CheckinOccurrence, occ_id)
        assert occ.next_at == morning + timedelta(minutes=10) and occ.ladder_index == 0
        assert s.scalars(select(CheckinAttempt.outcome).order_by(CheckinAttempt.id)).all() == ["postponed", "queued"]


def test_weekly_cap_and_stop_send_nothing(chat):
    with chat.sessions() as s, s.begin():
        maria = add(s, "Maria", ("demo", "maria"))
        piet = add(s, "Piet", ("demo", "piet"), paused=True)
        for n in range(14):
            s.add(Outbox(idempotency_key=f"flood:{n}", channel="demo", address="maria", purpose="reminder",
                         text="x", identity_id=maria.identities[0].id, language="nl", created_at=utcnow()))
        occs = []
        for person in (maria, piet):
            plan = CheckinPlan(person_id=person.id, neighbourhood_id=person.neighbourhood_id, channel="demo", days=[0])
            s.add(plan)
            s.flush()
            occ = CheckinOccurrence(key=f"checkin:{plan.id}", plan_id=plan.id, person_id=person.id, due_at=T0)
            s.add(occ)
            s.flush()
            assert contact(s, occ, T0, step="checkin") is False
            occs.append(occ)
        assert [(o.status, o.next_at) for o in occs] == [("closed", None), ("closed", None)]
        assert s.scalars(select(CheckinAttempt.outcome).order_by(CheckinAttempt.id)).all() == ["capped", "stopped"]
        assert s.scalars(select(Outbox).where(Outbox.purpose == "checkin")).all() == []


def test_by_phone_digit_machine_and_callback(chat):
    ids = setup(chat, channel="voice")
    with chat.sessions() as s, s.begin():
        [row] = s.scalars(select(Outbox).where(Outbox.channel == "voice")).all()
        assert (row.address, row.purpose, row.language) == ("+3225551234", "checkin", "nl")
        assert str(T("All well? Press 1 if all is well. Press 2 if you would like a call. Press 3 if you need help "
                     "with something.", "nl")) in row.text
        assert [o["payload"] for o in row.options] == [f"ci:{a}:{ids['occ']}" for a in ("ok", "call", "help")]
        # a machine answered: a short message, never the menu; the ladder goes on ten minutes later
        words = voicemail_text(s, ids["occ"])
        assert words == str(T("Hello {name}, this is {sender}. I will try again later. Goodbye.", "nl", name="Maria",
                              sender="Fatima van het wijkhuis"))
        call_ended(s, ids["occ"], "machine", at(3))
        assert s.get(CheckinOccurrence, ids["occ"]).next_at == at(13)
    assert sweep(chat, sweep_ladder, 13) == 1  # the retry: a second call
    with chat.sessions() as s, s.begin():
        assert len(s.scalars(select(Outbox).where(Outbox.channel == "voice")).all()) == 2
        said = answer_by_voice(s, f"ci:call:{ids['occ']}", at(15))
        assert said == str(T("Thank you. {helper} will call you soon.", "nl", helper="Jan"))
        assert s.get(CheckinOccurrence, ids["occ"]).answer == "call_me"
        assert answer_by_voice(s, f"ci:ok:{ids['occ']}", at(16)) == str(T("Thank you.", "nl"))
    [task] = chat.new("jan")
    assert "+3225551234" in task["text"]
    assert [s for s, _o in timeline(chat, ids)] == ["checkin", "call", "retry", "answer", "callback"]


def test_answer_1_by_phone(chat):
    ids = setup(chat, channel="voice", language="fr")
    with chat.sessions() as s, s.begin():
        assert answer_by_voice(s, f"ci:ok:{ids['occ']}", at(1)) == str(T("Thank you. Good to hear.", "fr"))
        assert s.get(CheckinOccurrence, ids["occ"]).status == "answered"


def test_the_buddy_cannot_go_the_coordinator_hears_at_once(chat):
    ids = setup(chat)
    for minutes in (10, 20):
        sweep(chat, sweep_ladder, minutes)
    chat.new("coordinator")
    fu = followup(chat, ids)
    got = chat.send("jan", payload=f"fu:cant:{fu.id}")
    assert str(T("Thank you for letting me know. I have passed it on to the coordinator.", "nl")) in texts(got)
    [alert] = chat.new("coordinator")
    assert "Jan cannot look in" in alert["text"] and str(T("Call 112 if you see danger signs.", "en")) in alert["text"]
    assert followup(chat, ids).status == "declined"
    assert sweep(chat, sweep_followups, 600) == 0 and chat.new("coordinator") == []  # told once


def test_going_without_saying_how_it_went_reaches_the_coordinator_later(chat):
    ids = setup(chat)
    buddy_is_going(chat, ids)
    chat.new("coordinator")
    due = followup(chat, ids).next_at
    assert due >= at(80) + timedelta(minutes=120)  # the deadline, then two hours to tell
    with chat.sessions() as s, s.begin():
        assert sweep_followups(s, due - timedelta(minutes=1)) == 0
    with chat.sessions() as s, s.begin():
        assert sweep_followups(s, due) == 1
    [alert] = chat.new("coordinator")
    assert "has not said how it went" in alert["text"]


def test_needed_help_is_told_to_the_coordinator(chat):
    ids = setup(chat)
    fu = buddy_is_going(chat, ids)
    chat.new("coordinator")
    got = chat.send("jan", payload=f"fu:help:{fu.id}")
    assert "112" in got[-1]["text"]
    [note] = chat.new("coordinator")
    assert "Jan" in note["text"] and "Maria" in note["text"]
    assert (followup(chat, ids).outcome, occurrence(chat, ids).status) == ("needed_help", "closed")


def test_a_callback_nobody_confirms_goes_to_the_coordinator(chat):
    ids = setup(chat)
    chat.send("maria", payload=f"ci:call:{ids['occ']}")
    chat.new("coordinator")
    deadline = followup(chat, ids).deadline_at
    with chat.sessions() as s, s.begin():
        assert sweep_followups(s, deadline) == 1
    [alert] = chat.new("coordinator")
    assert "asked for a call" in alert["text"] and "+3225551234" in alert["text"]
    assert followup(chat, ids).status == "escalated"
    assert occurrence(chat, ids).status == "answered"  # she did answer: only the call-back went wrong


def test_answer_2_without_a_phone_asks_for_one(chat):
    ids = setup(chat)
    with chat.sessions() as s, s.begin():
        s.get(Person, ids["maria"]).phone = None
    got = chat.send("maria", payload=f"ci:call:{ids['occ']}")
    assert "callme:skip" in payloads_of(got[-1])  # the usual call-me path: which number?
    assert occurrence(chat, ids).answer == "call_me"


def test_a_late_answer_after_the_coordinator_was_told(chat):
    ids = setup(chat, buddy=False)
    for minutes in (10, 20):
        sweep(chat, sweep_ladder, minutes)
    chat.new("coordinator")
    chat.send("maria", payload=f"ci:ok:{ids['occ']}")
    [news] = chat.new("coordinator")
    assert news["text"] == str(T("Good news: {name} has answered the check-in after all.", "en", name="Maria"))
    assert occurrence(chat, ids).status == "answered"


def test_a_sweeps_batch_of_hellos_and_the_same_hello_never_twice(chat):
    from sqlalchemy.exc import IntegrityError

    from handlers.checkins import contact_many

    with chat.sessions() as s, s.begin():
        people = [add(s, "Ann", ("demo", "ann")), add(s, "Bob", ("demo", "bob"), language="fr"),
                  add(s, "Cas", ("sms", "+32470000001")), add(s, "Dirk", ("demo", "dirk"), do_not_contact=True),
                  add(s, "Eva")]  # Eva has no address at all
        occs = []
        for person in people:
            plan = CheckinPlan(person_id=person.id, neighbourhood_id=person.neighbourhood_id,
                               channel="sms" if person.first_name == "Cas" else "demo", days=[0], sender_name="Fatima")
            s.add(plan)
            s.flush()
            occs.append(CheckinOccurrence(key=f"checkin:{plan.id}", plan_id=plan.id, person_id=person.id, due_at=T0))
        s.add_all(occs)
        s.flush()
        sent = contact_many(s, occs, T0)
        assert [sent[o.id] for o in occs] == [True, True, True, False, False]
        assert [(o.status, o.next_at) for o in occs] == [("waiting", at(10))] * 3 + [("closed", None), ("waiting", T0)]
        ids = [o.id for o in occs]
    with chat.sessions() as s:
        rows = s.scalars(select(Outbox).order_by(Outbox.id)).all()
        assert [(r.idempotency_key, r.address, r.language) for r in rows] == [
            (f"checkin:{ids[0]}:checkin:1", "ann", "nl"), (f"checkin:{ids[1]}:checkin:1", "bob", "fr"),
            (f"checkin:{ids[2]}:checkin:1", "+32470000001", "nl")]
        assert rows[1].text.startswith(str(T("Good morning {name}, this is {sender}.", "fr", name="Bob",
                                             sender="Fatima")))
        assert s.scalars(select(CheckinAttempt.outcome).order_by(CheckinAttempt.id)).all() == [
            "queued", "queued", "queued", "stopped", "unreachable"]
    assert chat.send("bob", "1") and occurrence(chat, {"occ": ids[1]}).answer == "ok"  # its options are on screen
    with pytest.raises(IntegrityError):  # a sweep run twice: the same hello is not written again
        with chat.sessions() as s, s.begin():
            contact(s, s.get(CheckinOccurrence, ids[0]), T0, step="checkin")


def test_answer_3_by_phone_is_a_callback(chat):
    ids = setup(chat, channel="voice")
    chat.new("jan")
    with chat.sessions() as s, s.begin():
        said = answer_by_voice(s, f"ci:help:{ids['occ']}", at(1))
        assert said == str(T("Thank you. {helper} will call you soon.", "nl", helper="Jan"))
    [task] = chat.new("jan")
    assert task["text"].startswith(str(T("{name} would like help with something and asked for a call.", "nl",
                                         name="Maria")))
    assert (followup(chat, ids).kind, occurrence(chat, ids).answer) == ("callback", "help")


def test_the_plans_own_coordinator_alone_hears_of_it(chat):
    ids = setup(chat, buddy=False)
    with chat.sessions() as s, s.begin():
        nb = neighbourhood_by_slug(s, "demo")
        other = Person(neighbourhood_id=nb.id, first_name="Omar", language="nl", is_coordinator=True)
        s.add(other)
        s.flush()
        s.add(ChannelIdentity(channel="demo", address="omar", person_id=other.id, last_inbound_at=utcnow()))
        s.get(CheckinPlan, ids["plan"]).coordinator_id = other.id
    for minutes in (10, 20):
        sweep(chat, sweep_ladder, minutes)
    [alert] = chat.new("omar")
    assert "Maria" in alert["text"]
    assert chat.new("coordinator") == []  # one named person, not the whole neighbourhood's


def test_no_label_in_any_checkin_text():
    """The words a person, a buddy or a coordinator reads from these modules never label anyone."""
    import ast
    from pathlib import Path

    from handlers.i18n import catalog

    msgids = []
    for module in ("handlers/checkins.py", "handlers/followups.py"):
        for node in ast.walk(ast.parse(Path(module).read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") in ("_", "N_") and node.args \
                    and isinstance(node.args[0], ast.Constant):
                msgids.append(node.args[0].value)
    assert len(msgids) > 40
    labels = {"en": ("vulnerable", "isolated", "alone", "at risk", "lonely", "elderly"),
              "nl": ("kwetsbaar", "geïsoleerd", "alleen", "eenzaam", "bejaard", "risico"),
              "fr": ("vulnérable", "isolé", "seul", "à risque", "âgé")}
    for language, words in labels.items():
        for msgid in msgids:
            text = catalog(language).gettext(msgid).lower()
            assert not [w for w in words if w in text], (language, msgid)


@pytest.mark.parametrize("status", ["paused", "stopped"])
def test_a_plan_paused_or_stopped_since_the_hello_stops_the_ladder(chat, status):
    ids = setup(chat)
    with chat.sessions() as s, s.begin():
        s.get(CheckinPlan, ids["plan"]).status = status
    chat.new("maria")
    assert sweep(chat, sweep_ladder, 10) == 1  # no retry
    assert sweep(chat, sweep_ladder, 40) == 0
    assert chat.new("maria") == [] and chat.new("jan") == [] and chat.new("coordinator") == []
    assert (occurrence(chat, ids).status, timeline(chat, ids)[-1]) == ("closed", ("ladder", status))


def test_a_ladder_found_days_late_does_not_ask_the_person_again_but_still_reaches_the_buddy(chat):
    """buurtbot was down for three days: no "All well?" days after the hello; the buddy is asked."""
    ids = setup(chat, second=True)
    chat.new("maria")
    assert sweep(chat, sweep_ladder, 3 * 24 * 60) == 1
    assert chat.new("maria") == []
    with chat.sessions() as s:
        assert s.scalars(select(Outbox).where(Outbox.channel == "sms")).all() == []
    assert chat.new("jan"), "the buddy is asked all the same"
    assert timeline(chat, ids) == [("checkin", "queued"), ("retry", "late"), ("second_channel", "late"),
                                   ("buddy", "asked")]


def test_a_ladder_that_finds_no_coordinator_warns_the_operator_by_ids_only(chat, caplog):
    ids = setup(chat, buddy=False)
    with chat.sessions() as s, s.begin():
        for person in s.scalars(select(Person).where(Person.is_coordinator.is_(True))):
            person.is_coordinator = False
    with caplog.at_level("WARNING"):
        sweep(chat, sweep_ladder, 10)
        sweep(chat, sweep_ladder, 20)
    assert timeline(chat, ids)[-1] == ("coordinator", "nobody")
    assert f"occurrence {ids['occ']}" in caplog.text and "Maria" not in caplog.text


def test_one_reader_of_the_number_to_call_knows_the_check_in_calls_too():
    """Buddies, callers and coordinators all read phone_of: the number given, else WhatsApp/SMS,
    else the number the check-in calls ring (someone enrolled with a landline only)."""
    from handlers.alerts import phone_of

    def person(*identities, phone=None):
        p = Person(first_name="Maria", phone=phone)
        p.identities = [ChannelIdentity(channel=c, address=a, active=True) for c, a in identities]
        return p

    assert phone_of(person(("voice", "+3225551234"))) == "+3225551234"
    assert phone_of(person(("voice", "+3225551234"), ("sms", "+32470111222"))) == "+32470111222"
    assert phone_of(person(("voice", "+3225551234"), phone="+32470999888")) == "+32470999888"
    assert phone_of(person(("demo", "maria"))) is None
