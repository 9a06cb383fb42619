"""The check-in sweep at scale: N plans of which D are due (default 100,000 and 5,000), swept the
way a tick of `buurtbot run` sweeps them (handlers.plans_due through scheduler.runner's loop:
one transaction per BATCH) -- on SQLite and on PostgreSQL.

    .venv/bin/python bench/scheduler.py                          # SQLite: 10k and 100k plans, 5k due
    .venv/bin/python bench/scheduler.py --plans 100000 --due 5000
    BUURTBOT_BENCH_POSTGRES_URL=postgresql://buurtbot:buurtbot@127.0.0.1/buurtbot_test \
        .venv/bin/python bench/scheduler.py

Each size is seeded by a process of its own (in chunks), then swept by a fresh process, so
"peak RSS" (ru_maxrss) is the sweep's alone: it must not grow with the number of plans, only
with the rows in flight (one BATCH). PostgreSQL runs in a scratch schema created in the given
database and dropped afterwards. Prints, per database and size,

    sqlite, 100000 plans, 5000 due: sweep 1.10 s = 4545 occurrences/s, peak RSS 90 MB (before 80 MB)

and a check line (occurrences, attempts, plans still due: a fast but broken sweep shows). The
check-ins are contacted by ``handlers.checkins.contact`` -- whatever that module does is in the
figure. Calls go out at TWILIO_RATE_VOICE through the voice sender, not the sweep: this
benchmark measures the sweep. Figures are printed, never asserted; target: a 5,000-due sweep in
under 2 s on SQLite.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHUNK = 10_000
AT_LOCAL = (2026, 12, 7, 10, 5)  # Monday 7 December 2026, 10:05 Brussels


def _engine(url: str, schema: str | None):
    from models.db import make_engine

    kwargs = {"connect_args": {"options": f"-c search_path={schema}"}} if schema else {}
    return make_engine(url, **kwargs)


def _at():
    from datetime import datetime, timezone

    from models.base import TZ

    return datetime(*AT_LOCAL, tzinfo=TZ).astimezone(timezone.utc)


def seed(url: str, schema: str | None, plans: int, due: int) -> None:
    """``plans`` people with a demo identity and a plan each; ``due`` of them due 5 minutes ago,
    the others later this week (spread over the days and hours). Inserted CHUNK at a time."""
    from sqlalchemy import insert

    from models import ChannelIdentity, Neighbourhood, Person
    from models.schedules import CheckinPlan
    from models.schema import upgrade

    engine = _engine(url, schema)
    upgrade(engine)
    at = _at()
    every = max(1, plans // max(1, due))
    with engine.begin() as conn:
        nb = conn.execute(insert(Neighbourhood).returning(Neighbourhood.id),
                          [dict(name="Bench", slug="bench", postcodes=["1040"])]).scalar_one()
    for lo in range(0, plans, CHUNK):
        ids = range(lo + 1, min(plans, lo + CHUNK) + 1)
        with engine.begin() as conn:
            conn.execute(insert(Person), [dict(id=i, neighbourhood_id=nb, first_name=f"P{i}", language="nl")
                                          for i in ids])
            conn.execute(insert(ChannelIdentity), [dict(channel="demo", address=f"p{i}", person_id=i) for i in ids])
            conn.execute(insert(CheckinPlan), [
                dict(person_id=i, neighbourhood_id=nb, channel="demo", days=[0, 3], time_local="10:00",
                     next_due_at=at - timedelta(minutes=5) if (i - 1) % every == 0 and (i - 1) // every < due
                     else at + timedelta(hours=1 + i % 150)) for i in ids])
    engine.dispose()


def sweep(url: str, schema: str | None) -> dict:
    """The check-in sweep until nothing is due, as the runner loops it; timed."""
    from sqlalchemy import event, func, select

    from handlers import plans_due
    from handlers.sweeps import BATCH
    from scheduler import runner  # noqa: F401 -- every flow module loaded, as in `buurtbot run`, not in the timing
    from models.db import background_checkpoints, make_sessionmaker, transaction
    from models.schedules import CheckinAttempt, CheckinOccurrence, CheckinPlan

    engine = _engine(url, schema)
    background_checkpoints(engine)  # as `buurtbot run` does
    sessions = make_sessionmaker(engine)
    at = _at()
    with sessions() as session:  # connect and warm up outside the timing
        session.scalar(select(func.count()).select_from(CheckinPlan))
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    statements = [0]

    @event.listens_for(engine, "before_cursor_execute")
    def count(*_args):
        statements[0] += 1

    cpu0, start, handled, rounds = time.process_time(), time.perf_counter(), 0, 0
    while True:
        with transaction(sessions) as session:
            n = plans_due.checkins_due(session, at)
        handled, rounds = handled + n, rounds + 1
        if n < BATCH:
            break
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu0
    event.remove(engine, "before_cursor_execute", count)
    with sessions() as session:
        check = {
            "occurrences": session.scalar(select(func.count()).select_from(CheckinOccurrence)),
            "attempts": session.scalar(select(func.count()).select_from(CheckinAttempt)),
            "still_due": session.scalar(select(func.count()).where(CheckinPlan.status == "active",
                                                                    CheckinPlan.next_due_at <= at)),
        }
    engine.dispose()
    return {"handled": handled, "rounds": rounds, "seconds": elapsed, "cpu": cpu, "statements": statements[0],
            "rss_before_mb": rss_before, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, **check}


def _child(*args: str) -> str:
    proc = subprocess.run([sys.executable, __file__, *args], stdout=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"bench step failed: {' '.join(args[:2])}")
    return proc.stdout


def measure(label: str, url: str, plans: int, due: int) -> dict:
    schema = None
    admin = None
    if not url.startswith("sqlite"):
        from sqlalchemy import text

        from models.db import make_engine

        schema = f"bench_{uuid.uuid4().hex[:10]}"
        admin = make_engine(url)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        extra = ["--schema", schema] if schema else []
        t0 = time.perf_counter()
        _child("--seed", url, "--plans", str(plans), "--due", str(due), *extra)
        seeded = time.perf_counter() - t0
        result = json.loads(_child("--sweep", url, *extra).strip().splitlines()[-1])
    finally:
        if admin is not None:
            from sqlalchemy import text

            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
    result.update(label=label, plans=plans, due=due, seed_seconds=seeded)
    return result


def fmt(r: dict) -> str:
    rate = r["occurrences"] / r["seconds"] if r["seconds"] else 0
    return (f"{r['label']}, {r['plans']} plans, {r['due']} due: sweep {r['seconds']:.2f} s = {rate:.0f} occurrences/s, "
            f"peak RSS {r['rss_mb']:.0f} MB (before the sweep {r['rss_before_mb']:.0f} MB)\n"
            f"  check: {r['handled']} plans handled in {r['rounds']} transactions, {r['occurrences']} occurrences, "
            f"{r['attempts']} attempts, {r['still_due']} still due; {r['statements']} SQL statements, "
            f"{r['cpu']:.2f} s CPU; seeding took {r['seed_seconds']:.0f} s")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--plans", type=int, action="append", default=[], metavar="N",
                    help="plans in the database (repeatable; default 10000 and 100000)")
    ap.add_argument("--due", type=int, default=5000, help="of which due now (default 5000)")
    ap.add_argument("--postgres", default=os.environ.get("BUURTBOT_BENCH_POSTGRES_URL")
                    or os.environ.get("BUURTBOT_TEST_POSTGRES_URL"),
                    help="also measure PostgreSQL at this URL (default: $BUURTBOT_BENCH_POSTGRES_URL, "
                         "else $BUURTBOT_TEST_POSTGRES_URL)")
    ap.add_argument("--no-sqlite", action="store_true", help="measure PostgreSQL only")
    ap.add_argument("--seed", metavar="URL", help=argparse.SUPPRESS)  # internal steps, each a process
    ap.add_argument("--sweep", metavar="URL", help=argparse.SUPPRESS)
    ap.add_argument("--schema", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.seed:
        seed(args.seed, args.schema, args.plans[0], args.due)
        return 0
    if args.sweep:
        print(json.dumps(sweep(args.sweep, args.schema)))
        return 0
    sizes = list(dict.fromkeys(args.plans)) or [10_000, 100_000]
    failed = False
    with tempfile.TemporaryDirectory(prefix="buurtbot-bench-") as tmp:
        targets = [] if args.no_sqlite else [("sqlite", lambda n: f"sqlite:///{tmp}/sched-{n}.db")]
        if args.postgres:
            targets.append(("postgresql", lambda n: args.postgres))
        for label, url in targets:
            for n in sizes:
                r = measure(label, url(n), n, min(args.due, n))
                print(fmt(r), flush=True)
                failed |= r["occurrences"] != r["due"] or r["still_due"] != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
