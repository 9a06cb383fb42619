"""Coordinator alerts lead somewhere (issue 9 point 19): each alert about a person carries
their phone when known, a "Reply" relayed through the bot and "I'll take this", which one
coordinator takes (atomically) while the others are told who did."""
from __future__ import annotations


import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.demo import CHANNEL, seed
from handlers.core import Inbound
from models import Alert, ChannelIdentity, Outbox, Person
from models.alerts import create_alert
from models.db import make_sessionmaker
from models.network import add_neighbourhood, create_invite, neighbourhood_by_slug
from models.privacy import erase
from tests.flowkit import Do, Row, T, dispatcher, has, person, pid, play, resident  # noqa: F401  (fixture)
from tests.telegram_fake import telegram_fake  # noqa: F401  (fixture)
from tests.test_concurrency import OnePerThread, add_person, run_together
from tests.tgkit import TelegramPeople, build_runtime, join, running
from tests.twilio_edge import prism, twilio_edge  # noqa: F401  (fixtures)
from tests.twiliokit import TwilioWorld, db_url, settings_for, world  # noqa: F401  (fixtures)


def _coordinator_invite(s, v):
    v["code"] = create_invite(s, neighbourhood_by_slug(s, "demo"), "coordinator").code


def coordinator(who, name, lang="nl"):
    """A second coordinator of the demo neighbourhood (the seeded one is "coordinator", Fatima)."""
    return [Do(_coordinator_invite), Row(who, lambda v: f"/start {v['code']}"), Row(who, payload=f"lang:{lang}"),
            Row(who, payload="yes"), Row(who, name)]


def alert_id(s, v):
    v["alert"] = s.scalar(select(func.max(Alert.id)))


TAKE = lambda v: f"alert:take:{v['alert']}"  # noqa: E731
REPLY = lambda v: f"alert:reply:{v['alert']}"  # noqa: E731


def _taken_by(who):
    def check(s, v):
        alert = s.get(Alert, v["alert"])
        assert alert.taken_by_id == pid(s, who) and alert.taken_at is not None, alert.taken_by_id
    return check


TALK = coordinator("kees", "Kees") + resident("maria", "Maria", "en") + [
    Row("maria", payload="human"),
    Row("maria", "Could someone call me about my heating?", keep=alert_id,
        told={"coordinator": has("Maria", "heating", options=(TAKE, REPLY)),
              "kees": has("Maria", options=(TAKE, REPLY), lacks=("Phone",))}),
    # Kees takes it; Fatima is told who takes care of it; Maria hears nothing of this
    Row("kees", payload=TAKE, reply=has(T("Thank you, you take care of {name}.", "nl", name="Maria")),
        told={"coordinator": has(T("{coordinator} takes care of this ({name}).", "en", coordinator="Kees",
                                   name="Maria"))},
        silent=("maria",), db=_taken_by("kees")),
    # a second press, by Fatima: already taken, and it stays Kees's
    Row("coordinator", payload=TAKE, reply=has(T("{coordinator} already takes care of this.", "en",
                                                 coordinator="Kees")),
        silent=("kees", "maria"), db=_taken_by("kees")),
    Row("kees", payload=TAKE, reply=has(T("You already take care of this.", "nl")), silent=("coordinator",)),
    # Fatima replies through the bot; Maria can answer
    Row("coordinator", payload=REPLY, reply=has(T("Type your message to {name}. I will pass it on.", "en",
                                                  name="Maria"))),
    Row("coordinator", "I will ring you tomorrow at ten.", reply=has(T("Sent.", "en")),
        told={"maria": has("I will ring you tomorrow at ten.", "Fatima", options=("human",))}),
    Row("maria", payload="human"),
    Row("maria", "Thank you, that is fine", told={"coordinator": has("Thank you, that is fine",
                                                                     options=("alert:take:",)),
                                                  "kees": has(options=("alert:take:",))}),
]

