"""/broadcast in the coordinator's chat (issue 12), on the demo channel in French and Dutch:
text, audience, the other languages the recipients read, answer buttons, preview, send now or
at a typed time, the list with live counts and "Stop"; a recipient's "I'm coming" (by button
and by a typed "1") and "Please pick me up" (a lift request in the ask flow). Only
coordinators, only their own neighbourhood; a button of an announcement one did not get
answers nothing. The engine (handlers/broadcasts.py) and its sweep are the real ones."""
from __future__ import annotations

import shutil
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from handlers.broadcasts import counts, describe, describe_counts, preview
from handlers.free_text import language_name
from handlers.i18n import catalog, speaking
from handlers.sweeps import SWEEPS
from models import HelpRequest, Person
from models.base import TZ, utcnow
from models.broadcasts import Broadcast, BroadcastRecipient
from models.network import add_neighbourhood, create_invite, neighbourhood_by_slug
from tests.flowkit import Do, Row, T, dispatcher, has, person, play, resident, volunteer  # noqa: F401
from tests.telegram_fake import telegram_fake  # noqa: F401  (fixture)
from tests.tgkit import TelegramPeople, build_runtime, buttons_of, join, running, settled

pytestmark = pytest.mark.usefixtures("no_quiet_hours")  # the real clock: any hour

FR_TEXT = "Chaque mercredi de 14 à 16h : caisse lente au Delhaize."
NL_TEXT = "Elke woensdag van 14 tot 16 uur: trage kassa in de Delhaize."


def coordinator(who, name, lang, slug="demo"):
    """A coordinator of ``slug`` who joined with an invite code."""
    def invite(s, v):
        nb = neighbourhood_by_slug(s, slug) or add_neighbourhood(s, "Elsene", slug, ["1050"])
        v[f"code_{who}"] = create_invite(s, nb, "coordinator").code
    return [Do(invite), Row(who, lambda v: f"/start {v[f'code_{who}']}"), Row(who, payload=f"lang:{lang}"),
            Row(who, payload="yes"), Row(who, name)]


def ids(s, v):
    """Everyone's person id; the seeded coordinator (English) is no resident here, so that the
    residents read exactly Dutch and French."""
    for who in ("maria", "rosa", "jan", "ahmed", "sophie", "piet", "kees", "coordinator"):
        v[who] = person(s, who).id
    person(s, "coordinator").is_resident = False


PEOPLE = (coordinator("sophie", "Sophie", "fr") + coordinator("piet", "Piet", "nl")
          + coordinator("kees", "Kees", "nl", slug="elsene")
          + resident("maria", "Maria", "nl") + resident("rosa", "Rosa", "fr") + resident("jan", "Jan", "nl")
          + volunteer("ahmed", "Ahmed", "nl")
          + [Row(who, "/menu") for who in ("maria", "rosa", "jan")]  # out of the first request's question
          + [Do(ids)])
EVERYONE = ("maria", "rosa", "jan", "ahmed", "sophie", "piet", "kees", "coordinator")


def lname(code: str, lang: str) -> str:
    """A language's name as the coordinator reads it ("néerlandais" for a French coordinator)."""
    with speaking(lang):
        return language_name(code)


def setup(chat) -> dict:
    v = play(chat, PEOPLE)
    for who in EVERYONE:
        chat.new(who)
    return v


def sweep(chat, at=None) -> None:
    """The scheduler's ``broadcasts`` sweep, as a tick runs it (until it has nothing left)."""
    while True:
        with chat.sessions() as s, s.begin():
            if SWEEPS["broadcasts"](s, at or utcnow()) == 0:
                return


def newest(s) -> Broadcast:
    return s.scalar(select(Broadcast).order_by(Broadcast.id.desc()).limit(1))


def keep_bc(s, v):
    v["bc"] = newest(s).id


def answer_of(s, v, who):
    return s.scalar(select(BroadcastRecipient.answer).where(BroadcastRecipient.broadcast_id == v["bc"],
                                                          BroadcastRecipient.person_id == v[who]))


