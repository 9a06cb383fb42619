"""A broadcast to 2,000 Telegram chats survives `kill -9`: `buurtbot run` (a real process,
talking to the fake Telegram server) is killed halfway through the sending and started again.
Every chat gets the message; a chat gets it twice only if its send was in flight at the kill
(its row leased, "sending", when the process died) -- those are counted and bound the
duplicates. Materialising is covered by tests/test_broadcasts.py's crash test."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter

import httpx
from sqlalchemy import func, insert, select

from models import ChannelIdentity, Neighbourhood, Outbox, Person
from models.broadcasts import BroadcastRecipient
from models.db import make_engine, make_sessionmaker
from tests.telegram_fake import telegram_fake  # noqa: F401  (the fixture)
from tests.tgkit import free_port

N = 2000
FIRST_CHAT = 700000


class Bot:
    """`buurtbot` in a fresh directory with its own SQLite database and the fake Telegram."""

    def __init__(self, tmp_path, fake) -> None:
        self.dir, self.port, self.db = tmp_path, free_port(), tmp_path / "bot.db"
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("TELEGRAM_", "TWILIO_", "DATABASE_URL", "PUBLIC_BASE_URL"))}
        self.env.update(DATABASE_URL=f"sqlite:///{self.db}", TELEGRAM_BOT_TOKEN=fake.token,
                        TELEGRAM_BASE_URL=fake.base_url, PORT=str(self.port), LOG_LEVEL="INFO",
                        SCHEDULER_TICK_SECONDS="5", TELEGRAM_RATE_OVERALL="60",
                        QUIET_HOURS="00:00-00:00")  # `run` is on the real clock: any hour CI runs it
        self.proc: subprocess.Popen | None = None

    def run(self, *args: str, stdin: str | None = None) -> str:
        done = subprocess.run([sys.executable, "-m", "bot.cli", *args], env=self.env, cwd=self.dir, input=stdin,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def start(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "run"], env=self.env, cwd=self.dir,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1).status_code in (200, 503):
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise AssertionError("buurtbot run did not start")

    def finish(self, kill: bool = False) -> str:
        assert self.proc is not None
        if kill:
            self.proc.kill()  # SIGKILL: no shutdown, no lease given back
        else:
            self.proc.terminate()
        out, _ = self.proc.communicate(timeout=60)
        return out

    def sessions(self):
        return make_sessionmaker(make_engine(f"sqlite:///{self.db}"))


def seed(bot: Bot) -> None:
    bot.run("db", "upgrade")
    bot.run("neighbourhood", "add", "--name", "Oost", "--slug", "oost", "--postcodes", "1040")
    with bot.sessions()() as s, s.begin():
        nb = s.scalar(select(Neighbourhood.id))
        s.execute(insert(Person), [dict(id=i + 1, neighbourhood_id=nb, first_name=f"P{i}", language="nl",
                                        is_resident=True, languages_spoken=[], categories=[]) for i in range(N)])
        s.execute(insert(ChannelIdentity), [dict(channel="telegram", address=str(FIRST_CHAT + i), person_id=i + 1,
                                                 language="nl", active=True) for i in range(N)])


def broadcast_calls(fake) -> Counter:
    return Counter(c.params["chat_id"] for c in fake.calls_of("sendMessage") if "Feest" in c.params["text"])


def test_a_broadcast_to_2000_chats_killed_halfway_reaches_each_exactly_once_but_the_sends_in_flight(
        telegram_fake, tmp_path):
    bot = Bot(tmp_path, telegram_fake)
    seed(bot)
    out = bot.run("broadcast", "send", "--neighbourhood", "oost", "--text", "nl=Feest op het plein!", "--yes")
    assert "This message will go to 2000 people." in out
    bot.start()
    telegram_fake.wait_until(lambda: sum(broadcast_calls(telegram_fake).values()) >= N // 2, timeout=600,
                             what="half of the broadcast")
    bot.finish(kill=True)
    before = broadcast_calls(telegram_fake)
    with bot.sessions()() as s:
        states = dict(s.execute(select(Outbox.status, func.count()).where(Outbox.purpose == "broadcast")
                                .group_by(Outbox.status)).all())
    in_flight = states.get("sending", 0)
    assert N // 2 <= sum(before.values()) < N  # killed halfway, not after the end
    assert sum(states.values()) == N  # materialised in full before the kill, once
    bot.start()
    telegram_fake.wait_until(lambda: len(broadcast_calls(telegram_fake)) == N, timeout=600, what="every chat")

    def settled():
        with bot.sessions()() as s:
            return not s.scalar(select(func.count()).select_from(Outbox).where(
                Outbox.purpose == "broadcast", Outbox.status.in_(("pending", "sending"))))

    deadline = time.monotonic() + 120
    while not settled() and time.monotonic() < deadline:
        time.sleep(0.5)
    logs = bot.finish()
    got = broadcast_calls(telegram_fake)
    twice = [chat for chat, n in got.items() if n > 1]
    assert set(got) == {FIRST_CHAT + i for i in range(N)}  # nobody missed
    assert max(got.values()) <= 2 and len(twice) <= in_flight  # twice only for what was in flight at the kill
    assert all(before[chat] == 1 for chat in twice)  # ... and only a chat whose send the kill interrupted
    print(f"kill -9 halfway: {sum(before.values())} sent before, {in_flight} in flight, {len(twice)} sent twice")
    with bot.sessions()() as s:
        assert s.scalar(select(func.count()).select_from(BroadcastRecipient)) == N
        assert s.scalar(select(func.count(func.distinct(Outbox.idempotency_key))).where(
            Outbox.purpose == "broadcast")) == N
    assert "Traceback" not in logs and "Feest" not in logs and str(FIRST_CHAT) not in logs