CALL_ME = resident("rosa", "Rosa", "nl") + [
    Row("rosa", payload="callme", reply=has(T("Which number can {contact} call?", "nl", contact="Fatima"),
                                            options=("callme:skip",)), silent=("coordinator",)),
    Row("rosa", "morgen", reply=has(T("That does not look like a phone number. Type it like 0470 12 34 56, "
                                      "or choose “Skip”.", "nl")),
        silent=("coordinator",)),
    Row("rosa", "0470 12 34 56", reply=has(T("I have asked {contact} to call you.", "nl", contact="Fatima")),
        keep=alert_id, told={"coordinator": has("Rosa", "+32470123456", options=(TAKE, REPLY))}),
    # the number is for coordinators only: not on her person (volunteers who claim see that); it is hers to see
    Row("rosa", "/mijngegevens", reply=has("+32470123456"),
        db=lambda s, v: person(s, "rosa").phone is None or pytest.fail("phone on the person")),
    Row("coordinator", payload=TAKE, reply=has("+32470123456")),
]

CALL_ME_SKIP = resident("jef", "Jef", "fr") + [
    Row("jef", payload="callme"),
    Row("jef", T("Skip", "fr"), told={"coordinator": has("Jef", options=("alert:take:",), lacks=("Phone",))}),
]


def _pause(s, v):
    s.scalar(select(Person).where(Person.first_name == "Fatima")).paused = True


EMERGENCY_WHILE_PAUSED = resident("ann", "Ann", "nl") + [
    Do(_pause),
    Row("ann", payload="menu"),
    Row("ann", "Help, mijn man is gevallen en ademt niet meer",
        told={"coordinator": has("Ann", options=("alert:take:", "alert:reply:"))}),
]


def _other_neighbourhood(s, v):
    nb = add_neighbourhood(s, "Elders", "elders", ["1050"])
    v["code2"] = create_invite(s, nb, "coordinator").code


NOT_YOURS = resident("maria", "Maria", "en") + resident("bert", "Bert", "en") + [
    Do(_other_neighbourhood),
    Row("olga", lambda v: f"/start {v['code2']}"), Row("olga", payload="lang:en"), Row("olga", "yes"),
    Row("olga", "Olga"),
    Row("maria", payload="human"),
    Row("maria", "Please call me", keep=alert_id, told={"coordinator": has(options=(TAKE,))}),
    # a resident and a coordinator of another neighbourhood may neither take nor reply
    Row("bert", payload=TAKE, reply=has(T("Sorry, only coordinators of this neighbourhood can do that.", "en")),
        silent=("coordinator",)),
    Row("olga", payload=REPLY, reply=has(T("Sorry, only coordinators of this neighbourhood can do that.", "en"))),
    Row("olga", payload="alert:take:99999999999999999999",
        reply=has(T("Sorry, only coordinators of this neighbourhood can do that.", "en"))),
    Row("coordinator", payload=TAKE, db=_taken_by("coordinator")),
]

BARE_YES_REPLY = resident("maria", "Maria", "en") + [
    Row("maria", payload="human"),
    Row("maria", "Can I come to the meeting?", keep=alert_id),
    Row("coordinator", payload=REPLY),
    # a bare "ja" is the coordinator's message, passed on -- not a stray yes to the question
    Row("coordinator", "ja", reply=has(T("Sent.", "en")), told={"maria": has("ja", "Fatima")}),
]


def _no_name_left(s, v):
    texts = s.scalars(select(Outbox.text)).all()
    assert not [t for t in texts if "Rosa" in t], texts


ERASED = resident("rosa", "Rosa", "nl") + [
    Row("rosa", payload="callme"),
    Row("rosa", "0470 12 34 56", keep=alert_id),
    Row("coordinator", payload=REPLY, reply=has(T("Type your message to {name}. I will pass it on.", "en",
                                                  name="Rosa"))),
    Row("coordinator", payload="menu"),
    Row("rosa", "/verwijder"), Row("rosa", "ja", db=_no_name_left),
    # her alert is gone with her: its buttons have expired, they are not someone else's to refuse
    Row("coordinator", payload=TAKE, reply=has(T("This button is no longer valid.", "en"))),
    Row("coordinator", payload=REPLY, reply=has(T("This button is no longer valid.", "en"))),
]

