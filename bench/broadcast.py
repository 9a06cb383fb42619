"""A broadcast to 10,000 people while 20 others chat (issue 12, "Bulk after people"): delivered at
the platform's limit, each recipient exactly once, and the people chatting meanwhile answered as
fast as without it -- on Telegram against the fake Bot API server (tests/telegram_fake.py) and on
WhatsApp through the real twilio client against Prism (tests/twilio_edge.py), never the network.

    .venv/bin/python bench/broadcast.py                      # 10,000 recipients on each (~6 + ~17 min)
    .venv/bin/python bench/broadcast.py --n 600              # a quick run
    .venv/bin/python bench/broadcast.py --channel telegram   # one channel only

For each channel, in a process of its own (so that "peak RSS" is that channel's run alone), on a
fresh SQLite file migrated with models.schema.upgrade:

1. N people of a neighbourhood of their own (nl, fr, en), each reachable on the channel (WhatsApp:
   they wrote within the day, so text, not templates), and a coordinator who writes the broadcast.
2. The broadcast goes through the engine as the chat and the CLI use it (handlers.broadcasts
   create + confirm, Brussels afternoon: no quiet hours) and is materialised by the ``broadcasts``
   sweep as `buurtbot run` ticks it: every sweep once per tick (scheduler.runner.run_sweeps, a
   sweep called again while it returns a full BATCH), the first tick at once, then every
   ``scheduler_tick_seconds`` (30 s), in a thread, as APScheduler runs it.
3. The channel's own sender drains the outbox as in production: Telegram at 30/s overall and
   1/s per chat, with the fake enforcing both (a 429 is a failure); WhatsApp at
   TWILIO_RATE_WHATSAPP (10/s).
4. Meanwhile 20 of the recipients chat: each sends a message (Telegram: a webhook POST to the
   real python-telegram-bot Application served by uvicorn; WhatsApp: a signed Twilio webhook
   through the ASGI app), waits for the bot's first answer to arrive at the fake / at Prism,
   pauses 3-10 s (reads, types), and sends the next, until the broadcast is out. Reply time: from the
   inbound request to that answer's arrival.

Printed per channel: the achieved rate on the wire while the broadcast went out (every send of
the channel: broadcast and replies share the limit) as a share of the limit (floor 95 %), the
broadcast's own rate and its end-to-end time (confirm -> last delivery), recipients sent twice
(must be 0) and missed (must be 0), the author's summary, the chatters' reply times (p50, p99,
max, and how many messages), and peak RSS (ru_maxrss; the Telegram fake runs in this process,
Prism does not). Exit status 1 on a failure of any check.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import logging
import random
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlencode

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]  # bench/telegram.py shadows "telegram"
sys.path.insert(0, str(ROOT))

from bench.common import fresh_sqlite, pct  # noqa: E402

FLOOR = 0.95
CHATTERS = int(os.environ.get("BENCH_CHATTERS", 20))
PAUSE = (3.0, 10.0)  # seconds a person chatting reads the answer and types the next message
MARK = "Buurtbrief"  # in every version of the broadcast, in no reply of the bot
TEXTS = {"nl": f"{MARK}: zaterdag om 14 uur is er koffie in het buurthuis. Iedereen welkom!",
         "fr": f"{MARK} : samedi à 14 h, café à la maison de quartier. Bienvenue à tous !",
         "en": f"{MARK}: coffee at the community centre on Saturday at 2 pm. Everyone welcome!"}
CHAT = ("/menu", "/help", "wat kan ik hier doen?", "/menu", "dank je", "/help", "bonjour", "/menu")
LANGS = ("nl", "fr", "en")
CHUNK = 2000
TG_CHAT0 = 800_000  # recipients' Telegram chat ids
WA_NUMBER = "+32471{:06d}"  # recipients' WhatsApp numbers


def afternoon() -> datetime:
    """Today 14:00 in Brussels, as UTC: the sweep runs "as if" then, outside anyone's quiet hours."""
    from models.base import TZ

    local = datetime.now(TZ).replace(hour=14, minute=0, second=0, microsecond=0)
    return local.astimezone(timezone.utc)


