"""/checkin through the real dispatcher on the demo channel (tests/flowkit.py): a resident opts
in (days, time, this chat or a phone call), sees the plan, pauses it until a day or until they
say, resumes and stops it; a coordinator enrols someone from the chat. In Dutch and French."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from models import ChannelIdentity, ConversationState, Person
from models.base import TZ, utcnow
from models.plan_times import next_due
from models.schedules import CheckinPlan
from tests.flowkit import Do, Row, T, dispatcher, has, person, play, resident  # noqa: F401  (fixture)

FAR = date(2031, 1, 6)  # a Monday, far enough ahead for any run of this test


def plan_of(s, who: str) -> CheckinPlan | None:
    p = person(s, who)
    return s.scalar(select(CheckinPlan).where(CheckinPlan.person_id == p.id).order_by(CheckinPlan.id.desc()))


def no_plan(who):
    def check(s, v):
        assert plan_of(s, who) is None
    return check


def voice_plan_saved(s, v):
    plan, maria = plan_of(s, "maria"), person(s, "maria")
    assert (plan.channel, plan.days, plan.time_local, plan.status) == ("voice", [0, 3], "10:00", "active")
    assert (plan.consent_how, plan.consent_by) == ("self, in chat", "Maria") and plan.consent_at is not None
    assert maria.phone == "+32470123456"
    voice = s.scalar(select(ChannelIdentity).where(ChannelIdentity.channel == "voice"))
    assert (voice.address, voice.person_id) == ("+32470123456", maria.id)
    assert plan.next_due_at == next_due([0, 3], "10:00", plan.consent_at)


def status_is(who, status, paused_until=None, due=True):
    def check(s, v):
        plan = plan_of(s, who)
        assert (plan.status, plan.paused_until) == (status, paused_until)
        assert (plan.next_due_at is not None) == due
        if paused_until is not None:
            assert plan.next_due_at.astimezone(TZ).date() >= paused_until
    return check


def test_a_resident_opts_in_by_phone_call_then_pauses_resumes_and_stops_nl(chat):
    nl = "nl"
    play(chat, [
        *resident("maria", "Maria", nl),
        Row("maria", "/checkin", reply=has(T("Would you like a short hello every week? On the days and at the time "
                                             "you choose, someone from the neighbourhood asks how you are, and you "
                                             "answer with one number. You can pause or stop it at any time.", nl),
                                           options=("yes", "no"))),
        Row("maria", "ja", reply=has(options=("pl:days:0-3", "pl:days:0-1-2-3-4-5-6"))),
        Row("maria", "morgen", reply=has(T("I did not find a day in that.", nl), options=("pl:days:",))),
        Row("maria", "maandag en donderdag", reply=has(options=("pl:time:1000", "pl:time:1800"))),
        Row("maria", "23:30", reply=has(T("Please choose a time between {start} and {end}.", nl, start="08:00",
                                          end="21:00"))),
        Row("maria", "10:00", reply=has(options=("pl:chan:chat", "pl:chan:voice"))),
        Row("maria", payload="pl:chan:voice", reply=has(T("Which phone number shall we call? Type it, for example "
                                                          "0470 12 34 56.", nl))),
        Row("maria", "geen idee", reply=has(T("That does not look like a phone number.", nl))),
        Row("maria", "0470 12 34 56", reply=has("+32470123456", T("Shall I start?", nl), options=("yes", "no")),
            db=no_plan("maria")),
        Row("maria", "1", reply=has(lambda v: str(T("Done! Your first weekly hello comes on {when}. Type {command} to "
                                                    "change, pause or stop it.", nl, when="", command=""))[:12]),
            db=voice_plan_saved),
        Row("maria", "/checkin", reply=has(T("Your weekly hello:", nl), "maandag, donderdag", "10:00",
                                           options=("plan:change", "plan:pause", "plan:stop"))),
        Row("maria", payload="plan:pause", reply=has(options=("pl:until:7", "pl:until:none"))),
        Row("maria", "gisteren", reply=has(T("Please give a day after today.", nl))),
        Row("maria", FAR.isoformat(), db=status_is("maria", "paused", FAR)),
        Row("maria", "/checkin", reply=has(options=("plan:resume",), no_options=("plan:pause",))),
        Row("maria", payload="plan:resume", db=status_is("maria", "active")),
        Row("maria", payload="plan:pause"),
        Row("maria", payload="pl:until:7",
            db=status_is("maria", "paused", utcnow().astimezone(TZ).date() + timedelta(days=7))),
        Row("maria", payload="plan:pause"),
        Row("maria", payload="pl:until:none", db=status_is("maria", "paused", due=False)),
        Row("maria", "/checkin", reply=has(T("Paused until you resume it.", nl), options=("plan:resume",))),
        Row("maria", payload="plan:stop", db=status_is("maria", "stopped", due=False)),
        # After a stop, /checkin asks again (opt-in, never automatic); "nee" leaves it stopped.
        Row("maria", "/checkin", reply=has(options=("yes", "no"))),
        Row("maria", "nee", reply=has(options=("ask",))),
    ])


def test_a_resident_opts_in_for_this_chat_in_french_from_the_menu(chat):
    fr = "fr"

    def saved(s, v):
        plan = plan_of(s, "louise")
        assert (plan.channel, plan.days, plan.time_local) == ("demo", [0, 3], "10:00")
        assert plan.consent_how == "self, in chat" and plan.consent_by == "Louise"

    play(chat, [
        *resident("louise", "Louise", fr),
        Row("louise", "menu", reply=has(options=("plan",))),
        Row("louise", payload="plan", reply=has(options=("yes", "no"))),
        Row("louise", "oui", reply=has(T("On which days? Choose, or type them (for example: monday and thursday).",
                                         fr))),
        Row("louise", "lundi et jeudi", reply=has(T("At what time? Choose, or type a time (for example 10:00).", fr))),
        Row("louise", "le matin", reply=has(T("How shall we say hello?", fr))),
        Row("louise", "1", reply=has("lundi, jeudi", "10:00", T("in this chat", fr), options=("yes",))),
        Row("louise", "oui", reply=has(options=("ask",)), db=saved),
        Row("louise", "/checkin", reply=has(T("Your weekly hello:", fr), "lundi, jeudi", options=("plan:pause",))),
        # /delete takes the plan with everything else.
        Row("louise", "/delete", reply=has(options=("delete:yes",))),
        Row("louise", payload="delete:yes", db=lambda s, v: s.scalar(select(CheckinPlan)) is None or pytest.fail()),
    ])


def test_saying_no_keeps_everything_as_it_was(chat):
    play(chat, [
        *resident("piet", "Piet", "nl"),
        Row("piet", "/checkin"),
        Row("piet", payload="no", reply=has(options=("ask",)), db=no_plan("piet")),
        Row("piet", payload="plan:pause", reply=has(options=("yes", "no"))),  # no plan: the question, nothing paused
    ])


def _speak(lang):
    def fn(s, v):
        person(s, "coordinator").language = lang
    return fn


@pytest.mark.parametrize("lang", ["nl", "fr"])
def test_a_coordinator_enrols_someone_from_the_chat(chat, lang):
    def saved(s, v):
        louis = s.scalar(select(Person).where(Person.first_name == "Louis"))
        plan = s.scalar(select(CheckinPlan).where(CheckinPlan.person_id == louis.id))
        fatima = person(s, "coordinator")
        assert (louis.phone, louis.language, louis.neighbourhood_id) == ("+3225551234", "fr", fatima.neighbourhood_id)
        assert (plan.channel, plan.days, plan.time_local, plan.status) == ("sms", [0, 3], "14:00", "active")
        assert (plan.consent_how, plan.consent_by, plan.coordinator_id) == ("par téléphone avec moi", "Fatima",
                                                                            fatima.id)
        sms = s.scalar(select(ChannelIdentity).where(ChannelIdentity.channel == "sms"))
        assert (sms.address, sms.person_id) == ("+3225551234", louis.id)

    play(chat, [
        Do(_speak(lang)),
        Row("coordinator", payload="coord", reply=has(options=("plan:enrol",))),
        Row("coordinator", payload="plan:enrol",
            reply=has(T("A weekly hello for someone who agreed to it. What is their first name?", lang))),
        Row("coordinator", "Louis", reply=has(T("What is the phone number of {name}? For example 02 555 12 34.",
                                                lang, name="Louis"))),
        Row("coordinator", "02 555 12 34", reply=has(options=("lang:nl", "lang:fr"))),
        Row("coordinator", payload="lang:fr", reply=has(options=("pl:chan:voice", "pl:chan:sms"))),
        Row("coordinator", payload="pl:chan:sms", reply=has(options=("pl:days:0-3",))),
        Row("coordinator", "ma,do" if lang == "nl" else "lun,jeu", reply=has(options=("pl:time:1400",))),
        Row("coordinator", "14u" if lang == "nl" else "14h", reply=has(
            T("How did {name} agree to this? Type it in a few words, for example: by phone with me.", lang,
              name="Louis"))),
        Row("coordinator", "par téléphone avec moi", reply=has("+3225551234", T("Save it?", lang),
                                                                options=("yes", "no"))),
        Row("coordinator", payload="yes", reply=has(lambda v: str(T("Saved. The first hello to {name} comes on {when}.",
                                                                    lang, name="Louis", when=""))[:10]), db=saved),
    ])


def test_only_coordinators_enrol_others(chat):
    def in_the_last_question(s, v):
        """As if Maria had got to the coordinator's last question somehow (an old state)."""
        identity = s.scalar(select(ChannelIdentity).where(ChannelIdentity.address == "maria"))
        state = s.get(ConversationState, identity.id)
        state.step = "plan.c.confirm"
        state.data = {"who": "other", "name": "Louis", "phone": "+3225551234", "language": "fr", "channel": "sms",
                      "days": [0], "time": "10:00", "consent": "oui"}

    play(chat, [
        *resident("maria", "Maria", "fr"),
        Row("maria", payload="plan:enrol", reply=has(T("Sorry, only coordinators can do that.", "fr"))),
        Do(in_the_last_question),
        Row("maria", "oui", reply=has(T("Sorry, only coordinators can do that.", "fr")),
            db=lambda s, v: s.scalar(select(CheckinPlan)) is None or pytest.fail("a plan was saved")),
    ])