TABLES = {"talk to a person": TALK, "call me": CALL_ME, "call me, skip": CALL_ME_SKIP,
          "emergency while paused": EMERGENCY_WHILE_PAUSED, "not yours": NOT_YOURS,
          "a bare yes is a reply": BARE_YES_REPLY, "erased": ERASED}


@pytest.mark.parametrize("table", list(TABLES))
def test_alerts(chat, table):
    play(chat, TABLES[table])


def test_erasure_takes_the_alerts_and_the_phone_with_it(chat):
    play(chat, CALL_ME[:len(CALL_ME) - 2] + [Row("rosa", "/verwijder"), Row("rosa", "ja")])
    with chat.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Alert)) == 0
        assert s.scalar(select(func.count()).select_from(Outbox).where(Outbox.text.contains("+32470123456"))) == 0


def test_erasure_deletes_alerts_itself_not_by_the_schema_alone(sqlite_engine):
    """erase() removes the alerts about the person and unnames those they took even where the
    database does not enforce ON DELETE (SQLite with foreign_keys off, a restore without them)."""
    sessions = make_sessionmaker(sqlite_engine)
    with sessions() as s, s.begin():
        nb = seed(s)
        rosa, jan = add_person(s, nb, "rosa", "Rosa"), add_person(s, nb, "jan", "Jan")
        create_alert(s, rosa, "call", "+32470123456")
        taken = create_alert(s, jan, "call")
        taken.taken_by_id = rosa.id
    with sqlite_engine.connect() as conn:
        conn.connection.dbapi_connection.execute("PRAGMA foreign_keys=OFF")  # before BEGIN: it counts
        with Session(bind=conn) as s:
            erase(s, s.scalar(select(Person).where(Person.first_name == "Rosa")))
            s.info.pop("forget_on_disk")  # the WAL checkpoint wants the engine (tested in test_erasure_on_disk)
            s.commit()
        conn.connection.dbapi_connection.execute("PRAGMA foreign_keys=ON")
    with sessions() as s:
        left = [(a.person.first_name, a.phone, a.taken_by_id) for a in s.scalars(select(Alert))]
    assert left == [("Jan", None, None)]


# ---- the first press wins, on SQLite and PostgreSQL ----------------------------------------

@pytest.fixture
def threads(sessions):
    per_thread = OnePerThread(sessions)
    yield per_thread
    for engine in per_thread.engines:
        engine.dispose()


def test_eight_coordinators_take_one_alert_at_once(sessions, threads):
    coordinators = [f"co{i}" for i in range(8)]
    with sessions() as session, session.begin():
        nb = seed(session)
        add_person(session, nb, "maria", "Maria")
        for i, who in enumerate(coordinators):
            add_person(session, nb, who, f"Co{i}").is_coordinator = True
    assert threads.handle(Inbound(CHANNEL, "maria", payload="callme", platform_message_id="m1")) == "ok"
    assert threads.handle(Inbound(CHANNEL, "maria", payload="callme:skip", platform_message_id="m2")) == "ok"
    with sessions() as session:
        alert = session.scalar(select(Alert.id))
    results = run_together(8, lambda i: threads.handle(Inbound(
        CHANNEL, coordinators[i], payload=f"alert:take:{alert}", platform_message_id=f"take-{i}")))
    assert results == ["ok"] * 8
    with sessions() as session:
        taker = session.get(Alert, alert).taken_by.first_name
        texts = {who: [o.text for o in session.scalars(select(Outbox).where(Outbox.address == who, Outbox.id > 0)
                                                        .order_by(Outbox.id))] for who in coordinators}
    winners = [who for who, got in texts.items() if any(t.startswith("Thank you, you take care of") for t in got)]
    assert winners == [f"co{taker[2:]}"]
    for who in coordinators:
        if who != winners[0]:
            assert any(f"{taker} takes care of this" in t or f"{taker} already takes care of this" in t
                       for t in texts[who]), texts[who]