def no_broadcast(s, v):
    assert s.scalar(select(func.count()).select_from(Broadcast)) == 0


def test_a_french_coordinator_sends_to_the_residents_with_a_dutch_version_and_answer_buttons(chat):
    v = setup(chat)

    def draft(s, v):
        bc = newest(s)
        assert (bc.status, bc.author_id, bc.audience, bc.base_language) == ("draft", v["sophie"], "residents", "fr")
        assert bc.texts == {"fr": FR_TEXT, "nl": NL_TEXT} and bc.buttons == ["coming", "pickup"]
        v["bc"] = bc.id

    play(chat, [
        Row("sophie", "/diffusion", reply=has(options=("bc:list", "menu"))),
        Row("sophie", FR_TEXT, reply=has(T("Who should get it?", "fr"), options=("bcaud:everyone", "bcaud:residents",
                                                                                  "bcaud:place"))),
        # a typed "2" is the second button; the residents read French and Dutch: Dutch is offered
        Row("sophie", "2", reply=has(T("Some of them read {language}. Type your message in {language}, or skip: they "
                                       "then get your text.", "fr", language=lname("nl", "fr")),
                                     options=("bcv:skip",), no_options=("bcv:done",))),
        Row("sophie", NL_TEXT, reply=has(options=("bcb:none", "bcb:coming", "bcb:both"))),
        Row("sophie", payload="bcb:both", reply=has(FR_TEXT, options=("bcs:now", "bcs:later", "bcs:cancel")),
            db=draft, silent=("maria", "rosa")),  # the preview sends nothing
    ], v)
    # the preview is the engine's, in French: Maria, Rosa and Jan (not the author, not the volunteer)
    with chat.sessions() as s, speaking("fr"):
        seen = describe(preview(s, newest(s), utcnow()))
    assert seen in chat.history["sophie"][-1]["text"]
    assert catalog("fr").ngettext("This message will go to {n} person.", "This message will go to {n} people.",
                                  3).format(n=3) in seen

    def sending(s, v):
        assert newest(s).status == "sending"

    play(chat, [Row("sophie", "1", db=sending,
                    reply=has(catalog("fr").ngettext(
                        "Sent: it goes out now to {n} neighbour. I will tell you how it goes.",
                        "Sent: it goes out now to {n} neighbours. I will tell you how it goes.", 3).format(n=3)))],
         v)
    sweep(chat)
    bc = v["bc"]
    maria, rosa, jan, ahmed = (chat.new(who) for who in ("maria", "rosa", "jan", "ahmed"))
    assert NL_TEXT in maria[-1]["text"] and NL_TEXT in jan[-1]["text"] and FR_TEXT in rosa[-1]["text"]
    assert [o["payload"] for o in maria[-1]["options"]] == [f"bca:coming:{bc}", f"bca:pickup:{bc}"]  # two buttons
    assert ahmed == []  # a volunteer, not a resident

    play(chat, [
        Row("maria", payload=f"bca:coming:{bc}",
            reply=has(T("Thank you, {name}! I have noted that you are coming.", "nl", name="Maria")),
            db=lambda s, v: answer_of(s, v, "maria") == "coming" or _fail("maria's answer")),
        # Jan types the digit of the first button: "1" is "I'm coming"
        Row("jan", "1", reply=has(T("Thank you, {name}! I have noted that you are coming.", "nl", name="Jan"))),
        # Rosa asks to be picked up: a lift request, its day read from "mercredi"
        Row("rosa", payload=f"bca:pickup:{bc}",
            reply=has(T("I will ask the volunteers of your neighbourhood to give you a lift.", "fr"))),
        Row("rosa", "Rue de la Loi 16", reply=has(options=("yes", "no"))),
        Row("rosa", payload="yes", told={"ahmed": has(options=("claim:",))}),
    ], v)

    with chat.sessions() as s:
        assert answer_of(s, v, "jan") == "coming" and answer_of(s, v, "rosa") == "pickup"
        req = s.scalar(select(HelpRequest).order_by(HelpRequest.id.desc()).limit(1))
        assert req.category == "lift" and req.requester_id == v["rosa"] and FR_TEXT[:30] in req.description
        assert req.due_date is not None and req.due_date.weekday() == 2  # a Wednesday
        assert counts(s, s.get(Broadcast, bc)).answers == {"coming": 2, "pickup": 1}

    sweep(chat)  # every row is settled: the author's one summary, and the broadcast is "sent"
    summary = chat.new("sophie")
    with chat.sessions() as s, speaking("fr"):
        assert len(summary) == 1 and describe_counts(counts(s, s.get(Broadcast, bc))) in summary[0]["text"]

    def expected(s, v):
        with speaking("fr"):
            v["counts"] = describe_counts(counts(s, s.get(Broadcast, v["bc"])))

    play(chat, [Do(expected), Row("sophie", payload="bc:list",
                                  reply=has(lambda v: f"#{v['bc']}", lambda v: v["counts"], T("sent", "fr"),
                                            options=("bc:new", "menu"), no_options=("bc:cancel:",)))], v)


