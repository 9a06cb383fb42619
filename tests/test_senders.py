"""The outbox sender core (bot/channels/outbox_sender.py) under crashes, bad rows and several
instances: a dead sender's leases are taken over at once (issue 9, point 6), one chat's
messages keep their order across a crash (7), a row that can never be sent fails once and
blocks nothing (8), and two processes on one PostgreSQL keep the platform's rate once (10).
Real python-telegram-bot against the fake Bot API server, the real twilio client against
Prism, real SQLite and PostgreSQL; clocks are injected, nothing waits on wall time."""
from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text, update

from bot.channels.outbox_sender import HOST, LEASE, STALE
from bot.channels.telegram.sender import TelegramSender
from models import Outbox
from models.base import utcnow
from models.db import make_engine, make_sessionmaker
from models.messaging import SenderHeartbeat
from models.schema import upgrade
from tests.conftest import fresh_pg_database
from tests.telegram_fake import RateLimits, TelegramFake, telegram_fake  # noqa: F401  (fixture)
from tests.twilio_edge import prism, twilio_edge  # noqa: F401  (fixtures)

ROOT = Path(__file__).resolve().parent.parent


def queue(sessions, chat: str, text: str, **extra) -> int:
    with sessions() as s, s.begin():
        row = Outbox(idempotency_key=f"t:{chat}:{text}", channel="telegram", address=chat, language="nl",
                     purpose="test", text=text, options=[], **extra)
        s.add(row)
        s.flush()
        return row.id


@contextlib.asynccontextmanager
async def telegram_sender(fake, sessions, **core):
    """A sender on a real Bot, as fast as the test likes; stopped cleanly afterwards (on
    PostgreSQL it holds the channel's lock until then)."""
    async with fake.make_bot() as bot:
        sender = TelegramSender(bot, sessions, **{"overall": 1000, "per_chat": 10**6, **core})
        try:
            yield sender
        finally:
            sender.retire()


def leased_by_a_sender(sessions, ids: list[int], owner: str, host: str, pid: int, last_seen) -> None:
    """What a sender leaves behind when it dies mid-round: its rows "sending" for LEASE
    seconds in its name, and its last heartbeat."""
    with sessions() as s, s.begin():
        s.execute(update(Outbox).where(Outbox.id.in_(ids))
                  .values(status="sending", leased_by=owner, next_attempt_at=utcnow() + timedelta(seconds=LEASE)))
        s.add(SenderHeartbeat(owner=owner, channel="telegram", host=host, pid=pid, started_at=last_seen,
                              last_seen=last_seen))


