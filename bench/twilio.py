"""WhatsApp/SMS channel throughput (issue 4): signed Twilio webhooks through the ASGI app, and
outbound WhatsApp messages paced at the configured rate through the real twilio client against
Prism (Twilio's OpenAPI spec) -- never the network.

    .venv/bin/python bench/twilio.py                    # 1000 webhooks, 1000 messages at 10/s (~2 min)
    .venv/bin/python bench/twilio.py --quick            # 200 of each
    .venv/bin/python bench/twilio.py --concurrency 16   # more webhook POSTs in flight

1. Inbound: N form POSTs to /twilio/messages, each signed with RequestValidator for the public
   URL, from 100 distinct WhatsApp numbers ("Hallo", "/menu", "/help", text...), people
   interleaved, --concurrency at a time, through httpx's ASGI transport into the app that
   `buurtbot run` serves (signature check, E.164, dedupe, dispatcher, outbox: one transaction
   each). Timed from request to response. The senders do not run meanwhile.

2. Outbound: N outbox rows to N distinct WhatsApp numbers that wrote within the day (so text,
   not templates), drained by the channel's TwilioSender at TWILIO_RATE_WHATSAPP=10/s through
   the real twilio client (aiohttp) to Prism behind the tests' recording proxy. The achieved
   rate is (N - 1) / (first -> last request arriving at the proxy), as a share of 10/s; the
   floor is 90 %. Every request Prism refuses is a failure.

Prints one line per part, a check line each, and peak RSS (ru_maxrss). Exit status 1 on a
failure. Prism is tests/prism (installed by `bash scripts/test`).
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
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]  # this file is "twilio.py"
sys.path.insert(0, str(ROOT))

from bench.common import fresh_sqlite, pct  # noqa: E402

USERS = 100
FLOOR = 0.90
RATE = 10.0
TEXTS = ("Hallo", "/menu", "wat kan ik hier doen?", "/help", "Bonjour", "/menu", "dank je", "ok", "/start", "1")


async def inbound(edge, n: int, concurrency: int, tmp: Path) -> dict:
    from bot.channels.twilio.app import MESSAGES_PATH
    from bot.runtime import Runtime
    from tests.twiliokit import TwilioWorld, settings_for

    world = TwilioWorld(Runtime.build(settings_for(edge.url, fresh_sqlite(tmp / "in.db"))), edge)
    names = [f"p{i}" for i in range(USERS)]
    for name in names:
        world.phone(name)
    forms = [world.inbound_form(names[i % USERS], TEXTS[(i // USERS) % len(TEXTS)]) for i in range(n)]
    statuses: Counter = Counter()
    latencies: list[float] = []
    queue: asyncio.Queue = asyncio.Queue()
    for i in range(0, n, USERS):  # one round of everyone at a time: a person's POSTs never overlap
        queue.put_nowait(forms[i:i + USERS])

    async def worker(batch_queue: asyncio.Queue) -> None:
        while not batch_queue.empty():
            form = batch_queue.get_nowait()
            t = time.perf_counter()
            response = await world.post(MESSAGES_PATH, form)
            latencies.append((time.perf_counter() - t) * 1000)
            statuses[response.status_code] += 1

    start = time.perf_counter()
    while not queue.empty():
        rnd: asyncio.Queue = asyncio.Queue()
        for form in queue.get_nowait():
            rnd.put_nowait(form)
        await asyncio.gather(*(worker(rnd) for _ in range(concurrency)))
    seconds = time.perf_counter() - start
    from sqlalchemy import func, select

    from models import InboundLog, Outbox

    with world.rt.sessions() as s:
        handled = s.scalar(select(func.count()).select_from(InboundLog))
        replies = s.scalar(select(func.count()).select_from(Outbox))
    await world.close()
    latencies.sort()
    return {"n": n, "seconds": seconds, "rate": n / seconds, "p50": pct(latencies, 0.5), "p99": pct(latencies, 0.99),
            "statuses": dict(statuses), "handled": handled, "replies": replies}


async def outbound(edge, n: int, tmp: Path) -> dict:
    from sqlalchemy import func, select

    from bot.runtime import Runtime
    from models import ChannelIdentity, Outbox
    from models.base import utcnow
    from tests.twiliokit import settings_for

    rt = Runtime.build(settings_for(edge.url, fresh_sqlite(tmp / "out.db"), twilio_rate_whatsapp=RATE,
                                    twilio_sms_from=None))
    with rt.sessions() as s, s.begin():
        for i in range(n):
            identity = ChannelIdentity(channel="whatsapp", address=f"+32471{i:06d}", last_inbound_at=utcnow())
            s.add(identity)
            s.flush()
            s.add(
                Outbox(
                    idempotency_key=f"bench:{i}",
                    channel="whatsapp",
                    address=identity.address,
                    identity_id=identity.id,
                    language="nl",
                    purpose="notify",
                    text=f"Bericht {i}: een buur vraagt hulp bij boodschappen.",
                    options=[{"label": "Ik doe het", "payload": f"claim:{i}"}, {"label": "Niet nu", "payload": "menu"}],
                )
            )
    edge.reset()
    rt.twilio.connect()
    sender = rt.twilio.senders["whatsapp"]
    start = time.perf_counter()
    task = asyncio.create_task(sender.run(idle=0.05))
    deadline = start + n / RATE * 2 + 30
    while time.perf_counter() < deadline:
        await asyncio.sleep(0.25)
        with rt.sessions() as s:
            if not s.scalar(select(func.count()).select_from(Outbox).where(Outbox.status.in_(("pending", "sending")))):
                break
    await sender.idle()
    task.cancel()
    seconds = time.perf_counter() - start
    with rt.sessions() as s:
        statuses = dict(Counter(s.scalars(select(Outbox.status))))
    arrivals = sorted(r["at"] for r in edge.requests if r["path"].endswith("/Messages.json"))
    await rt.twilio.stop()
    wire = (len(arrivals) - 1) / (arrivals[-1] - arrivals[0]) if len(arrivals) > 1 else 0.0
    per_address = Counter(m["To"] for m in edge.messages())
    return {"sent": statuses.get("sent", 0), "seconds": seconds, "wire_rate": wire, "share": wire / RATE,
            "statuses": statuses, "twice": sum(1 for c in per_address.values() if c != 1),
            "refused": len(edge.refused_by_spec()), "throttled": sender.throttled}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=1000, help="webhooks in, messages out (default 1000)")
    ap.add_argument("--quick", action="store_true", help="200 of each (a smoke run)")
    ap.add_argument("--concurrency", type=int, default=8, help="webhook POSTs in flight at once (default 8)")
    args = ap.parse_args(argv)
    n = 200 if args.quick else args.n
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    from tests.twilio_edge import Edge, Prism

    failures = []
    prism = Prism()
    edge = Edge(prism.url)
    try:
        with tempfile.TemporaryDirectory(prefix="buurtbot-bench-twilio-") as tmp:
            r = asyncio.run(inbound(edge, n, args.concurrency, Path(tmp)))
            print(f"twilio inbound (signed webhooks, ASGI, concurrency {args.concurrency}): {r['n']} in "
                  f"{r['seconds']:.1f} s = {r['rate']:.0f} requests/s, p50 {r['p50']:.1f} ms, p99 {r['p99']:.1f} ms",
                  flush=True)
            print(f"  check: HTTP {r['statuses']}; {r['handled']} messages handled; {r['replies']} replies queued",
                  flush=True)
            if r["statuses"] != {200: n} or r["handled"] != n:
                failures.append("not every webhook got 200 and was handled once")
            o = asyncio.run(outbound(edge, n, Path(tmp)))
            print(f"twilio outbound (WhatsApp, limit {RATE:.0f}/s): {o['sent']} msgs in {o['seconds']:.1f} s, "
                  f"on the wire {o['wire_rate']:.2f} msg/s = {o['share']:.1%} of the limit (floor {FLOOR:.0%})",
                  flush=True)
            print(f"  check: outbox {o['statuses']}; numbers not sent exactly once {o['twice']}; "
                  f"refused by Twilio's spec {o['refused']}; 429s {o['throttled']}", flush=True)
            if o["sent"] != n or o["twice"]:
                failures.append("not every message was sent exactly once")
            if o["share"] < FLOOR:
                failures.append(f"the sender reached {o['share']:.1%} of {RATE:.0f}/s (< {FLOOR:.0%})")
            if o["refused"]:
                failures.append("Prism refused requests")
    finally:
        edge.close()
        prism.close()
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    for failure in failures:
        print(f"FAIL: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
