"""Telegram channel throughput (issue 3): inbound updates through the real python-telegram-bot
Application in webhook mode, and outbound messages paced within Telegram's limits -- both
against the fake Bot API server on 127.0.0.1 (tests/telegram_fake.py), never the network.

    .venv/bin/python bench/telegram.py                     # 1000 updates, 1000 messages
    .venv/bin/python bench/telegram.py --quick             # 200 of each (a smoke run)
    .venv/bin/python bench/telegram.py --concurrency 16    # more webhook POSTs in flight

1. Inbound: the whole web app (Starlette + the Telegram channel, lifespan included) runs with
   uvicorn on a free loopback port in webhook mode (tests/tgkit.serving); the bot registers its
   webhook with the fake as at start-up. N updates -- "/start", "/menu", "/help" and plain
   text from 100 distinct private chats, people interleaved so that one person's updates are
   never in flight together -- are POSTed to the webhook with the registered secret by an
   httpx.AsyncClient, --concurrency at a time. Each POST is timed from request to response
   (the route answers after the dispatcher has handled the update). The per-person rate limit
   is set far above the mix; the channel's sender drains replies meanwhile at Telegram's
   defaults (30/s, 1/s per chat). The client runs on the server's own event loop, as in the
   tests, so the figures include the client's share of that loop.

2. Outbound: N Outbox rows (channel "telegram", N distinct chats) in a fresh database, drained
   by a TelegramSender(bot, sessions, overall=30, per_chat=1) through a real PTB Bot, with the
   fake enforcing Telegram's limits (30/s overall, 1/s per chat: past them it answers 429 and
   counts the hit). The achieved rate is N / (first drain -> last delivery), shown as a share of
   the 30/s limit; the floor is 90 %. Every 429 is a failure.

Each part uses its own fresh SQLite file migrated with models.schema.upgrade and its own fake.
Prints one line per part plus a check line, and the process's peak RSS (ru_maxrss, both parts).
Exit status 1 if any update did not get 200 or was not handled "ok", if any message was not
delivered exactly once, if the sender fell below 90 % of 30/s, or if it provoked any 429.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import resource
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# This file is called telegram.py: drop its own directory from the path so that "import telegram"
# finds python-telegram-bot, not this script.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(ROOT))

from bench.common import fresh_sqlite, pct  # noqa: E402

USERS = 100
FLOOR = 0.90
TEXTS = ("/start", "hallo", "/menu", "wat kan ik hier doen?", "/help", "hallo", "/menu", "dank je", "/start", "ok")


# ---- 1. inbound: webhook updates through the real PTB Application ----------------------------
async def inbound(n: int, concurrency: int, tmp: Path) -> dict:
    import httpx

    from tests.telegram_fake import RateLimits, TelegramFake, TgUser
    from tests.tgkit import build_runtime, free_port, serving
    from bot.channels.telegram.app import SECRET_HEADER, WEBHOOK_PATH

    fake = TelegramFake(rate_limits=RateLimits()).start()  # limits counted, not enforced
    try:
        port = free_port()
        rt = build_runtime(fake, fresh_sqlite(tmp / "inbound.db"), telegram_mode="webhook",
                           public_base_url=f"http://127.0.0.1:{port}", telegram_rate_overall=30.0,
                           telegram_rate_per_chat=1.0, rate_limit_per_minute=10**6)
        results: Counter = Counter()
        handle = rt.dispatcher.handle

        def counted(inbound_msg):
            result = handle(inbound_msg)
            results[result] += 1
            return result

        rt.dispatcher.handle = counted  # tally what the dispatcher made of each update

        users = [TgUser(id=700_000 + u, first_name=f"Buur{u}", language_code=("nl", "fr", "en")[u % 3],
                        username=None) for u in range(USERS)]
        updates = []
        for i in range(n):  # round-robin over people: one person's updates are 100 apart
            user, text = users[i % USERS], TEXTS[(i // USERS) % len(TEXTS)]
            if text.startswith("/"):
                updates.append(fake.build_command(text[1:], user=user))
            else:
                updates.append(fake.build_text(text, user=user))

        async with serving(rt, port):
            assert fake.webhook.url, "the bot did not register its webhook"
            url = f"http://127.0.0.1:{port}{WEBHOOK_PATH}"
            headers = {SECRET_HEADER: rt.settings.telegram_secret}
            statuses: Counter = Counter()
            latencies: list[float] = []
            todo = iter(updates)
            limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
            async with httpx.AsyncClient(timeout=30.0, limits=limits, trust_env=False) as client:
                async def worker() -> None:
                    for update in todo:
                        t0 = time.perf_counter()
                        try:
                            status = (await client.post(url, json=update, headers=headers)).status_code
                        except httpx.HTTPError as exc:
                            status = type(exc).__name__
                        latencies.append(time.perf_counter() - t0)
                        statuses[status] += 1

                start = time.perf_counter()
                await asyncio.gather(*(worker() for _ in range(concurrency)))
                elapsed = time.perf_counter() - start
            replies = len(fake.calls_of("sendMessage"))
        rt.engine.dispose()
    finally:
        fake.stop()
    lat = sorted(latencies)
    return {"n": len(lat), "seconds": elapsed, "rate": len(lat) / elapsed, "p50": pct(lat, 0.50) * 1000,
            "p99": pct(lat, 0.99) * 1000, "statuses": dict(statuses), "results": dict(results),
            "replies": replies, "violations": len(fake.violations)}


# ---- 2. outbound: the sender at 30/s against a fake that enforces Telegram's limits ----------
async def outbound(n: int, tmp: Path, overall: float = 30.0, per_chat: float = 1.0,
                   timeout: float | None = None) -> dict:
    from sqlalchemy import func, select

    from tests.telegram_fake import RateLimits, TelegramFake
    from bot.channels.telegram.sender import TelegramSender
    from models import Outbox
    from models.db import make_engine, make_sessionmaker

    fake = TelegramFake(rate_limits=RateLimits(per_chat_per_second=1, overall_per_second=30, enforce=True)).start()
    engine = make_engine(fresh_sqlite(tmp / "outbound.db"))
    try:
        sessions = make_sessionmaker(engine)
        chats = [str(900_000 + i) for i in range(n)]
        with sessions() as session, session.begin():
            session.add_all([Outbox(idempotency_key=f"bench-tg-{i}", channel="telegram", address=chat,
                                    language="nl", text=f"Bericht {i} voor jou")
                             for i, chat in enumerate(chats)])

        def left() -> int:
            with sessions() as session:
                return session.scalar(select(func.count()).select_from(Outbox)
                                      .where(Outbox.status.in_(("pending", "sending"))))

        deadline = time.monotonic() + (timeout or n / overall * 3 + 30)
        async with fake.make_bot() as bot:
            sender = TelegramSender(bot, sessions, overall=overall, per_chat=per_chat)
            start = time.perf_counter()
            while await asyncio.to_thread(left) and time.monotonic() < deadline:
                if not await sender.drain_once():
                    await asyncio.sleep(0.05)  # rows put back after a 429 wait for their time
            elapsed = time.perf_counter() - start

        with sessions() as session:
            by_status = dict(session.execute(select(Outbox.status, func.count()).group_by(Outbox.status)).all())
        per_chat_sends = Counter(str(c.params.get("chat_id")) for c in fake.calls_of("sendMessage"))
        wrong = sum(1 for chat in chats if per_chat_sends.get(chat, 0) != 1) + len(set(per_chat_sends) - set(chats))
        times = sorted(c.time for c in fake.calls_of("sendMessage"))
    finally:
        engine.dispose()
        fake.stop()
    sent = by_status.get("sent", 0)
    span = times[-1] - times[0] if len(times) > 1 else 0.0
    return {"n": n, "seconds": elapsed, "rate": sent / elapsed, "limit": overall,
            "share": sent / elapsed / overall, "wire_rate": (len(times) - 1) / span if span else 0.0,
            "fake_429": len(fake.rate_limit_hits), "retry_afters": sender.retry_afters,
            "sent": sent, "statuses": by_status, "wrong_chats": wrong, "violations": len(fake.violations)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=1000, help="updates in, messages out (default 1000)")
    ap.add_argument("--quick", action="store_true", help="200 updates and 200 messages (a smoke run)")
    ap.add_argument("--concurrency", type=int, default=8, help="webhook POSTs in flight at once (default 8)")
    args = ap.parse_args(argv)
    n = 200 if args.quick else args.n
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    failures = []
    with tempfile.TemporaryDirectory(prefix="buurtbot-bench-tg-") as tmp:
        r = asyncio.run(inbound(n, args.concurrency, Path(tmp)))
        print(f"telegram inbound (webhook, concurrency {args.concurrency}): {r['n']} updates in "
              f"{r['seconds']:.1f} s = {r['rate']:.0f} updates/s, p50 {r['p50']:.1f} ms, p99 {r['p99']:.1f} ms",
              flush=True)
        statuses = ", ".join(f"{k} {v}" for k, v in sorted(r["statuses"].items(), key=str))
        results = ", ".join(f"{k} {v}" for k, v in sorted(r["results"].items()))
        print(f"  check: HTTP {statuses}; dispatcher {results}; {r['replies']} replies sent meanwhile "
              f"(at 30/s); {r['violations']} API violations", flush=True)
        if r["statuses"] != {200: n}:
            failures.append("not every update got 200")
        if r["results"] != {"ok": n}:
            failures.append("not every update was handled ok")

        o = asyncio.run(outbound(n, Path(tmp)))
        print(f"telegram outbound (limit {o['limit']:.0f}/s, 1/s per chat): {o['sent']} msgs to distinct chats in "
              f"{o['seconds']:.1f} s = {o['rate']:.1f} msg/s = {o['share']:.1%} of the limit (floor {FLOOR:.0%}), "
              f"429s: fake {o['fake_429']}, sender retry_afters {o['retry_afters']}", flush=True)
        statuses = ", ".join(f"{k} {v}" for k, v in sorted(o["statuses"].items()))
        print(f"  check: outbox {statuses}; chats not sent exactly once {o['wrong_chats']}; "
              f"rate on the wire (first to last send) {o['wire_rate']:.1f} msg/s; {o['violations']} API violations",
              flush=True)
        if o["sent"] != n or o["wrong_chats"]:
            failures.append("not every message was delivered exactly once")
        if o["share"] < FLOOR:
            failures.append(f"the sender reached {o['share']:.1%} of {o['limit']:.0f}/s (< {FLOOR:.0%})")
        if o["fake_429"] or o["retry_afters"]:
            failures.append("the sender provoked 429s")

    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    for failure in failures:
        print(f"FAIL: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