def a_finished_pid() -> int:
    """The pid of a process of this host that has ended."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def sent_texts(fake) -> dict[str, list[str]]:
    by_chat = defaultdict(list)
    for call in fake.calls_of("sendMessage"):
        by_chat[str(call.params["chat_id"])].append(call.params["text"])
    return by_chat


def rows(sessions) -> dict[int, Outbox]:
    with sessions() as s:
        return {r.id: r for r in s.scalars(select(Outbox))}


# ---- 6. a dead sender's leases ----------------------------------------------------------------
@pytest.mark.parametrize("death", ["process gone from this host", "heartbeat stale on another host"])
async def test_rows_leased_by_a_dead_sender_are_sent_at_once(telegram_fake, sessions, death):
    dead = [queue(sessions, str(9000 + i), f"bericht {i}") for i in range(5)]
    alive = [queue(sessions, "9100", "nog onderweg")]
    now = utcnow()
    later = now + STALE + timedelta(seconds=5)  # the new sender's clock: well inside the 120 s lease
    if death == "process gone from this host":  # its last beat is fresh: only its pid tells
        leased_by_a_sender(sessions, dead, "gone", HOST, a_finished_pid(), later)
    else:
        leased_by_a_sender(sessions, dead, "gone", "elsewhere", 1, now)
    # a sender on another host that beat just now (by the new sender's clock) is alive: its rows stay its own
    leased_by_a_sender(sessions, alive, "alive", "elsewhere", 1, later)
    async with telegram_sender(telegram_fake, sessions, now=lambda: later) as sender:
        assert await sender.drain_once()
        with sessions() as s:  # the dead sender's beat is gone, the live one's and ours remain
            assert set(s.scalars(select(SenderHeartbeat.owner))) == {"alive", sender.owner}
    assert sorted(sent_texts(telegram_fake)) == [str(9000 + i) for i in range(5)]  # each once, none of 9100
    got = rows(sessions)
    assert all(got[i].status == "sent" and got[i].leased_by == sender.owner and got[i].attempts == 1 for i in dead)
    assert got[alive[0]].status == "sending" and got[alive[0]].leased_by == "alive"


async def test_a_clean_stop_hands_its_rows_back_and_ends_its_beat(telegram_fake, sessions):
    ids = [queue(sessions, str(9200 + i), f"bericht {i}") for i in range(3)]
    async with telegram_sender(telegram_fake, sessions) as sender:
        await asyncio.to_thread(sender._beat)
        assert len(await asyncio.to_thread(sender._take)) == 3  # leased, then the process is told to stop
    got = rows(sessions)
    assert all(got[i].status == "pending" for i in ids)
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(SenderHeartbeat)) == 0


# ---- 7. order per chat across a crash -------------------------------------------------------
async def test_each_chats_messages_keep_their_order_across_a_crash_mid_round(telegram_fake, sessions):
    chats = [str(7000 + i) for i in range(40)]
    for n in (1, 2):
        for chat in chats:
            queue(sessions, chat, f"{chat}: bericht {n}")
    telegram_fake.script_error("drop", "sendMessage", chat_id=7003)  # a network error: retried later
    clock = {"now": utcnow()}
    async with telegram_sender(telegram_fake, sessions, now=lambda: clock["now"]) as first, \
            telegram_sender(telegram_fake, sessions, now=lambda: clock["now"]) as second:
        await asyncio.to_thread(first._beat)
        jobs = await asyncio.to_thread(first._take)  # the round: the first message of every chat
        assert sorted(j.row.address for j in jobs) == chats
        for job in jobs[:15]:  # fifteen go out, then the process is killed
            first.in_flight += 1
            await first._send(job)
        first.lock.release()  # killed: its connection closes, its beat stops
        with sessions() as s, s.begin():
            s.execute(update(SenderHeartbeat).values(last_seen=clock["now"] - STALE - timedelta(seconds=1)))
        for chat in chats:  # the people wrote meanwhile: more replies queued behind
            queue(sessions, chat, f"{chat}: bericht 3")
        for _round in range(20):
            if not await second.drain_once():
                clock["now"] += timedelta(seconds=301)  # past any backoff (and nothing more)
            with sessions() as s:
                if not s.scalar(select(func.count()).select_from(Outbox).where(Outbox.status != "sent")):
                    break
    got = sent_texts(telegram_fake)
    assert {chat: got[chat] for chat in chats} == {chat: [f"{chat}: bericht {n}" for n in (1, 2, 3)] for chat in chats}
    retried = [r for r in rows(sessions).values() if r.address == "7003"]
    assert sorted(r.attempts for r in retried) == [1, 1, 2]  # the first one needed a second try


async def test_a_later_message_waits_while_an_earlier_one_is_retried(telegram_fake, sessions):
    first = queue(sessions, "7100", "eerst")
    queue(sessions, "7100", "daarna")
    telegram_fake.script_error("drop", "sendMessage", chat_id=7100)
    clock = {"now": utcnow()}
    async with telegram_sender(telegram_fake, sessions, now=lambda: clock["now"]) as sender:
        await sender.drain_once()
        assert rows(sessions)[first].status == "pending"  # waiting for its retry
        assert not await sender.drain_once()  # "daarna" does not jump ahead
        assert telegram_fake.calls_of("sendMessage") == []
        clock["now"] += timedelta(seconds=3)
        await sender.drain_once()
        await sender.drain_once()
    assert sent_texts(telegram_fake)["7100"] == ["eerst", "daarna"]


# ---- 8. a row that can never be sent ----------------------------------------------------------
async def test_a_malformed_chat_id_fails_once_and_blocks_nothing(telegram_fake, sessions):
    bad = queue(sessions, "maria", "aan een naam, niet een chat id")
    bad_again = queue(sessions, "maria", "nog eens")
    broken = queue(sessions, "7201", "kapotte knoppen")
    with sessions() as s, s.begin():
        s.execute(update(Outbox).where(Outbox.id == broken).values(options=[{"no label": 1}]))
    after = queue(sessions, "7201", "daarna gewoon")
    good = [queue(sessions, str(7300 + i), f"gewoon {i}") for i in range(3)]
    async with telegram_sender(telegram_fake, sessions) as sender:
        assert await sender.drain_once()  # the round does not fail
        await sender.drain_once()
        await sender.drain_once()
        assert not await sender.drain_once()  # and nothing comes back
    got = rows(sessions)
    assert [got[bad].status, got[bad_again].status] == ["failed", "failed"]
    assert got[bad].error.startswith("malformed address") and got[bad].attempts == 1
    assert got[broken].status == "failed" and got[broken].error == "cannot send: KeyError"
    assert all(got[i].status == "sent" for i in good + [after])
    assert sorted(sent_texts(telegram_fake)) == ["7201"] + [str(7300 + i) for i in range(3)]


async def test_a_refused_token_pauses_everything_and_loses_nothing(telegram_fake, sessions):
    ids = [queue(sessions, str(7400 + i), f"bericht {i}") for i in range(3)]
    telegram_fake.script_error(401, "sendMessage", times=None, description="Unauthorized")
    async with telegram_sender(telegram_fake, sessions) as sender:
        await sender.drain_once()
        assert sender.retry_afters >= 1 and sender.paused_until > sender.clock() + 50
    got = rows(sessions)
    assert all(got[i].status == "pending" and got[i].attempts == 0 for i in ids)


async def test_a_malformed_number_fails_once_on_whatsapp_and_sms(twilio_edge, sqlite_template, tmp_path):
    import shutil

    from bot.runtime import Runtime
    from tests.twiliokit import TwilioWorld, settings_for

    shutil.copy(sqlite_template, tmp_path / "t.db")
    world = TwilioWorld(Runtime.build(settings_for(twilio_edge.url, f"sqlite:///{tmp_path / 't.db'}")), twilio_edge)
    try:
        world.phone("Maria")
        with world.rt.sessions() as s, s.begin():
            for channel in ("whatsapp", "sms"):
                for address, text in (("0470 12 AB", "kapot"), ("0470 12 AB", "kapot 2"),
                                      (world.phones["Maria"][1], f"gewoon via {channel}")):
                    s.add(Outbox(idempotency_key=f"{channel}:{text}", channel=channel, address=address, language="nl",
                                 purpose="reply", text=text, options=[]))
        await world.drain()
        with world.rt.sessions() as s:
            got = {(r.channel, r.text): r for r in s.scalars(select(Outbox))}
        for channel in ("whatsapp", "sms"):
            for text in ("kapot", "kapot 2"):
                row = got[channel, text]
                assert row.status == "failed" and row.error.startswith("malformed address") and row.attempts == 1
            assert got[channel, f"gewoon via {channel}"].status == "sent"
        assert sorted(m["Body"] for m in world.edge.messages()) == ["gewoon via sms", "gewoon via whatsapp"]
    finally:
        await world.close()


# ---- 10. several instances on one PostgreSQL ------------------------------------------------------
async def test_when_the_active_senders_connection_is_lost_another_takes_over(telegram_fake, pg_migrated):
    from tests.conftest import _truncate_pg

    _truncate_pg(pg_migrated)
    sessions = make_sessionmaker(pg_migrated)
    first = [queue(sessions, str(7500 + i), f"eerst {i}") for i in range(3)]
    async with telegram_sender(telegram_fake, sessions, heartbeat=0) as a, \
            telegram_sender(telegram_fake, sessions, heartbeat=0) as b:
        assert await a.drain_once()  # a has the channel
        assert not await b.drain_once()  # b stands by
        later = [queue(sessions, str(7600 + i), f"daarna {i}") for i in range(3)]
        backend = a.lock.conn.execute(text("SELECT pg_backend_pid()")).scalar()
        with pg_migrated.connect() as admin:  # a's connection dies (a network cut, a restarted pooler)
            admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})

            def ended() -> bool:
                return not admin.execute(text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"),
                                         {"pid": backend}).scalar()

            await asyncio.to_thread(wait_for, ended, "the backend to end")
        assert await b.drain_once()  # b takes the channel over
        assert not await a.drain_once() and not a.active  # a notices and stands by
    got = rows(sessions)
    assert {got[i].leased_by for i in first} == {a.owner} and {got[i].leased_by for i in later} == {b.owner}
    assert sorted(sent_texts(telegram_fake)) == [str(7500 + i) for i in range(3)] + [str(7600 + i) for i in range(3)]


RATE = 10


def spawn_sender(url: str, fake: TelegramFake, stamps: Path) -> tuple[subprocess.Popen, str]:
    """A sender process; it writes each slot it takes to ``stamps`` on its own clock (tests/sender_process.py)."""
    proc = subprocess.Popen([sys.executable, "-m", "tests.sender_process", url, fake.base_url, fake.token, str(RATE),
                             str(stamps)],
                            cwd=ROOT, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    owner = proc.stdout.readline().strip()
    assert owner, "the sender process did not start"
    return proc, owner


def wait_for(check, what: str, timeout: float = 60.0) -> None:
    """Polls until ``check()``; the deadline only stops a broken run (nothing is timed)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


