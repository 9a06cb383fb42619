"""Check-in calls at TWILIO_RATE_VOICE (issue 11): N people enrolled for a weekly call, one run of
every sweep (what `buurtbot tick` does) writes their calls, and the voice sender of `buurtbot
run` places them through the real twilio client against Prism (Twilio's OpenAPI spec) behind the
tests' recording proxy -- never the network.

    .venv/bin/python bench/voice.py                 # 30 calls at 1 call/s (Twilio's default; ~30 s)
    .venv/bin/python bench/voice.py --n 60 --rate 2

The achieved rate is (N - 1) / (first -> last calls.create arriving at the proxy), as a share of
the rate; the floor is 90 %. Prints one line, a check line (calls placed once each, refused by
the spec) and peak RSS. Exit status 1 on a failure. Prism is tests/prism (`bash scripts/test`).
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
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]  # bench/telegram.py, bench/twilio.py
sys.path.insert(0, str(ROOT))

from bench.common import fresh_sqlite  # noqa: E402

FLOOR = 0.90


async def calls(edge, n: int, rate: float, tmp: Path) -> dict:
    from sqlalchemy import func, select

    from bot.runtime import Runtime
    from models import ChannelIdentity, Neighbourhood, Outbox, Person
    from models.base import utcnow
    from models.schedules import CheckinPlan
    from scheduler.runner import run_sweeps
    from tests.voicekit import voice_settings

    rt = Runtime.build(voice_settings(edge.url, fresh_sqlite(tmp / "voice.db"), twilio_rate_voice=rate))
    now = utcnow()
    with rt.sessions() as s, s.begin():
        hood = Neighbourhood(name="Bench", slug="bench", postcodes=["1040"])
        s.add(hood)
        s.flush()
        for i in range(n):
            person = Person(neighbourhood_id=hood.id, first_name=f"Maria{i}", language="nl", is_resident=True)
            s.add(person)
            s.flush()
            s.add(ChannelIdentity(channel="voice", address=f"+3225{i:07d}", person_id=person.id, language="nl"))
            s.add(CheckinPlan(person_id=person.id, neighbourhood_id=hood.id, channel="voice", days=list(range(7)),
                              time_local="10:00", sender_name="Fatima", next_due_at=now, consent_how="bench"))
    swept, failed = run_sweeps(rt.sessions, now)
    edge.reset()
    rt.voice.connect()
    sender = rt.voice.sender
    start = time.perf_counter()
    task = asyncio.create_task(sender.run(idle=0.05))
    deadline = start + n / rate * 2 + 30
    while time.perf_counter() < deadline:
        await asyncio.sleep(0.25)
        with rt.sessions() as s:
            if not s.scalar(select(func.count()).select_from(Outbox).where(
                    Outbox.channel == "voice", Outbox.status.in_(("pending", "sending")))):
                break
    await sender.idle()
    task.cancel()
    seconds = time.perf_counter() - start
    await rt.voice.stop()
    with rt.sessions() as s:
        statuses = dict(Counter(s.scalars(select(Outbox.status).where(Outbox.channel == "voice"))))
    arrivals = sorted(r["at"] for r in edge.requests if r["path"].endswith("/Calls.json"))
    wire = (len(arrivals) - 1) / (arrivals[-1] - arrivals[0]) if len(arrivals) > 1 else 0.0
    per_number = Counter(c["To"] for c in edge.calls())
    return {"swept": swept.get("checkins", 0), "failed": failed, "sent": statuses.get("sent", 0),
            "seconds": seconds, "wire_rate": wire, "share": wire / rate, "statuses": statuses,
            "twice": sum(1 for c in per_number.values() if c != 1), "placed": len(per_number),
            "refused": len(edge.refused_by_spec())}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=30, help="people to call (default 30)")
    ap.add_argument("--rate", type=float, default=1.0, help="TWILIO_RATE_VOICE, calls per second (default 1)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    from tests.twilio_edge import Edge, Prism

    failures = []
    prism = Prism()
    edge = Edge(prism.url)
    try:
        with tempfile.TemporaryDirectory(prefix="buurtbot-bench-voice-") as tmp:
            r = asyncio.run(calls(edge, args.n, args.rate, Path(tmp)))
    finally:
        edge.close()
        prism.close()
    print(f"voice check-ins (limit {args.rate:g} call/s): {r['swept']} due, {r['sent']} calls placed in "
          f"{r['seconds']:.1f} s, on the wire {r['wire_rate']:.3f} calls/s = {r['share']:.1%} of the limit "
          f"(floor {FLOOR:.0%})")
    print(f"  check: outbox {r['statuses']}; numbers called {r['placed']}, not exactly once {r['twice']}; "
          f"refused by Twilio's spec {r['refused']}; failed sweeps {r['failed'] or 'none'}")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    if r["sent"] != args.n or r["twice"] or r["placed"] != args.n:
        failures.append("not every person was called exactly once")
    if r["share"] < FLOOR:
        failures.append(f"the sender reached {r['share']:.1%} of {args.rate:g}/s (< {FLOOR:.0%})")
    if r["refused"]:
        failures.append("Prism refused requests")
    for failure in failures:
        print(f"FAIL: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
