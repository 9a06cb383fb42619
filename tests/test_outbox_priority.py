"""Bulk after people (DESIGN.md): the outbox's priority. A reply never waits behind a broadcast --
not in the queue (models.outbox.due), not in the sender's round (bot/channels/outbox_sender.py:
about a second of bulk per round, and a wake between two bulk sends takes the reply first) --
while one chat's messages of one kind keep their order. Real SQLite and PostgreSQL, the real
python-telegram-bot against the fake Bot API server; the sender's clock moves only when it waits."""
from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.channels.telegram.sender import TelegramSender
from bot.demo import seed
from handlers.core import Notifier
from models import ChannelIdentity, Outbox, Person
from models import outbox as queue
from models.base import utcnow
from tests.fakeclock import FakeClock
from tests.telegram_fake import RateLimits, TelegramFake, telegram_fake  # noqa: F401  (fixture)


pytestmark = pytest.mark.usefixtures("no_quiet_hours")  # the real clock: any hour

def put(session, address: str, text: str, purpose: str, **extra) -> Outbox:
    row = Outbox(idempotency_key=f"p:{address}:{text}", channel="telegram", address=address, language="nl",
                 purpose=purpose, priority=queue.priority_of(purpose), text=text, options=[], **extra)
    session.add(row)
    session.flush()
    return row


@pytest.mark.parametrize(("purpose", "priority"), [
    ("reply", 0), ("notify", 0), ("alert", 0), ("followup", 0), ("farewell", 0),
    ("checkin", 1), ("reminder", 1), ("round", 1),
    ("broadcast", 2), ("digest", 2),
])
def test_the_priority_of_each_purpose(purpose, priority):
    assert queue.priority_of(purpose) == priority
    assert (priority >= queue.BULK) == (purpose in ("broadcast", "digest"))


def test_the_notifier_writes_each_rows_priority(sessions):
    with sessions() as s, s.begin():
        nb = seed(s)
        person = Person(neighbourhood_id=nb.id, first_name="Maria", language="nl", languages_spoken=["nl"],
                        consent_at=utcnow(), consent_version="test")
        s.add(person)
        s.flush()
        s.add(ChannelIdentity(channel="telegram", address="4100", person_id=person.id, language="nl",
                              last_inbound_at=utcnow()))
        s.flush()
        notifier = Notifier(s, "prio:1")
        for purpose in ("notify", "reminder", "broadcast"):
            assert notifier.tell(person, lambda p=purpose: (f"een {p}", []), purpose=purpose)
        notifier.write()
    with sessions() as s:
        got = {r.purpose: r.priority for r in s.scalars(select(Outbox).where(Outbox.address == "4100"))}
    assert got == {"notify": 0, "reminder": 1, "broadcast": 2}


def test_a_reply_does_not_wait_behind_a_broadcast_row_of_its_chat(sessions):
    now = utcnow() + timedelta(seconds=1)  # every row written below is due
    with sessions() as s, s.begin():
        bc = put(s, "4200", "de buurtbrief", "broadcast")
        reply = put(s, "4200", "uw antwoord", "reply")
        other_bc = put(s, "4201", "de buurtbrief", "broadcast")
        ids = bc.id, reply.id, other_bc.id
    with sessions() as s, s.begin():
        got = [r.id for r in queue.due(s, "telegram", now)]
    assert got == [ids[1], ids[0], ids[2]]  # the reply first, then the broadcast in id order
    with sessions() as s, s.begin():  # the broadcast row on its way (leased) holds no reply back either
        queue.lease(s, [s.get(Outbox, ids[0])], now, "someone")
        put(s, "4200", "nog een antwoord", "reply")
    with sessions() as s, s.begin():
        assert [r.text for r in queue.due(s, "telegram", now)] == ["uw antwoord", "de buurtbrief"]


def test_one_chats_messages_of_one_kind_keep_their_order(sessions):
    now = utcnow() + timedelta(seconds=1)  # every row written below is due
    with sessions() as s, s.begin():
        put(s, "4300", "antwoord 1", "reply")
        put(s, "4300", "herinnering", "reminder")  # says first: waits for the reply before it
        put(s, "4300", "antwoord 2", "reply")  # the same priority as "antwoord 1": waits for it
        put(s, "4301", "de buurtbrief", "broadcast")
        put(s, "4301", "het weekoverzicht", "digest")  # bulk behind bulk of the same chat
        put(s, "4302", "later", "reply", next_attempt_at=now + timedelta(minutes=5))
        put(s, "4302", "herinnering later", "reminder")  # behind a more urgent row still waiting
    with sessions() as s, s.begin():
        assert [r.text for r in queue.due(s, "telegram", now)] == ["antwoord 1", "de buurtbrief"]


