"""Safety fixes after review of issue 9: an old "yes" never erases, an emergency is answered
in the language written, STOP does not take away /delete and /mydata, the 112 answer survives a
failure after it, and nobody is told "I have also let the coordinator know" when nobody was."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from handlers import signals
from handlers.i18n import catalog
from models import ChannelIdentity
from models.network import add_neighbourhood
from tests.flowkit import Row, T, dispatcher, has, person, play, resident  # noqa: F401  (fixture)

CALL_112 = "If someone is in danger or needs urgent care: call 112 now (ambulance, fire). Police: 101."
TOLD = "buurtbot is not an emergency service. I have also let {contact} know."
NOT_TOLD = "buurtbot is not an emergency service and cannot send help itself."
SORRY = "Sorry, something went wrong on our side. Please try again, or type /menu."
DELETE_Q = "Do you want us to delete everything we keep about you?"
GONE = "This button is no longer valid."
FRENCH_EMERGENCY = "Au secours, il ne respire plus, ambulance"


def told_prefix(lang):
    """The "I have also let {contact} know" sentence up to the contact's name."""
    return lambda v: str(T(TOLD, lang)).split("{contact}")[0]


def exists(who):
    return lambda s, v: person(s, who) is not None or pytest.fail(f"{who} was erased")


def erased(who):
    return lambda s, v: person(s, who) is None or pytest.fail(f"{who} still exists")


def to_send_it(who):
    """A request written up to "Send it?" (its buttons: a bare "yes" and "no")."""
    return [Row(who, payload="ask"), Row(who, payload="cat:shopping"), Row(who, "Een brood van de bakker"),
            Row(who, payload="when:week"), Row(who, "Kerkstraat 12", reply=has(options=("yes", "no")))]


# ---- 1: an old "yes" never confirms /delete ------------------------------------------------

def test_an_old_yes_button_does_not_erase_but_a_typed_ja_does(chat):
    play(chat, resident("ria", "Ria", "nl") + to_send_it("ria") + [
        Row("ria", "/delete", reply=has(options=("delete:yes", "delete:no"), no_options=("yes",))),
        # the never-pressed "Yes, send it" of the screen before: expired, nothing erased
        Row("ria", payload="yes", reply=has(T(GONE, "nl")), db=exists("ria")),
        Row("ria", "ja", reply=has(str(T("Everything we kept about you is deleted. Thank you for taking part in the "
                                         "neighbourhood. Type /start if you ever want to come back.", "nl"))),
            db=erased("ria")),
    ])


@pytest.mark.parametrize("typed", ["ja", "1", "oui", "yes"])
def test_a_typed_yes_still_answers_the_delete_question(chat, typed):
    play(chat, resident("rik", "Rik", "nl") + [Row("rik", "/delete"), Row("rik", typed, db=erased("rik"))])


def test_a_typed_no_keeps_everything(chat):
    play(chat, resident("rik", "Rik", "nl") + [Row("rik", "/delete"), Row("rik", "nee", db=exists("rik"))])


# ---- 2: a newcomer's emergency in the language written -------------------------------------

def test_a_newcomers_french_emergency_is_answered_in_french(chat):
    play(chat, [Row("nouveau", FRENCH_EMERGENCY, reply=has(T(CALL_112, "fr"), lacks=(T(CALL_112, "nl"),)))])


def test_a_known_dutch_speaker_writing_french_words_gets_french(chat):
    play(chat, resident("ria", "Ria", "nl") + [
        Row("ria", FRENCH_EMERGENCY, reply=has(T(CALL_112, "fr"), lacks=(T(CALL_112, "nl"),)))])


def test_a_word_of_every_language_is_answered_in_the_persons_own(chat):
    play(chat, resident("marie", "Marie", "fr") + [
        Row("marie", "ambulance!", reply=has(T(CALL_112, "fr"), lacks=(T(CALL_112, "nl"),)))])


# ---- 3: after STOP, /delete and /mydata still work -----------------------------------------

def test_after_stop_mydata_and_delete_still_work(chat):
    play(chat, resident("ria", "Ria", "nl") + [
        Row("ria", payload="optout"),
        Row("ria", "hallo?", replies=0),  # everything else stays silent
        Row("ria", "/mydata", reply=has(T("This is everything we keep about you:", "nl"))),
        Row("ria", "mydata", reply=has(T("This is everything we keep about you:", "nl"))),
        Row("ria", "/delete", reply=has(options=("delete:yes",)), db=exists("ria")),
        Row("ria", "nee", db=exists("ria")),
        Row("ria", "verwijder", reply=has(options=("delete:yes",))),
        Row("ria", "ja", db=erased("ria")),
    ])
    with chat.sessions() as s:
        identity = s.scalar(select(ChannelIdentity).where(ChannelIdentity.address == "ria"))
        assert identity is None or identity.person_id is None


# ---- 4: the 112 answer survives a failure after it ------------------------------------------

def boom(*args, **kwargs):
    raise RuntimeError("later part of the emergency handling failed")


@pytest.mark.parametrize("who, lang, text", [
    ("buur", "nl", "Mijn man ligt op de grond en reageert niet"),
    (None, "fr", FRENCH_EMERGENCY),
])
def test_a_failure_after_an_emergency_still_gives_112(chat, monkeypatch, who, lang, text):
    rows = resident(who, "Buur", "nl") if who else []
    play(chat, rows)
    monkeypatch.setattr(signals, "alert_coordinators", boom)
    got = chat.send(who or "nieuw", text)
    assert chat.result == "error"
    assert got and str(T(CALL_112, lang)) in got[-1]["text"], got
    assert catalog("nl").gettext(SORRY) in got[-1]["text"]
    assert str(T(NOT_TOLD, lang)) in got[-1]["text"]  # the coordinator was not told: not claimed


def test_a_failure_without_emergency_words_only_apologises(chat, monkeypatch):
    play(chat, resident("buur", "Buur", "nl"))
    monkeypatch.setattr("handlers.dispatch.show_menu", boom)
    got = chat.send("buur", "/menu")
    assert chat.result == "error" and [m["text"] for m in got] == [catalog("nl").gettext(SORRY)]


# ---- 5: "I have also let ... know" only when someone was told --------------------------------

def test_a_newcomers_emergency_does_not_claim_a_coordinator_was_told(chat):
    """With one neighbourhood, its coordinator hears of a newcomer's emergency; with two and no
    choice made yet, nobody can say whose it is -- and the answer does not claim anyone was told."""
    play(chat, [Row("nieuw", "Help, er is brand in de keuken!", reply=has(told_prefix("nl")),
                    told={"coordinator": has("112")})])
    with chat.sessions() as session, session.begin():
        add_neighbourhood(session, "Jette", "jette", ["1090"], "nl")
    play(chat, [Row("nieuw2", "Help, er is brand in de keuken!",
                    reply=has(T(NOT_TOLD, "nl"), lacks=(told_prefix("nl"),)))])


def test_an_emergency_with_a_coordinator_says_they_were_told(chat):
    play(chat, resident("buur", "Buur", "nl") + [
        Row("buur", "Help, er is brand in de keuken!", reply=has(told_prefix("nl"), lacks=(T(NOT_TOLD, "nl"),)),
            told={"coordinator": has("112")})])
