"""Safety words (issue 9, points 1, 3 and 4): a flood never swallows an emergency or a
protective command; professional-sounding words ask instead of diverting, and everyday words
raise no alarm; the 112 answer comes in the language the message is written in."""
from __future__ import annotations


import pytest
from sqlalchemy import select

from handlers.i18n import catalog
from handlers.ratelimit import DROP, OK, WARN, RateLimiter
from models import ChannelIdentity, HelpRequest
from tests.flowkit import (T, Row, count, dispatcher, has, last_request, person, play, resident,  # noqa: F401
                           volunteer)
from tests.test_ratelimit import SLOW_DOWN, FakeClock
from tests.twilio_edge import prism, twilio_edge  # noqa: F401  (fixtures)
from tests.twiliokit import TwilioWorld, db_url, settings_for, world  # noqa: F401  (fixtures)

CALL_112 = "If someone is in danger or needs urgent care: call 112 now (ambulance, fire). Police: 101."
PAUSED = ("You will not get any more messages from us. Your data is kept; delete it with {delete}. "
          "Type /start to start again.")
ASK_PRO = ("Shall I send this to the volunteers of your neighbourhood, or would you rather talk to {contact} about it "
           "first? For some things professionals can help too: the OCMW/CPAS, the CAW, your mutualiteit or the local "
           "service centre.")
ADDRESS = "Kerkstraat 12, 1040 Etterbeek"


def text_of(msgid: str, lang: str, **params) -> str:
    text = catalog(lang).gettext(msgid)
    return text.format(**params) if params else text


# ---- point 1: the flood limiter ---------------------------------------------------------------

def flood(chat, who: str, clock: FakeClock, lang: str = "nl") -> None:
    """20 messages answered, the 21st earns "slow down", the 22nd is dropped."""
    chat.dispatcher.limiter = RateLimiter(20, 60.0, clock=clock)
    for n in range(20):
        chat.send(who, "/menu")
        assert chat.result == "ok", n
    assert [m["text"] for m in chat.send(who, "/menu")] == [text_of(SLOW_DOWN, lang)]
    assert chat.send(who, "blabla") == [] and chat.result == "throttled"


def test_protective_hits_always_pass_and_so_does_the_answer_to_them():
    clock = FakeClock()
    rl = RateLimiter(2, 10.0, clock=clock)
    assert [rl.hit("a") for _ in range(4)] == [OK, OK, WARN, DROP]
    assert rl.hit("a", protective=True) == OK
    assert rl.hit("a") == OK, "the answer to the question it asked"
    assert rl.hit("a") == DROP
    assert [rl.hit("a", protective=True) for _ in range(50)] == [OK] * 50
    clock.advance(61)
    rl.hit("b")  # a sweep: nothing of "a" is kept once it is quiet
    assert "a" not in rl._hits and "a" not in rl._pass_next


def test_an_emergency_in_a_flood_is_answered(chat):
    play(chat, resident("maria", "Maria", "nl"))
    clock = FakeClock()
    flood(chat, "maria", clock)
    chat.new("coordinator")
    got = chat.send("maria", "hij ademt niet meer")
    assert chat.result == "ok" and text_of(CALL_112, "nl") in got[0]["text"]
    assert any("112" in m["text"] for m in chat.new("coordinator")), "the coordinator is alerted"
    for text in ("Ma voisine est inconsciente", "she collapsed", "ik wil er een einde aan maken"):
        got = chat.send("maria", text)
        assert chat.result == "ok" and "112" in got[0]["text"], text
    assert chat.send("maria", payload="human") and chat.result == "ok", "the answer to the 112 message passes"
    assert chat.send("maria", "/menu") == [] and chat.result == "throttled", "the flood itself is still held back"


def test_an_emergency_is_never_answered_with_slow_down(chat):
    play(chat, resident("maria", "Maria", "nl"))
    chat.dispatcher.limiter = RateLimiter(20, 60.0, clock=FakeClock())
    for _n in range(20):
        chat.send("maria", "/menu")
    got = chat.send("maria", "Mijn man ligt op de grond en reageert niet")  # the one that would be warned
    assert chat.result == "ok" and [m["text"] for m in got] != [text_of(SLOW_DOWN, "nl")]
    assert text_of(CALL_112, "nl") in got[0]["text"]


def test_stop_start_and_delete_pass_a_flood_in_every_language(chat):
    play(chat, resident("maria", "Maria", "nl") + resident("marie", "Marie", "fr"))
    clock = FakeClock()
    flood(chat, "maria", clock)
    assert chat.send("maria", "stoppen")[0]["text"] == text_of(PAUSED, "nl", delete="/verwijder")
    assert chat.result == "ok"
    with chat.sessions() as s:
        assert person(s, "maria").paused
    assert text_of("Welcome back, {name}!", "nl", name="Maria") in chat.send("maria", "/start")[0]["text"]
    chat.send("maria", payload="optout")  # STOP on SMS/WhatsApp arrives as this payload
    assert chat.result == "ok"
    chat.send("maria", payload="optin")
    assert chat.result == "ok"
    got = chat.send("maria", "verwijder")
    assert chat.result == "ok" and any(o["payload"] == "delete:yes" for o in got[0]["options"])
    got = chat.send("maria", "ja")  # the answer to the question a protective command asked
    assert chat.result == "ok" and got
    with chat.sessions() as s:
        assert person(s, "maria") is None, "erased in the middle of a flood"

    flood(chat, "marie", clock, "fr")
    got = chat.send("marie", "/supprimer")
    assert chat.result == "ok" and any(o["payload"] == "delete:yes" for o in got[0]["options"])
    chat.send("marie", "non")
    assert chat.result == "ok"
    assert chat.send("marie", "/menu") == [] and chat.result == "throttled", "one answer passes, not the flood"