def test_due_takes_every_urgent_row_and_at_most_bulk_rows_of_bulk(sessions):
    now = utcnow() + timedelta(seconds=1)  # every row written below is due
    with sessions() as s, s.begin():
        for i in range(10):
            put(s, str(4400 + i), f"brief {i}", "broadcast")
        put(s, "4500", "antwoord", "reply")
        put(s, "4501", "check-in", "checkin")
    with sessions() as s, s.begin():
        got = [r.text for r in queue.due(s, "telegram", now, bulk=3)]
        assert got == ["antwoord", "check-in", "brief 0", "brief 1", "brief 2"]
        assert [r.text for r in queue.due(s, "telegram", now, bulk=0)] == ["antwoord", "check-in"]
        assert len(queue.due(s, "telegram", now)) == 12  # no bulk limit: everything due


async def test_a_reply_written_during_a_500_row_broadcast_goes_before_the_rest_of_it(sessions):
    """The reply is written (and the sender woken) after 100 of 500 broadcast messages went
    out; it goes next, before the next broadcast message: no round of 200 in front of it."""
    chats = [str(60_000 + i) for i in range(500)]
    with sessions() as s, s.begin():
        for chat in chats:
            put(s, chat, f"buurtbrief aan {chat}", "broadcast")
    clock = FakeClock()
    fake = TelegramFake(rate_limits=RateLimits(per_chat_per_second=1, overall_per_second=30, enforce=True),
                        clock=clock).start()
    written, started = {}, []  # started: the texts in the order the sender started sending them
    try:
        async with fake.make_bot() as bot:
            sender = None

            async def sleep(seconds: float) -> None:
                if not written and len(started) >= 100:
                    with sessions() as s, s.begin():  # Maria (still to get the broadcast) was answered
                        put(s, chats[-1], "uw antwoord", "reply")
                    written["after"] = len(started)
                    sender.wake()
                if sender.taking is not None:  # the query for the reply takes less than a slot
                    await asyncio.wait([sender.taking])
                await clock.sleep(seconds)

            sender = TelegramSender(bot, sessions, overall=30, per_chat=1, clock=clock, sleep=sleep)
            send = sender.attempt

            async def attempt(job):  # the real send, noting the order sends start in (arrivals may overtake)
                started.append(job.row.text)
                return await send(job)

            sender.attempt = attempt
            try:
                for _round in range(100):
                    if not await sender.drain_once():
                        break
            finally:
                sender.retire()
    finally:
        fake.stop()
    assert fake.rate_limit_hits == [] and not fake.violations
    sent = [(str(c.params["chat_id"]), c.params["text"]) for c in fake.calls_of("sendMessage")]
    assert sorted(sent) == sorted([(chat, f"buurtbrief aan {chat}") for chat in chats]
                                  + [(chats[-1], "uw antwoord")])  # each once
    position = started.index("uw antwoord")
    # before it: what had started, the broadcast message being paced when the wake came and the one or
    # two that went while the reply was being taken (the query does not hold up the pace) -- not a round
    assert written["after"] <= position <= written["after"] + 3, (written, position)
    assert started.index(f"buurtbrief aan {chats[-1]}") > 450  # Maria's broadcast row kept its turn
    assert sent.index((chats[-1], "uw antwoord")) < sent.index((chats[-1], f"buurtbrief aan {chats[-1]}"))
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Outbox).where(Outbox.status != "sent")) == 0


async def test_a_round_holds_about_a_second_of_bulk(telegram_fake, sessions):
    with sessions() as s, s.begin():
        for i in range(100):
            put(s, str(61_000 + i), f"brief {i}", "broadcast")
        put(s, "62000", "antwoord", "reply")
    async with telegram_fake.make_bot() as bot:
        sender = TelegramSender(bot, sessions, overall=30, per_chat=1)
        try:
            jobs = await asyncio.to_thread(sender._take)
        finally:
            sender.retire()
    assert [j.row.text for j in jobs[:1]] == ["antwoord"]
    assert len(jobs) == 1 + 30 and all(j.bulk for j in jobs[1:])


async def test_a_long_broadcast_stops_for_the_night_and_replies_still_go(telegram_fake, sessions, monkeypatch):
    """A broadcast that began at 20:50 does not go on sending after 21:00 (QUIET_HOURS); the
    reply to someone writing at 22:30 still goes, and the broadcast goes on at 08:00."""
    from datetime import datetime, time

    from handlers import quiet
    from models.base import TZ

    monkeypatch.setattr(quiet, "DEFAULT_QUIET", ("21:00", "08:00"))
    today = utcnow().astimezone(TZ).date() + timedelta(days=1)
    night = datetime.combine(today, time(22, 30), tzinfo=TZ)
    morning = datetime.combine(today + timedelta(days=1), time(8, 0), tzinfo=TZ)
    with sessions() as s, s.begin():
        for i in range(5):
            put(s, str(64_000 + i), f"brief {i}", "broadcast")
        put(s, "64100", "antwoord", "reply")
    async with telegram_fake.make_bot() as bot:
        texts = {}
        for label, at in (("night", night), ("morning", morning)):
            sender = TelegramSender(bot, sessions, overall=30, per_chat=1, now=lambda at=at: at)
            try:
                texts[label] = [j.row.text for j in await asyncio.to_thread(sender._take)]
            finally:
                sender.retire()
    assert texts["night"] == ["antwoord"]
    assert texts["morning"][1:] == [f"brief {i}" for i in range(5)]  # the reply was handed back: it goes again