def _fail(what):
    raise AssertionError(what)


def test_a_dutch_coordinator_plans_one_for_french_speakers_and_stops_it(chat):
    v = setup(chat)
    tomorrow = (utcnow().astimezone(TZ) + timedelta(days=1)).date()

    def planned(s, v):
        bc = newest(s)
        assert (bc.status, bc.audience_language, bc.buttons) == ("scheduled", "fr", [])
        assert bc.texts == {"nl": "Zaterdag buurtfeest op het plein!", "fr": "Samedi fête de quartier sur la place !"}
        local = bc.send_at.astimezone(TZ)
        assert (local.date(), local.hour, local.minute) == (tomorrow, 10, 0)
        v["bc"], v["at"] = bc.id, bc.send_at

    play(chat, [
        Row("piet", payload="coord", reply=has(options=("bc:new",))),
        Row("piet", payload="bc:new", reply=has(T("A message to your neighbourhood. Type it as the neighbours should "
                                                  "read it, in your own language. Next you choose who gets it; nothing "
                                                  "is sent before you have seen a preview.", "nl"))),
        Row("piet", "Zaterdag buurtfeest op het plein!", reply=has(T("Who should get it?", "nl"))),
        Row("piet", "4", reply=has(T("Which language?", "nl"), options=("bclang:nl", "bclang:fr"))),
        Row("piet", payload="bclang:fr", reply=has(T("Some of them read {language}. Type your message in {language}, "
                                                     "or skip: they then get your text.", "nl",
                                                     language=lname("fr", "nl")))),
        Row("piet", "Samedi fête de quartier sur la place !", reply=has(options=("bcb:none",))),
        Row("piet", "1", reply=has(options=("bcs:now", "bcs:later"))),  # no buttons
        Row("piet", payload="bcs:later", reply=has(options=("bcs:now", "bcs:cancel"))),
        Row("piet", "gisteren", reply=has(T("I could not read a time in that.", "nl"))),
        Row("piet", "morgen 10:00", reply=has(T("Planned: it goes out {when}. To stop it: {command}, then “Sent and "
                                                "planned”.", "nl", when="morgen om 10:00", command="/omroep")),
            db=planned),
    ], v)
    sweep(chat)  # not due yet
    assert chat.new("rosa") == []

    def stopped(s, v):
        assert newest(s).status == "cancelled"

    play(chat, [
        Row("piet", payload="bc:list", reply=has(lambda v: f"#{v['bc']}", options=(lambda v: f"bc:cancel:{v['bc']}",))),
        Row("piet", payload=lambda v: f"bc:cancel:{v['bc']}", reply=has(options=(lambda v: f"bc:stop:{v['bc']}",))),
        Row("piet", "1", reply=has(lambda v: str(T("Message #{id} is stopped.", "nl", id=v["bc"])))),
        Row("piet", payload=lambda v: f"bc:stop:{v['bc']}",  # pressed again: nothing left to stop
            reply=has(lambda v: str(T("Message #{id} is not being sent any more: there is nothing to stop.", "nl",
                                      id=v["bc"]))), db=stopped),
    ], v)
    sweep(chat, v["at"] + timedelta(minutes=1))
    assert chat.new("rosa") == [] and chat.new("maria") == []