# ---- the people -----------------------------------------------------------------------------------
def seed(sessions, n: int, channel: str) -> tuple[int, int, list[int]]:
    """N recipients and their coordinator in a neighbourhood of their own; returns the
    neighbourhood's id, the coordinator's id and the chatters' indexes (spread over the list)."""
    from sqlalchemy import func, insert, select

    from models import ChannelIdentity, Person
    from models.base import utcnow
    from models.network import add_neighbourhood

    now = utcnow()
    with sessions() as s, s.begin():
        nb = add_neighbourhood(s, "Bench", "bench-broadcast", ["1040"], default_language="nl", contact_name="Bench")
        author = Person(neighbourhood_id=nb.id, first_name="Coordinator", language="nl", languages_spoken=["nl"],
                        is_coordinator=True, is_resident=True, consent_at=now, consent_version="bench")
        s.add(author)
        s.flush()
        s.add(ChannelIdentity(channel=channel, address=address_of(channel, -1), person_id=author.id, language="nl",
                              last_inbound_at=now))
        nb_id, author_id = nb.id, author.id
        first = (s.scalar(select(func.max(Person.id))) or 0) + 1
    for lo in range(0, n, CHUNK):
        idx = range(lo, min(n, lo + CHUNK))
        with sessions() as s, s.begin():
            s.execute(insert(Person), [dict(id=first + i, neighbourhood_id=nb_id, first_name=f"Buur{i}",
                                            language=LANGS[i % 3], languages_spoken=[LANGS[i % 3]],
                                            is_resident=True, consent_at=now, consent_version="bench",
                                            created_at=now) for i in idx])
            s.execute(insert(ChannelIdentity), [dict(channel=channel, address=address_of(channel, i),
                                                     person_id=first + i, language=LANGS[i % 3],
                                                     last_inbound_at=now, active=True, created_at=now)
                                                for i in idx])
    chatters = sorted({(k * n) // CHATTERS + 7 for k in range(CHATTERS)} & set(range(n)))
    return nb_id, author_id, chatters


def address_of(channel: str, i: int) -> str:
    if channel == "telegram":
        return str(TG_CHAT0 + 1 + i)
    return WA_NUMBER.format(999_999 if i < 0 else i)


def start_broadcast(sessions, nb_id: int, author_id: int, at: datetime) -> int:
    """Written and confirmed through the engine's API, as the chat flow and the CLI do."""
    from handlers import broadcasts
    from models import Person
    from models.people import Neighbourhood

    with sessions() as s, s.begin():
        bc = broadcasts.create(s, s.get(Neighbourhood, nb_id), s.get(Person, author_id), TEXTS, "nl",
                               broadcasts.Audience("everyone"))
        broadcasts.confirm(s, bc, at)
        return bc.id


class Ticker:
    """`buurtbot run`'s tick: every sweep once (run_sweeps), at once and then every ``seconds``
    (or when poked: the bench's "a tick comes now"), in a thread of its own as APScheduler runs
    it. The sweeps see Brussels afternoon (``at``) plus the time gone by: no quiet hours."""

    def __init__(self, sessions, at: datetime, seconds: float) -> None:
        self.sessions, self.at, self.seconds = sessions, at, seconds
        self.stop, self.poke = threading.Event(), threading.Event()
        self.ticks, self.durations = 0, [0.0]
        self.began = time.monotonic()
        self.thread = threading.Thread(target=self.loop, daemon=True)

    def loop(self) -> None:
        from scheduler.runner import run_sweeps

        while not self.stop.is_set():
            t0 = time.perf_counter()
            run_sweeps(self.sessions, self.at + timedelta(seconds=time.monotonic() - self.began))
            self.durations.append(time.perf_counter() - t0)
            self.ticks += 1
            self.poke.wait(self.seconds)
            self.poke.clear()


def outcome(sessions, bc_id: int) -> dict:
    from sqlalchemy import func, select

    from models import Outbox
    from models.broadcasts import Broadcast

    with sessions() as s:
        statuses = dict(s.execute(select(Outbox.status, func.count()).where(Outbox.purpose == "broadcast")
                                  .group_by(Outbox.status)).all())
        bc = s.get(Broadcast, bc_id)
        return {"statuses": statuses, "broadcast": bc.status, "summary": bc.summary_at is not None}


def left(sessions, bc_id: int) -> int:
    """Rows of the broadcast still to go (-1: not all written yet)."""
    from sqlalchemy import func, select

    from models import Outbox
    from models.broadcasts import Broadcast

    with sessions() as s:
        if s.scalar(select(Broadcast.materialised_at).where(Broadcast.id == bc_id)) is None:
            return -1
        return s.scalar(select(func.count()).select_from(Outbox)
                        .where(Outbox.purpose == "broadcast", Outbox.status.in_(("pending", "sending"))))


class Chatters:
    """People chatting during the broadcast: each sends, waits for the bot's first answer at
    the platform, pauses, again. ``log``: the platform's record of what it accepted, a list that
    grows; ``parse``: one record as (monotonic arrival, address, text), or None."""

    def __init__(self, addresses: list[str], send, log: list, parse, seed_: int = 12) -> None:
        self.addresses, self.send, self.log, self.parse = addresses, send, log, parse
        self.random = random.Random(seed_)
        self.times: list[float] = []
        self.unanswered = 0
        self.refused: list[str] = []  # webhooks that did not get 200 (why)
        self.done = asyncio.Event()
        self.seen = 0
        self.waiting: dict[str, tuple[float, asyncio.Future]] = {}

    async def watch(self) -> None:
        """Hand each answer that arrives to the chatter waiting for it (one scan of what is new)."""
        while not self.done.is_set() or self.waiting:
            new = self.log[self.seen:]
            self.seen += len(new)
            for record in new:
                got = self.parse(record)
                if got is None:
                    continue
                at, address, text = got
                waiting = self.waiting.get(address)
                if waiting and at >= waiting[0] and MARK not in text and not waiting[1].done():
                    waiting[1].set_result(at)
            await asyncio.sleep(0.005)

    async def person(self, k: int, address: str) -> None:
        n = 0
        await asyncio.sleep(self.random.uniform(0, 2))
        while not self.done.is_set():
            answer = asyncio.get_running_loop().create_future()
            t0 = time.monotonic()
            self.waiting[address] = (t0, answer)
            try:
                await self.send(k, address, CHAT[(k + n) % len(CHAT)])
                arrived = await asyncio.wait_for(answer, timeout=60)
                self.times.append(arrived - t0)
            except asyncio.TimeoutError:
                self.unanswered += 1
            except Exception as exc:  # noqa: BLE001 -- a refused webhook is counted, not a crash of the bench
                self.refused.append(type(exc).__name__)
            finally:
                self.waiting.pop(address, None)
            n += 1
            await asyncio.sleep(self.random.uniform(*PAUSE))

    def run(self) -> list[asyncio.Task]:
        return [asyncio.create_task(self.watch())] + [asyncio.create_task(self.person(k, a))
                                                      for k, a in enumerate(self.addresses)]


async def until_out(sessions, bc_id: int, timeout: float) -> float:
    """Wait until no broadcast row is pending or being sent; returns when (monotonic)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not await asyncio.to_thread(left, sessions, bc_id):
            return time.monotonic()
        await asyncio.sleep(0.5)
    raise TimeoutError("the broadcast did not go out in time")


def figures(sends: list[tuple[float, str, str]], recipients: list[str], start: float, end: float, limit: float,
            chatters: Chatters, check: dict) -> dict:
    """sends: (arrival, address, text) of every message the platform accepted."""
    bc = [(t, a) for t, a, text in sends if MARK in text]
    bc_times = sorted(t for t, _ in bc)
    first, last = bc_times[0], bc_times[-1]
    during = [t for t, _, _ in sends if first <= t <= last]
    per = Counter(a for _, a in bc)
    wanted = set(recipients)
    times = sorted(chatters.times)
    return {"n": len(recipients), "limit": limit,
            "wire_rate": (len(during) - 1) / (last - first), "share": (len(during) - 1) / (last - first) / limit,
            "bc_rate": (len(bc_times) - 1) / (last - first), "seconds": end - start,
            "first_after": first - start,
            "twice": sum(1 for a, c in per.items() if c > 1), "missing": len(wanted - set(per)),
            "strangers": len(set(per) - wanted),
            "replies": len(times), "unanswered": chatters.unanswered, "refused_in": chatters.refused,
            "p50": pct(times, 0.5) * 1000 if times else 0.0, "p99": pct(times, 0.99) * 1000 if times else 0.0,
            "max": times[-1] * 1000 if times else 0.0, **check}


# ---- the bot: a process of its own, as `buurtbot run` ---------------------------------------------
def serve(settings_json: str, port: int, tick: float) -> None:
    """The web app with its channels (their senders) on ``port``, and the tick; SIGUSR1: a tick
    now. On SIGTERM it stops as `buurtbot run` does and prints its figures as JSON."""
    import signal

    import uvicorn

    from bot.runtime import Runtime
    from bot.settings import Settings
    from bot.web import create_app

    from handlers import quiet

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    rt = Runtime.build(Settings(_env_file=None, **json.loads(settings_json)))
    quiet.DEFAULT_QUIET = ("00:00", "00:00")  # the senders run on the real clock: the bench runs at any hour
    server = uvicorn.Server(uvicorn.Config(create_app(rt, start_scheduler=False), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="on", timeout_keep_alive=120))
    ticker = Ticker(rt.sessions, afternoon(), tick)
    signal.signal(signal.SIGUSR1, lambda *_: ticker.poke.set())
    # SIGTERM stops the server as uvicorn would, without uvicorn raising it again at the end (we report first)
    server.capture_signals = contextlib.nullcontext
    signal.signal(signal.SIGTERM, lambda *_: setattr(server, "should_exit", True))
    ticker.thread.start()
    server.run()
    ticker.stop.set()
    ticker.poke.set()
    ticker.thread.join()
    rt.engine.dispose()
    senders = ([rt.telegram.sender] if rt.telegram is not None else []) + \
        (list(rt.twilio.senders.values()) if rt.twilio is not None else [])
    print(json.dumps({"rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "ticks": ticker.ticks,
                      "tick_max": max(ticker.durations), "pauses": sum(s.pauses for s in senders)}), flush=True)


class Bot:
    """The bot process: started on a seeded database, poked for a tick, stopped for its figures."""

    def __init__(self, settings: dict, tick: float, port: int) -> None:
        self.port = port
        self.proc = subprocess.Popen([sys.executable, __file__, "--serve", json.dumps(settings), "--port",
                                      str(self.port), "--tick", str(tick)], stdout=subprocess.PIPE, text=True)

    async def ready(self, timeout: float = 60.0) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(trust_env=False) as client:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError("the bot process ended")
                try:
                    if (await client.get(f"http://127.0.0.1:{self.port}/healthz")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.2)
        raise TimeoutError("the bot process did not start")

    def tick(self) -> None:
        import signal

        self.proc.send_signal(signal.SIGUSR1)

    def stop(self) -> dict:
        import signal

        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        out, _ = self.proc.communicate(timeout=60)
        lines = out.strip().splitlines()
        return json.loads(lines[-1]) if lines else {}


async def broadcast_while_chatting(url: str, n: int, channel: str, settings: dict, tick: float, limit: float,
                                   people_send, log: list, parse, port: int) -> dict:
    """Seed, start the bot, let people chat, send the broadcast, wait until it is out and the
    author has the summary; the figures."""
    from models.db import make_engine, make_sessionmaker

    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    nb_id, author_id, chatters = seed(sessions, n, channel)
    recipients = [address_of(channel, i) for i in range(n)]
    bot = Bot(settings, tick, port)
    try:
        await bot.ready()
        people = Chatters([address_of(channel, i) for i in chatters], people_send(bot.port), log, parse)
        tasks = people.run()
        await asyncio.sleep(3)  # the chatting is under way before the broadcast starts
        start = time.monotonic()
        bc_id = await asyncio.to_thread(start_broadcast, sessions, nb_id, author_id, afternoon())
        bot.tick()  # as if confirmed just before a tick (else it waits for the next one)
        end = await until_out(sessions, bc_id, n / limit * 3 + 120)
        people.done.set()
        await asyncio.gather(*tasks)
        bot.tick()  # the author's summary
        deadline = time.monotonic() + 60
        while not (check := await asyncio.to_thread(outcome, sessions, bc_id))["summary"] \
                and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
    finally:
        check_bot = bot.stop()
        engine.dispose()
    sends = [got for got in map(parse, list(log)) if got is not None]
    author = address_of(channel, -1)  # their progress and summary quote the broadcast's first words
    return figures([send for send in sends if send[1] != author], recipients, start, end, limit, people,
                   {**check, **check_bot})


async def telegram(n: int, tmp: Path, tick: float) -> dict:
    import httpx

    from bot.channels.telegram.app import SECRET_HEADER, WEBHOOK_PATH
    from bot.settings import Settings
    from tests.telegram_fake import RateLimits, TelegramFake, TgUser
    from tests.tgkit import free_port

    fake = TelegramFake(rate_limits=RateLimits(per_chat_per_second=1, overall_per_second=30, enforce=True)).start()
    url = fresh_sqlite(tmp / "tg.db")
    settings = dict(database_url=url, telegram_bot_token=fake.token, telegram_base_url=fake.base_url,
                    telegram_mode="webhook", telegram_rate_overall=30.0, telegram_rate_per_chat=1.0,
                    rate_limit_per_minute=10**6)
    client = httpx.AsyncClient(timeout=60.0, trust_env=False)

    def people_send(port: int):
        secret = Settings(_env_file=None, **settings).telegram_secret

        async def send(k: int, address: str, text: str) -> None:
            user = TgUser(id=int(address), first_name=f"Buur{k}", language_code="nl", username=None)
            update = fake.build_command(text[1:], user=user) if text.startswith("/") \
                else fake.build_text(text, user=user)
            (await client.post(f"http://127.0.0.1:{port}{WEBHOOK_PATH}", json=update,
                               headers={SECRET_HEADER: secret})).raise_for_status()
        return send

    def parse(c) -> tuple[float, str, str] | None:
        if c.method != "sendMessage":
            return None
        return c.time, str(c.params.get("chat_id")), c.params.get("text", "")

    try:
        port = free_port()
        settings["public_base_url"] = f"http://127.0.0.1:{port}"  # where the bot registers its webhook
        r = await broadcast_while_chatting(url, n, "telegram", settings, tick, 30.0, people_send, fake.calls,
                                           parse, port)
        r.update(fake_429=len(fake.rate_limit_hits), violations=len(fake.violations))
    finally:
        await client.aclose()
        fake.stop()
    return r


async def whatsapp(n: int, tmp: Path, tick: float, rate: float) -> dict:
    import httpx

    from bot.channels.twilio.app import MESSAGES_PATH
    from tests.tgkit import free_port
    from tests.twilio_edge import Edge, Prism
    from tests.twilio_edge import AUTH_TOKEN
    from tests.twiliokit import ACCOUNT_SID, PUBLIC, WA_FROM, sign

    prism = Prism()
    edge = Edge(prism.url)
    url = fresh_sqlite(tmp / "wa.db")
    settings = dict(database_url=url, twilio_account_sid=ACCOUNT_SID, twilio_auth_token=AUTH_TOKEN,
                    twilio_whatsapp_from=WA_FROM, twilio_api_base_url=edge.url, public_base_url=PUBLIC,
                    twilio_rate_whatsapp=rate, rate_limit_per_minute=10**6)  # as tests/twiliokit.py, no SMS
    client = httpx.AsyncClient(timeout=60.0, trust_env=False)

    def people_send(port: int):
        async def send(k: int, address: str, text: str) -> None:
            form = {"MessageSid": f"SM{k:04d}{time.monotonic_ns():024x}"[:34], "AccountSid": ACCOUNT_SID,
                    "From": f"whatsapp:{address}", "To": WA_FROM, "Body": text, "NumMedia": "0",
                    "NumSegments": "1", "SmsStatus": "received", "ApiVersion": "2010-04-01",
                    "ProfileName": f"Buur{k}", "WaId": address.lstrip("+")}
            headers = {"Content-Type": "application/x-www-form-urlencoded",
                       "X-Twilio-Signature": sign(PUBLIC + MESSAGES_PATH, form)}
            (await client.post(f"http://127.0.0.1:{port}{MESSAGES_PATH}", content=urlencode(form),
                               headers=headers)).raise_for_status()
        return send

    def parse(r) -> tuple[float, str, str] | None:
        if not (r["path"].endswith("/Messages.json") and r["method"] == "POST" and r.get("status") == 201):
            return None
        return r["at"], r["form"].get("To", "").removeprefix("whatsapp:"), r["form"].get("Body", "")

    try:
        r = await broadcast_while_chatting(url, n, "whatsapp", settings, tick, rate, people_send, edge.requests,
                                           parse, free_port())
        r.update(refused=len(edge.refused_by_spec()))
    finally:
        await client.aclose()
        edge.close()
        prism.close()
    return r


# ---- the report -----------------------------------------------------------------------------------
def report(channel: str, r: dict) -> list[str]:
    print(f"{channel} broadcast to {r['n']} people ({CHATTERS} chatting): on the wire {r['wire_rate']:.2f} msg/s = "
          f"{r['share']:.1%} of {r['limit']:.0f}/s (floor {FLOOR:.0%}); the broadcast alone {r['bc_rate']:.2f} msg/s, "
          f"out in {r['seconds']:.0f} s from confirm (first after {r['first_after']:.1f} s)", flush=True)
    print(f"  people chatting meanwhile: {r['replies']} answers, reply time p50 {r['p50']:.0f} ms, "
          f"p99 {r['p99']:.0f} ms, max {r['max']:.0f} ms; {r['unanswered']} unanswered, "
          f"webhooks refused {len(r['refused_in'])} {sorted(set(r['refused_in']))}", flush=True)
    extra = (f"429s: fake {r['fake_429']}, {r['violations']} API violations" if channel == "telegram"
             else f"refused by Twilio's spec {r['refused']}") + f", sender pauses {r['pauses']}"
    print(f"  check: sent twice {r['twice']}, missing {r['missing']}, to others {r['strangers']}; outbox "
          f"{r['statuses']}; broadcast {r['broadcast']}, summary told {r['summary']}; {extra}; "
          f"{r['ticks']} ticks (longest {r['tick_max']:.1f} s); peak RSS {r['rss_mb']:.0f} MB", flush=True)
    failures = []
    if r["twice"] or r["missing"] or r["strangers"]:
        failures.append(f"{channel}: not every recipient got it exactly once")
    if r["share"] < FLOOR:
        failures.append(f"{channel}: {r['share']:.1%} of the limit (< {FLOOR:.0%})")
    if not r["summary"] or r["broadcast"] != "sent":
        failures.append(f"{channel}: the author got no summary")
    if r["unanswered"] or r["refused_in"]:
        failures.append(f"{channel}: {r['unanswered']} messages of people chatting got no answer")
    if r.get("fake_429") or r.get("violations") or r.get("refused") or r.get("pauses"):
        failures.append(f"{channel}: the platform refused sends")
    return failures


def child(channel: str, n: int, tick: float, rate: float) -> dict:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    with tempfile.TemporaryDirectory(prefix=f"buurtbot-bench-bc-{channel}-") as tmp:
        if channel == "telegram":
            return asyncio.run(telegram(n, Path(tmp), tick))
        return asyncio.run(whatsapp(n, Path(tmp), tick, rate))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=10_000, help="recipients (default 10000)")
    ap.add_argument("--channel", choices=("telegram", "whatsapp", "both"), default="both")
    ap.add_argument("--tick", type=float, default=30.0, help="seconds between scheduler ticks (default 30)")
    ap.add_argument("--whatsapp-rate", type=float, default=10.0, help="TWILIO_RATE_WHATSAPP (default 10)")
    ap.add_argument("--serve", metavar="SETTINGS", help=argparse.SUPPRESS)  # the bot process
    ap.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.serve:
        serve(args.serve, args.port, args.tick)
        return 0
    failures = []
    for channel in (("telegram", "whatsapp") if args.channel == "both" else (args.channel,)):
        failures += report(channel, child(channel, args.n, args.tick, args.whatsapp_rate))
    for failure in failures:
        print(f"FAIL: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