# ---- WhatsApp: the address is the phone --------------------------------------------------



@pytest.mark.parametrize("channel", ["whatsapp", "sms"])
async def test_on_whatsapp_and_sms_the_alert_carries_the_phone(world, channel):
    with world.rt.sessions() as s, s.begin():
        code = create_invite(s, neighbourhood_by_slug(s, "demo"), "coordinator").code
    world.phone("Fatima", "whatsapp")
    await world.say("Fatima", "Hallo")
    await world.choose("Fatima", "Nederlands")
    await world.say("Fatima", code)
    await world.say("Fatima", "ja")
    await world.say("Fatima", "Fatima")
    world.phone("Maria", channel)
    await world.say("Maria", "Bonjour")
    await world.choose("Maria", "Français")
    await world.say("Maria", "1040")
    await world.say("Maria", "oui")
    await world.say("Maria", "Maria")
    await world.choose("Maria", str(T("I would like help", "fr")))
    await world.say("Maria", "/menu")
    await world.choose("Maria", str(T("Talk to a person", "fr")))
    await world.say("Maria", "Pouvez-vous m'appeler ?")
    number = world.phones["Maria"][1]
    alert = world.last("Fatima")
    assert "Maria" in alert and number in alert, alert
    assert str(T("I'll take this", "nl")) in alert and str(T("Reply", "nl")) in alert
    await world.choose("Fatima", str(T("I'll take this", "nl")))
    assert number in world.last("Fatima")
    with world.rt.sessions() as s:
        assert s.scalar(select(ChannelIdentity.address).join(Person).where(Person.first_name == "Maria")) == number


async def test_an_undelivered_message_alert_carries_the_phone_and_can_be_taken(world):
    from tests.test_twilio import age_window, resident_asks, volunteer_and_coordinator

    await volunteer_and_coordinator(world)
    age_window(world, "Jan", 30)
    await resident_asks(world)
    told = world.last("Fatima")
    assert "Jan" in told and world.phones["Jan"][1] in told, told
    assert str(T("I'll take this", "nl")) in told and str(T("Reply", "nl")) in told
    got = await world.choose("Fatima", str(T("I'll take this", "nl")))
    assert any(str(T("Thank you, you take care of {name}.", "nl", name="Jan")) in m for m in got), got


# ---- Telegram: no phone in the address, so the call-me path asks for one -------------------

async def test_on_telegram_the_call_me_path_asks_for_a_number(telegram_fake, db_url):
    rt = build_runtime(telegram_fake, db_url)
    people = TelegramPeople(telegram_fake, rt)
    async with running(rt):
        await join(people, "Maria", "nl")
        await people.say("Maria", "Ik voel me soms eenzaam", "nl")
        got = await people.press("Maria", "callme")
        assert got[-1]["text"] == str(T("Which number can {contact} call?", "nl", contact="Fatima"))
        await people.await_button("Maria", "callme:skip")
        got = await people.say("Maria", "0470 12 34 56", "nl")
        assert got[-1]["text"].startswith(str(T("I have asked {contact} to call you.", "nl", contact="Fatima")))
    with rt.sessions() as s:
        alert = s.scalars(select(Outbox).where(Outbox.channel == CHANNEL, Outbox.address == "coordinator")
                          .order_by(Outbox.id.desc())).first()
        assert "Maria" in alert.text and "+32470123456" in alert.text
        assert any(o["payload"].startswith("alert:take:") for o in alert.options)
        assert s.scalar(select(Person.phone).where(Person.first_name == "Maria")) is None