async def test_a_broadcast_row_whose_chat_just_had_its_reply_does_not_hold_up_the_others(sessions):
    """Telegram allows one message a second per chat. The reply to a chatter goes first; their
    broadcast row, next in the round, goes back to the queue rather than stopping every send
    until their chat is ready again; it goes a round later."""
    chats = [str(63_000 + i) for i in range(30)]
    with sessions() as s, s.begin():
        for chat in chats:
            put(s, chat, f"brief aan {chat}", "broadcast")
    clock = FakeClock()
    fake = TelegramFake(rate_limits=RateLimits(per_chat_per_second=1, overall_per_second=30, enforce=True),
                        clock=clock).start()
    started: list[tuple[float, str]] = []
    written: list[int] = []
    try:
        async with fake.make_bot() as bot:
            sender = None

            async def sleep(seconds: float) -> None:
                if len(started) >= 5 and not written:
                    with sessions() as s, s.begin():  # chats[20] wrote and was answered
                        put(s, chats[20], "uw antwoord", "reply")
                    written.append(len(started))
                    sender.wake()
                if sender.taking is not None:
                    await asyncio.wait([sender.taking])
                await clock.sleep(seconds)

            sender = TelegramSender(bot, sessions, overall=30, per_chat=1, clock=clock, sleep=sleep)
            send = sender.attempt

            async def attempt(job):
                started.append((clock(), job.row.text))
                return await send(job)

            sender.attempt = attempt
            try:
                for _round in range(10):
                    if not await sender.drain_once():
                        if len(started) == len(chats) + 1:
                            break
                        await clock.sleep(0.5)  # nothing ready yet: the run loop's idle wait
            finally:
                sender.retire()
    finally:
        fake.stop()
    assert fake.rate_limit_hits == [] and not fake.violations
    texts = [text for _, text in started]
    assert sorted(texts) == sorted([f"brief aan {chat}" for chat in chats] + ["uw antwoord"])  # each once
    assert texts.index("uw antwoord") < texts.index(f"brief aan {chats[20]}")
    assert texts[-1] == f"brief aan {chats[20]}"  # it went back and came a round later
    first_round = [at for at, text in started if text != f"brief aan {chats[20]}"]
    gaps = [b - a for a, b in zip(first_round, first_round[1:])]
    assert max(gaps) < 0.5, gaps  # no send waited for that chat's second (the pace is 1/30 s)
    reply_at = next(at for at, text in started if text == "uw antwoord")
    assert started[-1][0] - reply_at >= 1.0  # and that chat still got one message a second


async def test_a_sender_stopped_mid_broadcast_hands_back_every_row_it_took(sessions):
    """run() takes the next round while the last row of a round goes; stopped in between, those
    rows are handed back (not left leased for two minutes) and the next sender sends each once."""
    chats = [str(64_000 + i) for i in range(200)]
    with sessions() as s, s.begin():
        for chat in chats:
            put(s, chat, f"brief aan {chat}", "broadcast")
    clock = FakeClock()
    fake = TelegramFake(rate_limits=RateLimits(per_chat_per_second=1, overall_per_second=30, enforce=True),
                        clock=clock).start()
    try:
        async with fake.make_bot() as bot:
            first = TelegramSender(bot, sessions, overall=30, per_chat=1, clock=clock, sleep=clock.sleep)
            running = asyncio.create_task(first.run())
            await fake.await_until(lambda: len(fake.calls_of("sendMessage")) >= 45 and first.ahead is not None,
                                   timeout=30, what="a round taken ahead")
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)
            with sessions() as s:
                statuses = Counter(s.scalars(select(Outbox.status)))
            assert set(statuses) <= {"sent", "pending"} and statuses["pending"] > 0, statuses
            await clock.sleep(1.0)  # the next sender starts with no second of sends behind it
            second = TelegramSender(bot, sessions, overall=30, per_chat=1, clock=clock, sleep=clock.sleep)
            try:
                for _round in range(20):
                    if not await second.drain_once():
                        break
            finally:
                second.retire()
    finally:
        fake.stop()
    per_chat = Counter(str(c.params["chat_id"]) for c in fake.calls_of("sendMessage"))
    assert per_chat == Counter(chats) and fake.rate_limit_hits == []  # each once, within the limits
    with sessions() as s:
        assert set(s.scalars(select(Outbox.status))) == {"sent"}