def test_someone_enrolled_for_calls_only_is_never_rung_by_an_ordinary_notification(sessions):
    """A "voice" identity is there for the check-in calls (handlers/checkins.py writes those
    rows itself): a notification for the person (a coordinator's reply, a volunteer's message)
    never turns into a phone call reading it out."""
    from handlers.core import Notifier
    from models import Outbox
    from models.network import add_neighbourhood
    from models.plans import ensure_identity, save_plan

    with sessions() as s, s.begin():
        nb = add_neighbourhood(s, "Etterbeek", "etterbeek", ["1040"])
        maria = Person(neighbourhood_id=nb.id, first_name="Maria", language="nl", phone="+3225551234")
        s.add(maria)
        s.flush()
        ensure_identity(s, maria, "voice", "+3225551234")
        save_plan(s, maria, neighbourhood_id=nb.id, channel="voice", days=[0], time_local="10:00", now=utcnow(),
                  consent_how="by phone", consent_by="Fatima")
        notifier = Notifier(s, "test")
        assert notifier.tell(maria, lambda: ("Hello", [])) is False
        notifier.write()
        assert s.scalar(select(Outbox).where(Outbox.channel == "voice")) is None
        # Once she also writes on SMS, she is told there.
        ensure_identity(s, maria, "sms", "+3225551234")
        assert notifier.tell(maria, lambda: ("Hello", [])) is True
        notifier.write()
        assert [o.channel for o in s.scalars(select(Outbox))] == ["sms"]


def test_a_number_that_is_someone_elses_is_asked_again(chat):
    def louis_has_it(s, v):
        louis = Person(neighbourhood_id=person(s, "coordinator").neighbourhood_id, first_name="Louis")
        s.add(louis)
        s.flush()
        s.add(ChannelIdentity(channel="voice", address="+32470999999", person_id=louis.id))

    play(chat, [
        *resident("maria", "Maria", "nl"),
        Do(louis_has_it),
        Row("maria", "/checkin"),
        Row("maria", payload="yes"),
        Row("maria", payload="pl:days:0"),
        Row("maria", payload="pl:time:1000"),
        Row("maria", payload="pl:chan:voice"),
        Row("maria", "0470 99 99 99", reply=has(options=("yes",))),
        Row("maria", payload="yes", reply=has(T("This phone number belongs to someone else. Please type another one.",
                                                "nl")), db=no_plan("maria")),
        Row("maria", "0470 12 34 56", reply=has(options=("yes",))),
        Row("maria", payload="yes", db=lambda s, v: plan_of(s, "maria").channel == "voice" or pytest.fail()),
    ])
