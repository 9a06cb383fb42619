"""A coordinator's volunteers (issue 12): the pending list with approve / decline and a card per
volunteer (pause, a private note the volunteer can read in /mydata), each volunteer told in
their own language, this week's load against their cap and who has not taken on a task for a
month -- on the demo channel and on Telegram, in Dutch and French."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from handlers.i18n import catalog, fill
from models import HelpRequest, Person
from models.base import utcnow
from models.network import NetworkError, add_neighbourhood, last_active, not_active_since, set_coordinator_note
from models.schedules import FollowUp
from models.tasks import create_request
from tests.flowkit import Do, Row, T, has, person, play, resident, volunteer
from tests.telegram_fake import telegram_fake  # noqa: F401  (fixture)
from tests.tgkit import TelegramPeople, build_runtime, buttons_of, join, running

NOTE = "Kan enkel op woensdag; belt liever dan te sms'en"
OTHER = {"nl": "fr", "fr": "nl"}
ON_HOLD = ("Thank you for offering help, {name}. The coordinator has put your offer on hold for now; they will get "
           "in touch with you.")
APPROVED = ("Good news, {name}: you are now a volunteer of {neighbourhood}! You will get requests that fit you. You "
            "can always say no.")
NOT_ACTIVE = ("No task for a month: {names}. A good moment to thank them for being there, or to ask whether the "
              "requests still suit them.")


class N(T):
    """A plural bot text as the catalog of ``lang`` renders it for ``n``."""

    def __init__(self, singular: str, plural: str, n: int, lang: str, **params) -> None:
        super().__init__(singular, lang, n=n, **params)
        self.plural, self.n = plural, n

    def __str__(self) -> str:
        return fill(catalog(self.lang).ngettext(self.msgid, self.plural, self.n), self.params, self.lang)


def load(name: str, claimed: int, cap: int, lang: str) -> N:
    return N("{name}: {claimed} of {n} task this week", "{name}: {claimed} of {n} tasks this week", cap, lang,
             name=name, claimed=claimed)


def note_of(who):
    return lambda s, v: person(s, who).coordinator_note


def expect(fn, want):
    def check(s, v):
        assert fn(s, v) == want, (fn(s, v), want)
    return check


def status_of(who):
    return lambda s, v: person(s, who).volunteer_status


def _request_for_jan(s, v):
    v["req"] = create_request(s, person(s, "maria"), "shopping", "Brood en melk", "tomorrow", None,
                              "Kerkstraat 12, 1040 Etterbeek").id


def _kim_joined_two_months_ago(s, v):
    person(s, "kim").created_at = utcnow() - timedelta(days=60)


def story(lang: str) -> list:
    other = OTHER[lang]
    pam = lambda v: v["_pid"]("pam")  # noqa: E731
    return (
        volunteer("jan", "Jan", lang)
        + volunteer("kim", "Kim", lang, cap="2")
        + volunteer("pam", "Pam", other, approve=False)
        + resident("maria", "Maria", lang)
        + [
            Row("maria", payload="menu"),
            Do(lambda s, v: setattr(person(s, "coordinator"), "language", lang)),
            # the pending list: approve or decline at once, or open Pam's card
            Row("coordinator", payload="coord:pending",
                reply=has(T("Volunteers waiting for approval:", lang), "Pam", lacks=("Jan",),
                          options=(lambda v: f"vol:ok:{pam(v)}", lambda v: f"vol:no:{pam(v)}",
                                   lambda v: f"vlv:{pam(v)}"))),
            Row("coordinator", payload=lambda v: f"vlv:{pam(v)}",
                reply=has(T("waiting for approval", lang), T("Has not taken on a task yet.", lang),
                          options=(lambda v: f"vol:pause:{pam(v)}", lambda v: f"vlv:note:{pam(v)}", "coord:pending"),
                          no_options=(lambda v: f"vlv:clear:{pam(v)}",))),
            # a private note: too long is asked again, then saved; Pam is not told
            Row("coordinator", payload=lambda v: f"vlv:note:{pam(v)}",
                reply=has(T("Type your note about {name} (at most {n} characters). Only coordinators of "
                            "{neighbourhood} see it; {name} can read it with {mydata}, so write it as you would say "
                            "it to them.", lang, name="Pam", n=500, neighbourhood="Demo",
                            mydata={"nl": "/mijngegevens", "fr": "/mesdonnees"}[lang]))),
            Row("coordinator", "x" * 501, reply=has(T("That is longer than {n} characters. Please make it shorter.",
                                                      lang, n=500)), db=expect(note_of("pam"), None)),
            Row("coordinator", NOTE, reply=has(T("Note saved.", lang), NOTE,
                                               options=(lambda v: f"vlv:clear:{pam(v)}",)),
                silent=("pam",), db=expect(note_of("pam"), NOTE)),
            # ... which is data about Pam: hers to read, in her language
            Row("pam", "/mydata", reply=has(T("Your coordinator's note about you: “{note}”", other, note=NOTE))),
            # put on hold before approval: Pam is told in HER language, thanked, not "paused after all you did"
            Row("coordinator", payload=lambda v: f"vol:pause:{pam(v)}", reply=has(T("{name} is paused.", lang,
                                                                                   name="Pam")),
                told={"pam": has(T(ON_HOLD, other, name="Pam"))}, db=expect(status_of("pam"), "paused")),
            Row("coordinator", payload=lambda v: f"vlv:{pam(v)}",
                reply=has(T("paused", lang), NOTE, options=(lambda v: f"vol:ok:{pam(v)}", "coord:volunteers"))),
            Row("coordinator", payload=lambda v: f"vlv:clear:{pam(v)}",
                reply=has(T("The note is removed.", lang), lacks=(NOTE,)), db=expect(note_of("pam"), None)),
            Row("coordinator", payload=lambda v: f"vol:ok:{pam(v)}",
                told={"pam": has(T(APPROVED, other, name="Pam", neighbourhood="Demo"), options=("open",))},
                db=expect(status_of("pam"), "approved")),
            # the load this week against each cap, and who has not taken on a task for a month
            Do(_request_for_jan),
            Row("jan", payload=lambda v: f"claim:{v['req']}"),
            Do(_kim_joined_two_months_ago),
            Row("coordinator", payload="coord:volunteers",
                reply=has(load("Jan", 1, 5, lang), load("Kim", 0, 2, lang), load("Pam", 0, 5, lang),
                          T(NOT_ACTIVE, lang, names="Kim"),
                          options=(lambda v: f"vlv:{v['_pid']('kim')}", lambda v: f"vlv:{v['_pid']('jan')}")),
                silent=("kim", "jan", "pam")),
            Row("coordinator", payload=lambda v: f"vlv:{v['_pid']('jan')}",
                reply=has(load(str(T("This week", lang)), 1, 5, lang),
                          options=(lambda v: f"vol:pause:{v['_pid']('jan')}",))),
        ]
    )


@pytest.mark.parametrize("lang", ["nl", "fr"])
def test_pending_card_note_and_load_on_the_demo_channel(chat, lang):
    play(chat, story(lang))


def test_a_note_is_kept_only_while_there_is_a_volunteer_to_keep_it_about(chat):
    """Erasure takes the note with the person; a note longer than the column is refused in the model too."""
    play(chat, volunteer("pam", "Pam", "nl", approve=False) + [
        Row("coordinator", payload=lambda v: f"vlv:note:{v['_pid']('pam')}"),
        Row("coordinator", NOTE, db=expect(note_of("pam"), NOTE)),
        Row("pam", "/delete"),
        Row("pam", payload="delete:yes"),
    ])
    with chat.sessions() as s:
        assert not s.scalars(select(Person).where(Person.coordinator_note.is_not(None))).all()
    with chat.sessions() as s, s.begin():
        coordinator, kim = person(s, "coordinator"), Person(neighbourhood_id=person(s, "coordinator").neighbourhood_id,
                                                             first_name="Kim", is_volunteer=True,
                                                             volunteer_status="pending")
        s.add(kim)
        s.flush()
        with pytest.raises(NetworkError):
            set_coordinator_note(s, coordinator, kim, "x" * 501)
        resident_only = Person(neighbourhood_id=kim.neighbourhood_id, first_name="Rosa", is_resident=True)
        s.add(resident_only)
        s.flush()
        with pytest.raises(NetworkError):  # a note is about a volunteer, not about any neighbour
            set_coordinator_note(s, coordinator, resident_only, "x")


def test_a_note_typed_after_the_coordinator_lost_the_right_is_refused_and_not_saved(chat):
    """The note step checks again when the note arrives: a volunteer who moved to another
    neighbourhood meanwhile is no longer this coordinator's to write about."""
    def moved(s, v):
        nb = add_neighbourhood(s, "Elders", "elders", ["1050"])
        person(s, "pam").neighbourhood_id = nb.id

    play(chat, volunteer("pam", "Pam", "nl", approve=False) + [
        Row("coordinator", payload=lambda v: f"vlv:note:{v['_pid']('pam')}"),
        Do(moved),
        Row("coordinator", NOTE, reply=has(T("Sorry, only coordinators of this neighbourhood can do that.", "en")),
            silent=("pam",), db=expect(note_of("pam"), None)),
        Row("coordinator", "Nog iets", db=expect(note_of("pam"), None)),  # the question is closed, not open for ever
    ])