def test_only_coordinators_of_the_neighbourhood_and_only_recipients(chat):
    v = setup(chat)
    refused = T("Sorry, only coordinators can do that.", "nl")
    play(chat, [
        Row("maria", "/omroep", reply=has(refused), db=no_broadcast),
        Row("ahmed", payload="bc:new", reply=has(refused), db=no_broadcast),
        Row("maria", payload="bcaud:everyone", reply=has(T("This button is no longer valid.", "nl")), db=no_broadcast),
        # Sophie plans one with only "I'm coming"
        Row("sophie", "/diffusion"), Row("sophie", FR_TEXT), Row("sophie", payload="bcaud:residents"),
        Row("sophie", payload="bcv:skip"), Row("sophie", payload="bcb:coming"), Row("sophie", payload="bcs:now",
                                                                                    keep=keep_bc),
    ], v)
    sweep(chat)

    def unchanged(s, v):
        assert s.get(Broadcast, v["bc"]).status in ("sending", "sent")
        assert s.scalar(select(func.count()).select_from(BroadcastRecipient).where(
            BroadcastRecipient.answer.is_not(None))) == 0
        assert s.scalar(select(func.count()).select_from(HelpRequest).where(HelpRequest.category == "lift")) == 0

    expired = T("This button is no longer valid.", "nl")
    play(chat, [
        # a coordinator of another neighbourhood cannot stop it, nor a resident
        Row("kees", payload=lambda v: f"bc:stop:{v['bc']}",
            reply=has(T("Sorry, only coordinators of this neighbourhood can do that.", "nl")), db=unchanged),
        Row("maria", payload=lambda v: f"bc:stop:{v['bc']}", reply=has(refused), db=unchanged),
        # Ahmed did not get it (a volunteer); Maria got no "pick me up" button; a broadcast that does not exist
        Row("ahmed", payload=lambda v: f"bca:coming:{v['bc']}", reply=has(expired), db=unchanged),
        Row("maria", payload=lambda v: f"bca:pickup:{v['bc']}", reply=has(expired), db=unchanged),
        Row("maria", payload="bca:coming:99999", reply=has(expired), db=unchanged),
        Row("maria", payload="bca:coming:x", reply=has(expired), db=unchanged),
        Row("kees", "/omroep"), Row("kees", "Alleen voor Elsene"),
        Row("kees", payload="bcaud:everyone", reply=has(T("Nobody would get it with that choice.", "nl"))),
    ], v)


def test_bad_input_in_the_flow_is_asked_again(chat):
    v = setup(chat)
    play(chat, [
        Row("sophie", "/diffusion"),
        Row("sophie", "!!", reply=has(T("Please type the message itself, in a few words at least.", "fr"))),
        Row("sophie", FR_TEXT),
        Row("sophie", "9", reply=has(T("Who should get it?", "fr"))),  # no ninth button: asked again
        Row("sophie", "5"),  # one street or postcode
        Row("sophie", "?", reply=has(T("Type the street name (like “Kerkstraat”) or the postcode (like “1040”).",
                                       "fr"))),
        Row("sophie", "Rue Inconnue", reply=has(T("Nobody would get it with that choice.", "fr"))),
        # Rosa lives in the rue de la Loi: she reads French, Sophie's own language -- no version to type
        Do(lambda s, v: setattr(person(s, "rosa"), "street", "Rue de la Loi")),
        Row("sophie", "5"), Row("sophie", "rue de la loi", reply=has(options=("bcb:none", "bcb:both"))),
        Row("sophie", "1", reply=has(lambda v: catalog("fr").ngettext(
            "This message will go to {n} person.", "This message will go to {n} people.", 1).format(n=1))),
        Row("sophie", payload="bcs:cancel", reply=has(T("All right, nothing was sent.", "fr")), db=no_broadcast),
        Row("sophie", "/diffusion"), Row("sophie", FR_TEXT),
        Row("sophie", "3", reply=has(T("Some of them read {language}. Type your message in {language}, or skip: "
                                       "they then get your text.", "fr", language=lname("nl", "fr")))),  # volunteers
        Row("sophie", "1", reply=has(options=("bcb:none",))),  # skipped
    ], v)