# ---- point 3: ask, never divert; no false alarms -------------------------------------------

def _open_request(s, v):
    req = last_request(s)
    assert req is not None and req.status == "open" and "schulden" in req.description


PROFESSIONAL_TO_VOLUNTEERS = resident("maria", "Maria", "nl") + volunteer("jan", "Jan", "nl") + [
    Row("maria", "Ik heb schulden, kan iemand mij helpen mijn papieren te sorteren?",
        reply=has(T(ASK_PRO, "nl", contact="Fatima"), options=("pro:volunteers", "pro:contact")),
        silent=("jan", "coordinator"), db=lambda s, v: last_request(s) is None or pytest.fail("diverted")),
    Row("maria", "1", reply=has(options=("when:week",)), silent=("jan", "coordinator")),
    Row("maria", "3"), Row("maria", ADDRESS),
    Row("maria", "ja", told={"jan": has("schulden", options=("claim:",))}, db=_open_request),
]


def test_professional_words_ask_and_1_goes_to_the_volunteers(chat):
    play(chat, PROFESSIONAL_TO_VOLUNTEERS)


def test_professional_words_in_the_ask_flow_and_1_goes_on_with_the_request(chat):
    play(chat, resident("buur", "Buur", "fr") + volunteer("helper", "Helper", "fr") + [
        Row("buur", payload="ask"), Row("buur", "7"),
        Row("buur", "J'ai des dettes, qui peut m'aider à classer mes papiers ?",
            reply=has(options=("pro:volunteers", "pro:contact")), silent=("helper", "coordinator")),
        Row("buur", "abc", reply=has(options=("pro:volunteers", "pro:contact"))),  # asked again
        Row("buur", payload="pro:volunteers", reply=has(options=("when:week",))),
        Row("buur", "3"), Row("buur", ADDRESS),
        Row("buur", "oui", told={"helper": has("dettes")},
            db=lambda s, v: (last_request(s).status, last_request(s).category) == ("open", "other")
            or pytest.fail("not an open request")),
    ])


def test_everyday_words_raise_no_alarm(chat):
    calm = [
        ("Mijn kat ligt op de grond", "nl"), ("Put my bag on the floor", "en"),
        ("Can someone fix my shutters?", "en"), ("I have not seen the volunteer yet", "en"),
        ("Could someone pick up my medication", "en"),
        ("Pourriez-vous aller chercher mes médicaments à la pharmacie ?", "fr"),
        ("a lift to the court please", "en"), ("Ik heb een nieuwe badkuip, wie kan helpen dragen?", "nl"),
    ]
    # (read at the menu: free text naming a kind of help is proposed back, issue 10 -- never an alarm)
    play(chat, resident("maria", "Maria", "nl") + volunteer("jan", "Jan", "nl") + [
        row for text, _lang in calm for row in (
            Row("maria", "/menu"),
            Row("maria", text, reply=has(lacks=("112",), no_options=("pro:volunteers",)),
                silent=("coordinator", "jan")))
    ])
    with chat.sessions() as s:
        assert count(s, HelpRequest) == 0


# ---- point 4: 112 in the language of the message -------------------------------------------

def test_a_newcomer_writing_french_gets_112_in_french(chat):
    got = chat.send("nouveau", "Ma voisine est inconsciente")
    assert chat.result == "ok"
    assert text_of(CALL_112, "fr") in got[0]["text"] and text_of(CALL_112, "nl") not in got[0]["text"]


def test_a_dutch_person_writing_french_gets_french_and_dutch_words_get_dutch(chat):
    play(chat, resident("maria", "Maria", "nl"))
    got = chat.send("maria", "Ma voisine est inconsciente")
    assert text_of(CALL_112, "fr") in got[0]["text"] and text_of(CALL_112, "nl") not in got[0]["text"]
    got = chat.send("maria", "Hij ademt niet meer")
    assert text_of(CALL_112, "nl") in got[0]["text"] and text_of(CALL_112, "fr") not in got[0]["text"]
    got = chat.send("maria", "ambulance!")  # Dutch too: her own language
    assert text_of(CALL_112, "nl") in got[0]["text"] and text_of(CALL_112, "en") not in got[0]["text"]
    got = chat.send("maria", "He is not breathing, elle ne respire plus")  # English and French, neither hers: both
    assert text_of(CALL_112, "en") in got[0]["text"] and text_of(CALL_112, "fr") in got[0]["text"]


# ---- point 4 on WhatsApp (the real twilio client against Prism) ------------------------------




async def test_whatsapp_newcomer_writing_french_gets_112_in_french(world):
    got = await world.say("Amina", "Ma voisine est inconsciente")
    assert len(got) == 1
    assert text_of(CALL_112, "fr") in got[0] and text_of(CALL_112, "nl") not in got[0]


async def test_whatsapp_dutch_person_writing_french_gets_french(world):
    world.phone("Maria")
    await world.say("Maria", "Hallo")
    await world.choose("Maria", "Nederlands")
    await world.say("Maria", "1040")
    await world.say("Maria", "ja")
    await world.say("Maria", "Maria")
    await world.say("Maria", "1")
    with world.rt.sessions() as s:
        registered = s.scalar(select(ChannelIdentity).where(ChannelIdentity.address == world.phones["Maria"][1]))
        assert registered.person is not None and registered.person.language == "nl"
    got = await world.say("Maria", "Elle est tombée par terre et ne respire plus")
    assert text_of(CALL_112, "fr") in got[0] and text_of(CALL_112, "nl") not in got[0]
    got = await world.say("Maria", "Ze is bewusteloos")
    assert text_of(CALL_112, "nl") in got[0] and text_of(CALL_112, "fr") not in got[0]