def test_the_pending_list_shows_three_at_a_time_and_says_how_many_more(chat):
    rows = [r for who in ("ann", "bob", "cas", "dirk") for r in volunteer(who, who.title(), "nl", approve=False)]
    play(chat, rows + [
        Row("coordinator", payload="coord:pending",
            reply=has("Ann", "Bob", "Cas", N("And {n} more: you will see them once these are answered.",
                                             "And {n} more: you will see them once these are answered.", 1, "en"),
                      lacks=("Dirk",), no_options=(lambda v: f"vol:ok:{v['_pid']('dirk')}",))),
        Row("coordinator", payload=lambda v: f"vol:ok:{v['_pid']('ann')}"),
        Row("coordinator", payload="coord:pending", reply=has("Dirk", options=(lambda v: f"vlv:{v['_pid']('dirk')}",),
                                                              lacks=("Ann",))),
    ])


def test_not_active_since_counts_claims_and_logged_calls_and_leaves_out_newcomers_and_paused(sessions):
    now = utcnow()
    since = now - timedelta(days=30)
    with sessions() as s, s.begin():
        nb = add_neighbourhood(s, "Noord", "noord", ["1030"])
        old = now - timedelta(days=90)

        def vol(name, status="approved", created=old):
            p = Person(neighbourhood_id=nb.id, first_name=name, is_volunteer=True, volunteer_status=status,
                       created_at=created)
            s.add(p)
            s.flush()
            return p

        claimed_lately, claimed_long_ago, called_lately, never = vol("Ann"), vol("Bob"), vol("Cas"), vol("Dirk")
        newcomer, paused = vol("Eva", created=now - timedelta(days=3)), vol("Fien", status="paused")
        maria = Person(neighbourhood_id=nb.id, first_name="Maria", is_resident=True)
        s.add(maria)
        s.flush()
        for who, when in ((claimed_lately, now - timedelta(days=2)), (claimed_long_ago, now - timedelta(days=45))):
            s.add(HelpRequest(neighbourhood_id=nb.id, requester_id=maria.id, category="shopping", description="x",
                              when_kind="tomorrow", status="done", claimed_by_id=who.id, claimed_at=when))
        s.add(FollowUp(kind="round", person_id=maria.id, neighbourhood_id=nb.id, assignee_id=called_lately.id,
                       status="done", acknowledged_at=now - timedelta(days=10)))
        s.flush()
        quiet = [p.first_name for p in not_active_since(s, nb.id, since)]
        assert quiet == ["Bob", "Dirk"], quiet
        assert set(last_active(s, [claimed_lately.id, called_lately.id, never.id])) == {claimed_lately.id,
                                                                                      called_lately.id}
        assert newcomer.id and paused.id


