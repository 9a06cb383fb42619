"""Reminders around a task (issue 11): after a claim the volunteer says when they will come,
both hear a one-time doorstep word, and timer rows fall due at the right instants -- driven by
an explicit clock (the sweep's ``now``), through the real dispatcher on the demo channel and
the real Telegram channel, in Dutch and French."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import select, update

from handlers.i18n import format_day, speaking
from handlers.lexicon import directory, read_lines
from handlers.quiet import quiet_until
from handlers.reminders import local_instant, read_visit, sweep_timers
from models import HelpRequest, Outbox, Person
from models.base import TZ, utcnow
from models.schedules import Timer
from tests.flowkit import T, pid, play, resident, volunteer
from tests.telegram_fake import telegram_fake  # noqa: F401  (fixture)
from tests.tgkit import TelegramPeople, build_runtime, buttons_of, join, running, settled

LANGS = ["nl", "fr"]
TYPED = {"nl": ("overmorgen om 14:30", "morgen", "22u30"), "fr": ("après-demain à 14h30", "demain", "22h30")}
MINUTE = timedelta(minutes=1)


def ask(chat, who: str, words: str, when: str = "week") -> int:
    """``who`` (joined) asks for help with shopping; returns the request id."""
    chat.send(who, payload="ask")
    chat.send(who, payload="cat:shopping")
    chat.send(who, words)
    chat.send(who, payload=f"when:{when}")
    chat.send(who, "Kerkstraat 12")
    chat.send(who, payload="yes")
    with chat.sessions() as s:
        return s.scalar(select(HelpRequest.id).order_by(HelpRequest.id.desc()).limit(1))


def tick(sessions, at: datetime) -> int:
    """One run of the timers sweep, as if it were ``at``."""
    with sessions() as s, s.begin():
        return sweep_timers(s, at)


def due(at: datetime) -> datetime:
    """When a timer due ``at`` is sent: after the default quiet hours (the test may run at any hour)."""
    return quiet_until(at) or at


def timers(sessions, request_id: int) -> dict[str, tuple[str, datetime]]:
    with sessions() as s:
        return {t.kind: (t.status, t.due_at) for t in s.scalars(select(Timer).where(Timer.request_id == request_id))}


def texts(msgs: list[dict]) -> str:
    return "\n".join(m["text"] for m in msgs)


def payloads_of(msgs: list[dict]) -> list[str]:
    return [o["payload"] for m in msgs for o in m["options"]]


def today() -> date:
    return utcnow().astimezone(TZ).date()


def claimed_with_people(chat, lang: str, when: str = "week") -> int:
    play(chat, volunteer("jan", "Jan", lang))
    play(chat, resident("maria", "Maria", lang))
    rid = ask(chat, "maria", "Melk en brood")
    chat.new("jan")
    return rid


def claim_and_visit(chat, lang: str, day: date, hhmm: str = "1000") -> tuple[int, str]:
    rid = claimed_with_people(chat, lang)
    chat.send("jan", payload=f"claim:{rid}")
    chat.send("jan", payload=f"rm:at:{day:%Y%m%d}{hhmm}:{rid}")
    chat.new("maria")
    with chat.sessions() as s:
        return rid, s.get(HelpRequest, rid).doorstep_word


@pytest.mark.parametrize("lang", LANGS)
def test_claim_when_word_reminders_and_it_happened(chat, lang):
    rid = claimed_with_people(chat, lang)
    got = chat.send("jan", payload=f"claim:{rid}")
    with chat.sessions() as s:
        word = s.get(HelpRequest, rid).doorstep_word
    assert word in read_lines(directory() / "lexicon" / lang / "doorstep.txt")  # the requester's language
    assert str(T("Say the word “{word}” at the door.", lang, word=word)) in got[-1]["text"]
    assert f"rm:day:{today():%Y%m%d}:{rid}" in payloads_of(got[-1:])
    assert str(T("{name} will say the word “{word}” at your door.", lang, name="Jan", word=word)) in texts(
        chat.new("maria"))

    day = today() + timedelta(days=3)
    got = chat.send("jan", payload=f"rm:day:{day:%Y%m%d}:{rid}")
    assert f"rm:at:{day:%Y%m%d}1000:{rid}" in payloads_of(got) and f"rm:days:{rid}" in payloads_of(got)
    got = chat.send("jan", payload=f"rm:at:{day:%Y%m%d}1000:{rid}")
    with speaking(lang):
        when = str(T("{day} at {time}", lang, day=format_day(day), time="10:00"))
    assert str(T("Thank you! {name} will know you are coming {when}. I will remind you the evening before and an hour "
                 "before.", lang, name="Maria", when=when)) in texts(got)
    told = texts(chat.new("maria"))
    assert str(T("{name} is coming {when} for request #{id}.", lang, name="Jan", when=when, id=rid)) in told
    assert str(T("{name} will say the word “{word}” at your door.", lang, name="Jan", word=word)) in told

    visit = local_instant(day, time(10))
    evening = local_instant(day - timedelta(days=1), time(19))
    with chat.sessions() as s:
        assert s.get(HelpRequest, rid).visit_at == visit
    assert timers(chat.sessions, rid) == {
        "unclaimed": ("cancelled", timers(chat.sessions, rid)["unclaimed"][1]),
        "still_needed": ("cancelled", timers(chat.sessions, rid)["still_needed"][1]),
        "evening": ("pending", evening), "hour": ("pending", visit - timedelta(hours=1)),
        "happened": ("pending", visit + timedelta(hours=2))}

    # the evening before, at 19:00 -- not a minute earlier, and once however often the sweep runs
    assert tick(chat.sessions, evening - MINUTE) == 0 and chat.new("jan") == []
    assert tick(chat.sessions, evening) == 1
    reminder = chat.new("jan")
    assert str(T("Say the word “{word}” at the door.", lang, word=word)) in texts(reminder)
    assert f"#{rid}" in texts(reminder) and f"handback:{rid}" in payloads_of(reminder)
    assert f"rm:days:{rid}" in payloads_of(reminder)  # "Change the time"
    assert tick(chat.sessions, evening) == 0 and tick(chat.sessions, evening + MINUTE) == 0
    assert chat.new("jan") == [] and chat.new("maria") == []
    with chat.sessions() as s:
        rows = s.scalars(select(Outbox).where(Outbox.idempotency_key.like("timer:%"))).all()
        assert [r.purpose for r in rows] == ["reminder"]

    # one hour before
    assert tick(chat.sessions, visit - timedelta(hours=1)) == 1
    assert "10:00" in texts(chat.new("jan")) and chat.new("maria") == []

    # two hours after: "did it happen?" to both
    assert tick(chat.sessions, visit + timedelta(hours=2)) == 1
    to_jan, to_maria = chat.new("jan"), chat.new("maria")
    assert str(T("Did your visit to {name} for request #{id} happen?", lang, name="Maria", id=rid)) in texts(to_jan)
    assert str(T("Did {name} come for request #{id}?", lang, name="Jan", id=rid)) in texts(to_maria)
    assert {f"rm:did:{rid}", f"rm:didnt:{rid}"} <= set(payloads_of(to_jan)) & set(payloads_of(to_maria))
    assert tick(chat.sessions, visit + timedelta(hours=3)) == 0

    # Maria: yes -> done by the existing path; she may thank Jan, Jan hears it is done
    got = chat.send("maria", payload=f"rm:did:{rid}")
    assert f"thanks:{rid}" in payloads_of(got)
    done = T("{name} marked request #{id} as done. Thank you for helping! 🌻", lang, name="Maria", id=rid)
    assert str(done) in texts(chat.new("jan"))
    with chat.sessions() as s:
        assert s.get(HelpRequest, rid).status == "done"
    got = chat.send("jan", payload=f"rm:did:{rid}")  # Jan's yes comes later: nothing twice
    assert str(T("Thank you! Request #{id} is already closed.", lang, id=rid)) in texts(got)
    assert chat.new("maria") == []


@pytest.mark.parametrize("lang", LANGS)
def test_a_typed_time_and_a_visit_that_did_not_happen(chat, lang):
    rid = claimed_with_people(chat, lang)
    chat.send("jan", payload=f"claim:{rid}")
    chat.send("jan", "blabla")  # not a day: asked again, nothing stored
    with chat.sessions() as s:
        assert s.get(HelpRequest, rid).visit_at is None
    assert chat.last("jan")["options"][0]["payload"].startswith("rm:day:")
    chat.send("jan", TYPED[lang][0])  # "overmorgen om 14:30"
    visit = local_instant(today() + timedelta(days=2), time(14, 30))
    with chat.sessions() as s:
        assert s.get(HelpRequest, rid).visit_at == visit
    chat.new("maria")
    assert tick(chat.sessions, visit + timedelta(hours=2)) >= 1
    chat.new("coordinator")
    got = chat.send("jan", payload=f"rm:didnt:{rid}")
    assert str(T("Thank you for letting us know. The coordinator will get in touch.", lang)) in texts(got)
    alert = chat.new("coordinator")
    assert f"#{rid}" in texts(alert) and any(p.startswith("alert:take:") for p in payloads_of(alert))
    with chat.sessions() as s:
        assert s.get(HelpRequest, rid).status == "claimed"  # the coordinator decides


@pytest.mark.parametrize("lang", LANGS)
def test_a_day_typed_then_a_part_of_the_day(chat, lang):
    rid = claimed_with_people(chat, lang)
    chat.send("jan", payload=f"claim:{rid}")
    got = chat.send("jan", TYPED[lang][1])  # "morgen": the time is asked next
    tomorrow = today() + timedelta(days=1)
    assert f"rm:at:{tomorrow:%Y%m%d}1400:{rid}" in payloads_of(got)
    chat.send("jan", payload=f"rm:at:{tomorrow:%Y%m%d}1400:{rid}")
    with chat.sessions() as s:
        assert s.get(HelpRequest, rid).visit_at == local_instant(tomorrow, time(14))


@pytest.mark.parametrize("lang", LANGS)
def test_the_volunteer_changes_the_time_and_the_requester_hears_it(chat, lang):
    day = today() + timedelta(days=3)
    rid, word = claim_and_visit(chat, lang, day)
    got = chat.send("jan", payload=f"rm:days:{rid}")  # "Change the time", from a reminder
    later = day + timedelta(days=1)
    assert f"rm:day:{later:%Y%m%d}:{rid}" in payloads_of(got)
    chat.send("jan", payload=f"rm:at:{later:%Y%m%d}1800:{rid}")
    with speaking(lang):
        when = str(T("{day} at {time}", lang, day=format_day(later), time="18:00"))
    told = texts(chat.new("maria"))
    assert str(T("{name} is coming {when} for request #{id}.", lang, name="Jan", when=when, id=rid)) in told
    assert word in told
    visit = local_instant(later, time(18))
    kinds = timers(chat.sessions, rid)
    assert kinds["hour"] == ("pending", visit - timedelta(hours=1))
    assert kinds["evening"] == ("pending", local_instant(day, time(19)))
    assert kinds["happened"] == ("pending", visit + timedelta(hours=2))


def test_claim_pressed_again_asks_when_until_it_is_answered(chat):
    rid = claimed_with_people(chat, "nl")
    chat.send("jan", payload=f"claim:{rid}")
    chat.send("jan", payload="menu")
    got = chat.send("jan", payload=f"claim:{rid}")
    assert any(p.startswith("rm:day:") for p in payloads_of(got[-1:]))
    chat.send("jan", payload=f"rm:at:{today() + timedelta(days=3):%Y%m%d}1000:{rid}")
    got = chat.send("jan", payload=f"claim:{rid}")
    assert not any(p.startswith("rm:") for p in payloads_of(got))


def test_a_request_with_a_day_asks_only_the_time(chat):
    play(chat, volunteer("jan", "Jan"))
    play(chat, resident("maria", "Maria"))
    rid = ask(chat, "maria", "Melk en brood", when="tomorrow")
    got = chat.send("jan", payload=f"claim:{rid}")
    tomorrow = today() + timedelta(days=1)
    assert f"rm:at:{tomorrow:%Y%m%d}1000:{rid}" in payloads_of(got[-1:])
    assert not any(p.startswith("rm:day:") for p in payloads_of(got))


def test_someone_else_cannot_set_the_visit(chat):
    rid = claimed_with_people(chat, "nl")
    play(chat, volunteer("piet", "Piet"))
    chat.send("jan", payload=f"claim:{rid}")
    day = today() + timedelta(days=3)
    chat.send("piet", payload=f"rm:at:{day:%Y%m%d}1000:{rid}")
    chat.send("maria", payload=f"rm:at:{day:%Y%m%d}1000:{rid}")
    chat.send("jan", payload=f"rm:at:2026139{rid}")  # malformed: the day question again, no traceback
    assert chat.result == "ok"
    with chat.sessions() as s:
        assert s.get(HelpRequest, rid).visit_at is None


@pytest.mark.parametrize("lang", LANGS)
def test_hand_back_and_cancel_stop_the_reminders(chat, lang):
    day = today() + timedelta(days=3)
    rid, _word = claim_and_visit(chat, lang, day)
    visit = local_instant(day, time(10))
    chat.send("jan", payload=f"handback:{rid}")
    kinds = timers(chat.sessions, rid)
    assert {k: kinds[k][0] for k in ("evening", "hour", "happened")} == dict.fromkeys(
        ("evening", "hour", "happened"), "cancelled")
    assert kinds["unclaimed"][0] == "pending"  # open again: the coordinators hear if nobody takes it
    with chat.sessions() as s:
        req = s.get(HelpRequest, rid)
        assert req.visit_at is None and req.doorstep_word is None
    chat.new("jan")
    tick(chat.sessions, visit - timedelta(hours=1))
    assert chat.new("jan") == []
    chat.send("maria", payload=f"cancel:{rid}")
    assert all(status != "pending" for status, _at in timers(chat.sessions, rid).values())


@pytest.mark.parametrize("lang", LANGS)
def test_unclaimed_goes_to_the_coordinators_once(chat, lang):
    rid = claimed_with_people(chat, lang)
    status, at = timers(chat.sessions, rid)["unclaimed"]
    assert status == "pending" and abs(at - (utcnow() + timedelta(hours=24))) < timedelta(minutes=5)
    chat.new("coordinator")
    assert tick(chat.sessions, at - MINUTE) == 0 and chat.new("coordinator") == []
    assert tick(chat.sessions, due(at)) == 1
    alert = chat.new("coordinator")
    assert f"#{rid}" in texts(alert) and any(p.startswith("alert:take:") for p in payloads_of(alert))
    assert tick(chat.sessions, due(at) + timedelta(hours=1)) == 0 and chat.new("coordinator") == []
    assert chat.new("maria") == [] and chat.new("jan") == []


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("still", [True, False])
def test_still_needed_after_days(chat, lang, still):
    rid = claimed_with_people(chat, lang)
    status, at = timers(chat.sessions, rid)["still_needed"]
    assert status == "pending" and abs(at - (utcnow() + timedelta(days=3))) < timedelta(minutes=5)
    tick(chat.sessions, due(at))
    asked = chat.new("maria")
    with speaking(lang):
        from handlers.labels import category
        label = category("shopping")
    assert str(T("Nobody has taken your request #{id} ({category}) yet. Is help still needed?", lang, id=rid,
                 category=label)) in texts(asked)
    got = chat.send("maria", payload=f"rm:{'need' if still else 'noneed'}:{rid}")
    with chat.sessions() as s:
        assert s.get(HelpRequest, rid).status == ("open" if still else "cancelled")
    expected = (T("All right, request #{id} stays open. We keep looking for someone.", lang, id=rid) if still
                else T("Request #{id} is cancelled.", lang, id=rid))
    assert str(expected) in texts(got)
    assert tick(chat.sessions, due(at) + timedelta(days=1)) == 0 and chat.new("maria") == []


def test_quiet_hours_postpone_and_a_reminder_too_late_is_not_sent(chat):
    day = today() + timedelta(days=2)
    rid, _word = claim_and_visit(chat, "nl", day, "2230")
    visit = local_instant(day, time(22, 30))
    hour = visit - timedelta(hours=1)  # 21:30: quiet
    morning = local_instant(day + timedelta(days=1), time(8))
    assert tick(chat.sessions, local_instant(day - timedelta(days=1), time(19))) == 1  # the evening before
    assert len(chat.new("jan")) == 1
    assert tick(chat.sessions, hour) == 1 and chat.new("jan") == []
    assert timers(chat.sessions, rid)["hour"] == ("pending", morning)  # postponed, not sent
    assert tick(chat.sessions, visit + timedelta(hours=2)) == 1 and chat.new("jan") == []  # 00:30: quiet too
    assert tick(chat.sessions, morning) == 2
    kinds = timers(chat.sessions, rid)
    assert kinds["hour"][0] == "missed" and kinds["happened"][0] == "done"  # the visit was last night
    to_jan = chat.new("jan")
    assert len(to_jan) == 1 and f"rm:did:{rid}" in payloads_of(to_jan)


def test_the_weekly_cap_skips_a_reminder(chat):
    day = today() + timedelta(days=3)
    rid, _word = claim_and_visit(chat, "nl", day)
    evening = local_instant(day - timedelta(days=1), time(19))
    with chat.sessions() as s, s.begin():
        jan = s.get(Person, pid(s, "jan"))
        identity = jan.identities[0]
        for n in range(14):
            s.add(Outbox(idempotency_key=f"cap:{n}", channel="demo", address="nobody", identity_id=identity.id,
                         language="nl", purpose="reminder", text="-", status="sent", created_at=evening))
    chat.new("jan")
    assert tick(chat.sessions, evening) == 1
    assert chat.new("jan") == [] and timers(chat.sessions, rid)["evening"][0] == "skipped"


def test_two_sweeps_one_after_the_other_send_a_timer_once(chat):
    """Also on PostgreSQL: a timer leased by one sweep is not taken by the next before it is done."""
    day = today() + timedelta(days=3)
    rid, _word = claim_and_visit(chat, "nl", day)
    hour = local_instant(day, time(9))
    with chat.sessions() as s, s.begin():
        s.execute(update(Timer).where(Timer.kind == "evening").values(status="cancelled"))
    assert tick(chat.sessions, hour) + tick(chat.sessions, hour) == 1
    with chat.sessions() as s:
        assert len(s.scalars(select(Outbox).where(Outbox.idempotency_key.like("timer:%"))).all()) == 1


def test_a_sweep_skips_the_timers_another_sweep_holds(chat):
    """Two instances on one PostgreSQL database: the second sweep skips the rows the first one
    has locked (FOR UPDATE SKIP LOCKED) and the reminder goes out once. SQLite has one writer:
    there the second sweep runs after the first and finds the timer done."""
    day = today() + timedelta(days=3)
    rid, _word = claim_and_visit(chat, "nl", day)
    hour = local_instant(day, time(9))
    with chat.sessions() as s, s.begin():
        s.execute(update(Timer).where(Timer.kind == "evening").values(status="cancelled"))
    with chat.sessions() as first, first.begin():
        assert sweep_timers(first, hour) == 1
        if first.get_bind().dialect.name == "postgresql":
            with chat.sessions() as second, second.begin():
                assert sweep_timers(second, hour) == 0  # held by the first: skipped, not waited for
    assert tick(chat.sessions, hour) == 0
    assert len(chat.new("jan")) == 1 and timers(chat.sessions, rid)["hour"][0] == "done"


@pytest.mark.parametrize("text, lang, day, at", [
    ("10u", "nl", None, time(10)), ("14:30", "nl", None, time(14, 30)), ("14.30", "nl", None, time(14, 30)),
    ("morgen om 10 uur", "nl", 1, time(10)), ("dinsdagnamiddag", "nl", 1, time(14)),
    ("demain à 14h", "fr", 1, time(14)), ("jeudi 10h30", "fr", 3, time(10, 30)), ("demain matin", "fr", 1, time(10)),
    ("morgen", "nl", 1, None), ("bla", "nl", None, None), ("2 pm", "en", None, time(14)),
    ("après-demain soir", "fr", 2, time(18)), ("25:00", "nl", None, None),
])
def test_read_visit(text, lang, day, at):
    monday = date(2026, 12, 7)
    assert read_visit(text, lang, monday) == (monday + timedelta(days=day) if day is not None else None, at)


def test_every_language_has_doorstep_words():
    for lang in ("nl", "fr", "en", "ar", "tr", "es", "pt", "it", "pl", "ro"):
        words = read_lines(directory() / "lexicon" / lang / "doorstep.txt")
        assert len(words) >= 35 and len(set(words)) == len(words), lang
        assert all(" " not in w and len(w) <= 40 for w in words), lang


# ---- Telegram -----------------------------------------------------------------------------------

@pytest.fixture
def db_url(tmp_path, sqlite_template):
    import shutil

    path = tmp_path / "tg.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.mark.parametrize("lang", LANGS)
async def test_telegram_claim_when_word_and_reminder(telegram_fake, db_url, lang):  # noqa: F811
    rt = build_runtime(telegram_fake, db_url)
    people = TelegramPeople(telegram_fake, rt)
    no = {"nl": "nee", "fr": "non"}[lang]
    async with running(rt):
        await join(people, "Jan", lang, "role:give")
        await people.say("Jan", "1 3", lang)
        await people.say("Jan", lang, lang)
        await people.press("Jan", "cap:2")
        await people.say("Jan", no, lang)
        with rt.sessions() as s, s.begin():
            s.execute(update(Person).where(Person.first_name == "Jan").values(volunteer_status="approved"))
        await join(people, "Maria", lang, "role:help")
        await people.press("Maria", "cat:shopping")
        await people.say("Maria", "Een pak water", lang)
        await people.press("Maria", "when:week")
        await people.say("Maria", "Kerkstraat 12, 1040 Etterbeek", lang)
        await people.press("Maria", "yes")
        await people.await_button("Jan", "claim:")
        got = await people.press("Jan", "claim:")
        with rt.sessions() as s:
            req = s.scalar(select(HelpRequest))
            rid, word = req.id, req.doorstep_word
        assert any(word in m["text"] and f"rm:day:{today():%Y%m%d}:{rid}" in buttons_of(m) for m in got)
        day = today() + timedelta(days=3)
        await people.press("Jan", f"rm:day:{day:%Y%m%d}:")
        await people.press("Jan", f"rm:at:{day:%Y%m%d}1800:")
        await people.await_button("Maria", "msg:")
        await settled(telegram_fake, rt)
        with speaking(lang):
            when = str(T("{day} at {time}", lang, day=format_day(day), time="18:00"))
        told = "\n".join(m["text"] for m in people.sent_to("Maria"))
        assert str(T("{name} is coming {when} for request #{id}.", lang, name="Jan", when=when, id=rid)) in told
        assert word in told
        visit = local_instant(day, time(18))
        assert tick(rt.sessions, local_instant(day - timedelta(days=1), time(19))) == 1  # the evening before
        await settled(telegram_fake, rt)
        assert word in people.last("Jan")["text"] and "18:00" in people.last("Jan")["text"]
        assert tick(rt.sessions, visit - timedelta(hours=1)) == 1
        await settled(telegram_fake, rt)
        assert word in people.last("Jan")["text"] and "#" in people.last("Jan")["text"]
        assert tick(rt.sessions, visit + timedelta(hours=2)) == 1
        await people.press("Jan", "rm:did:")
        assert await people.await_button("Maria", "thanks:")
        with rt.sessions() as s:
            assert s.get(HelpRequest, rid).status == "done"