def slots_by_sender(path: Path) -> dict[str, list[float]]:
    """The slots each sender process took, in order, on that sender's own clock."""
    slots: dict[str, list[float]] = defaultdict(list)
    for line in path.read_text(encoding="utf-8").splitlines():
        owner, at = line.split()
        slots[owner].append(float(at))
    return slots


def test_two_processes_on_one_postgresql_keep_the_rate_once_and_take_over(tmp_path):
    fake = TelegramFake(rate_limits=RateLimits(per_chat_per_second=1, overall_per_second=RATE)).start()
    procs = []
    try:
        with fresh_pg_database() as url:
            engine = make_engine(url)
            upgrade(engine)
            sessions = make_sessionmaker(engine)

            def unsent() -> int:
                with sessions() as s:
                    return s.scalar(select(func.count()).select_from(Outbox).where(Outbox.status != "sent"))

            def beats() -> set[str]:
                with sessions() as s:
                    return set(s.scalars(select(SenderHeartbeat.owner)))

            stamps = tmp_path / "slots.txt"
            procs = [spawn_sender(url, fake, stamps) for _ in range(2)]
            owners = {owner: proc for proc, owner in procs}
            wait_for(lambda: beats(), "a sender to become active")
            for i in range(40):
                queue(sessions, str(5000 + i), f"eerste ronde {i}")
            wait_for(lambda: unsent() == 0, "the first 40 messages")
            assert len(beats()) == 1  # the other one stands by: it neither beats nor sends
            with sessions() as s:
                senders_used = set(s.scalars(select(Outbox.leased_by)))
            assert len(senders_used) == 1 and senders_used <= set(owners)
            active = senders_used.pop()
            standby = next(o for o in owners if o != active)

            owners[active].kill()  # the active process dies...
            owners[active].wait()
            # ... with a round of its own still leased (for an hour: only a takeover sends these)
            in_flight = [queue(sessions, str(6000 + i), f"onderweg {i}", status="sending", leased_by=active,
                               next_attempt_at=utcnow() + timedelta(hours=1)) for i in range(5)]
            for i in range(40):
                queue(sessions, str(5000 + i), f"tweede ronde {i}")
            wait_for(lambda: unsent() == 0, "the standby to take over")
            with sessions() as s:
                second = {r.address: r.leased_by for r in s.scalars(select(Outbox).where(
                    (Outbox.text.like("tweede%")) | Outbox.id.in_(in_flight)))}
            assert set(second.values()) == {standby}
            engine.dispose()
    finally:
        for proc, _owner in procs:
            proc.kill()
            proc.wait()
            proc.stdout.close()
        fake.stop()
    calls = fake.calls_of("sendMessage")
    per_chat = defaultdict(list)
    for call in calls:
        per_chat[str(call.params["chat_id"])].append(call.params["text"])
    assert len(calls) == 85 and all(len(texts) == len(set(texts)) for texts in per_chat.values())  # nothing twice
    # The platform's limit, once for both: one sender sends at a time (the rounds above), and each
    # spaced its slots a whole 1/RATE apart on the clock it paces by -- its own decisions, not the
    # time that passed for the test or the fake, which a loaded machine stretches or bunches.
    slots = slots_by_sender(stamps)
    assert set(slots) <= set(owners) and sum(map(len, slots.values())) >= 85
    gaps = [b - a for taken in slots.values() for a, b in zip(taken, taken[1:])]
    assert min(gaps) >= (1 - 1e-9) / RATE, min(gaps)