# ---- Telegram ------------------------------------------------------------------------------------------------------
WORDS = {"nl": {"yes": "ja", "no": "nee"}, "fr": {"yes": "oui", "no": "non"}}


def tg(lang: str, msgid: str, **params) -> str:
    return fill(catalog(lang).gettext(msgid), params, lang)


@pytest.fixture
def db_url(tmp_path, sqlite_template):
    import shutil

    path = tmp_path / "tg.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.mark.parametrize("lang", ["nl", "fr"])
async def test_pending_card_note_and_pause_on_telegram(telegram_fake, db_url, lang):  # noqa: F811
    from models.network import create_invite, neighbourhood_by_slug

    rt = build_runtime(telegram_fake, db_url)
    people = TelegramPeople(telegram_fake, rt)
    other = OTHER[lang]
    async with running(rt):
        with rt.sessions() as s, s.begin():
            code = create_invite(s, neighbourhood_by_slug(s, "demo"), "coordinator").code
        await people.say("Fatima", f"/start {code}", lang)
        await people.press("Fatima", f"lang:{lang}")
        await people.say("Fatima", WORDS[lang]["yes"], lang)
        await people.say("Fatima", "Fatima", lang)
        # Pam offers help in the other language
        await join(people, "Pam", other, "role:give")
        await people.say("Pam", "1 3", other)
        await people.say("Pam", other, other)
        await people.press("Pam", "cap:2")
        await people.say("Pam", WORDS[other]["no"], other)
        await people.await_button("Fatima", "vol:ok:")
        # the coordinator opens her list, then Pam's card, and writes a note
        await people.say("Fatima", "/menu", lang)
        await people.press("Fatima", "coord")
        got = await people.press("Fatima", "coord:pending")
        assert "Pam" in got[-1]["text"] and any(b.startswith("vlv:") for b in buttons_of(got[-1]))
        got = await people.press("Fatima", "vlv:")
        assert tg(lang, "waiting for approval") in got[-1]["text"]
        await people.press("Fatima", "vlv:note:")
        got = await people.say("Fatima", NOTE, lang)
        assert tg(lang, "Note saved.") in got[-1]["text"] and NOTE in got[-1]["text"]
        assert any(b.startswith("vlv:clear:") for b in buttons_of(got[-1]))
        # put on hold: Pam hears it in her own language; her /mydata shows the note
        before = len(people.sent_to("Pam"))
        await people.press("Fatima", "vol:pause:")
        await telegram_fake.await_until(lambda: len(people.sent_to("Pam")) > before, timeout=10, what="Pam told")
        assert people.last("Pam")["text"] == tg(other, ON_HOLD, name="Pam")
        got = await people.say("Pam", "/mydata", other)
        assert tg(other, "Your coordinator's note about you: “{note}”", note=NOTE) in got[-1]["text"]
        # the volunteers list: Pam paused, no load line for her, a card button
        await people.say("Fatima", "/menu", lang)
        await people.press("Fatima", "coord")
        got = await people.press("Fatima", "coord:volunteers")
        assert tg(lang, "{name} (paused)", name="Pam") in got[-1]["text"]
        with rt.sessions() as s:
            pam = s.scalar(select(Person).where(Person.first_name == "Pam"))
            assert pam.volunteer_status == "paused" and pam.coordinator_note == NOTE
            assert f"vlv:{pam.id}" in buttons_of(got[-1])