# ---- on Telegram ---------------------------------------------------------------------------------

@pytest.fixture
def db_url(tmp_path, sqlite_template):
    path = tmp_path / "tg.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


def _tg_sweep(rt) -> None:
    while True:
        with rt.sessions() as s, s.begin():
            if SWEEPS["broadcasts"](s, utcnow()) == 0:
                return


async def test_on_telegram_a_french_coordinator_broadcasts_and_dutch_and_french_neighbours_answer(
        telegram_fake, db_url):  # noqa: F811
    rt = build_runtime(telegram_fake, db_url)
    people = TelegramPeople(telegram_fake, rt)
    with rt.sessions() as s, s.begin():
        code = create_invite(s, neighbourhood_by_slug(s, "demo"), "coordinator").code
        s.scalar(select(Person).where(Person.first_name == "Fatima")).is_resident = False
    fr = catalog("fr").gettext
    async with running(rt):
        await people.say("Sophie", f"/start {code}", "fr")
        await people.press("Sophie", "lang:fr")
        await people.press("Sophie", "yes")
        await people.say("Sophie", "Sophie", "fr")
        for name, lang in (("Maria", "nl"), ("Rosa", "fr")):
            await join(people, name, lang)
            await people.say(name, "/menu", lang)

        got = await people.say("Sophie", "/diffusion", "fr")
        assert "bc:list" in buttons_of(got[-1])
        got = await people.say("Sophie", FR_TEXT, "fr")
        assert got[-1]["text"] == fr("Who should get it?")
        got = await people.press("Sophie", "bcaud:residents")
        assert lname("nl", "fr") in got[-1]["text"] and buttons_of(got[-1]) == ["bcv:skip"]
        await people.say("Sophie", NL_TEXT, "fr")
        got = await people.press("Sophie", "bcb:both")
        assert FR_TEXT in got[-1]["text"] and buttons_of(got[-1]) == ["bcs:now", "bcs:later", "bcs:cancel"]
        got = await people.press("Sophie", "bcs:now")
        assert got[-1]["text"].startswith(catalog("fr").ngettext(
            "Sent: it goes out now to {n} neighbour. I will tell you how it goes.",
            "Sent: it goes out now to {n} neighbours. I will tell you how it goes.", 2).format(n=2))

        await people._after("Maria", lambda: _tg_sweep(rt))
        await settled(telegram_fake, rt)
        with rt.sessions() as s:
            bc = s.scalar(select(Broadcast.id).order_by(Broadcast.id.desc()).limit(1))
        maria, rosa = people.last("Maria"), people.last("Rosa")
        assert NL_TEXT in maria["text"] and FR_TEXT in rosa["text"]
        assert buttons_of(maria) == [f"bca:coming:{bc}", f"bca:pickup:{bc}"]

        got = await people.press("Maria", "bca:coming")
        assert got[-1]["text"] == catalog("nl").gettext("Thank you, {name}! I have noted that you are coming.") \
            .format(name="Maria")
        got = await people.press("Rosa", "bca:pickup")
        assert fr("I will ask the volunteers of your neighbourhood to give you a lift.") in [m["text"] for m in got]
        await people.say("Rosa", "Rue de la Loi 16", "fr")
        got = await people.press("Rosa", "yes")

        got = await people.press("Sophie", "bc:list")
        with rt.sessions() as s, speaking("fr"):
            assert describe_counts(counts(s, s.get(Broadcast, bc))) in got[-1]["text"]
            assert s.scalar(select(HelpRequest.category).where(HelpRequest.requester_id == s.scalar(
                select(Person.id).where(Person.first_name == "Rosa")))) == "lift"
        assert telegram_fake.unanswered_callback_queries() == []
