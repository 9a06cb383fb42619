"""Dispatcher throughput: N inbound messages through dedupe, conversation state, domain and
outbox on the demo channel, one transaction per message -- on SQLite and on PostgreSQL.

    .venv/bin/python bench/dispatch.py                       # SQLite, 2000 messages, 1 thread
    .venv/bin/python bench/dispatch.py --n 5000 --threads 4          # 1 thread, then 4
    .venv/bin/python bench/dispatch.py --postgres postgresql://buurtbot:buurtbot@127.0.0.1/buurtbot_test
    BUURTBOT_BENCH_POSTGRES_URL=... .venv/bin/python bench/dispatch.py --threads 4 --threads 8

Two mixes, each measured on its own. "cold" is a neighbourhood being set up: new residents join (language,
postcode, consent, name,
role), look at the menu, type something the bot does not understand, and ask for help (category,
description, when, address, confirm -- every matching volunteer is notified); volunteers list
the open requests and take one ("1"), sometimes just after someone else did. Messages of
different people are interleaved; one person's messages stay in order, and with --threads K each
person belongs to one thread. "everyday" is the same neighbourhood once 100 residents have
joined and asked (untimed): menus, "my requests", help, thank-yous, volunteers looking at open
requests and their tasks, and one resident in 25 turns asking for help. Rate limiting is off.

SQLite runs on a fresh temporary file migrated with models.schema.upgrade. PostgreSQL runs in a
scratch schema created in the given database and dropped afterwards (nothing else is touched).
Each database is measured in its own fresh Python process, so "peak RSS" (ru_maxrss) is that
database's run alone. Prints one line per database and thread count, e.g.

    sqlite: 2000 msgs in 3.1 s = 645 msg/s, p50 1.3 ms, p99 4.0 ms, peak RSS 95 MB

plus a check line -- results, people, requests, claims, outbox rows (so that a fast but broken
run shows), SQL statements per message and this process's CPU time per message (steadier than
wall time on a busy machine). Figures are printed, never asserted. Exit status 1 if any message
was not "ok".

On SQLite every transaction starts with BEGIN IMMEDIATE (models/db.py), so one message holds the
write lock for all of its work, and the threads of one process take it one after the other
(models.db.writer_turn): threads add no throughput there, and msg/s is about
1 / (CPU per message).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LANGS = ("nl", "fr", "en")
NAMES = ("Maria", "Jan", "Fatima", "Luc", "Ayse", "Piotr", "Sofie", "Youssef", "Ines", "Marc")
STREETS = ("Kerkstraat", "Rue de la Paix", "Oudergemlaan", "Boulevard Saint-Michel", "Tervurenlaan")


# ---- the message mix -------------------------------------------------------------------------
def resident_script(i: int) -> list[tuple[str, str | None]]:
    """(text, payload) for one new resident: join, menu, an unknown message, ask for help."""
    lang = LANGS[i % len(LANGS)]
    return [
        ("/start", None), ("", f"lang:{lang}"), ("1040", None), ("", "yes"), (NAMES[i % len(NAMES)], None),
        ("", "role:help"),
        ("/menu", None),
        ("what is this exactly?", None),
        ("", "ask"), ("", "cat:" + ("shopping", "lift", "repair", "company", "pets")[i % 5]),
        (f"Something small, number {i}", None), ("", "when:" + ("today", "tomorrow", "week")[i % 3]),
        (f"{STREETS[i % len(STREETS)]} {i % 200 + 1}, 1040 Etterbeek", None), ("", "yes"),
    ]


VOLUNTEER_TURN = [("", "open"), ("1", None)]  # list the open requests, take the first one

# Once everyone has joined, most traffic is short: the menu, "my requests", help, a thank-you,
# volunteers looking at open requests and their tasks -- and now and then a new request.
EVERYDAY_RESIDENT = [("/menu", None), ("", "mine"), ("/help", None), ("ok, thank you!", None), ("", "menu")]
EVERYDAY_VOLUNTEER = [("", "open"), ("", "tasks"), ("/menu", None)]
ASK_EVERY = 25  # one resident in 25 turns asks for help (6 messages, volunteers notified)


def everyday_plan(thread: int, threads: int, residents: list[int], volunteers: list[str], n: int):
    """n messages of settled traffic, round-robin over this thread's people."""
    mine = [i for i in residents if i % threads == thread]
    vols = volunteers[thread::threads] or volunteers[:1]
    out, turn = [], 0
    while len(out) < n:
        i = mine[turn % len(mine)]
        if turn % ASK_EVERY == ASK_EVERY - 1:
            out.extend((f"r{i}", t, p) for t, p in resident_script(i)[8:])
        else:
            t, p = EVERYDAY_RESIDENT[turn % len(EVERYDAY_RESIDENT)]
            out.append((f"r{i}", t, p))
        v = vols[turn % len(vols)]
        t, p = EVERYDAY_VOLUNTEER[turn % len(EVERYDAY_VOLUNTEER)]
        out.append((v, t, p))
        turn += 1
    return out[:n]


def thread_plan(thread: int, threads: int, n_residents: int, volunteers: list[str], window: int = 8):
    """The messages one thread sends, as (address, text, payload): this thread's residents
    interleaved ``window`` at a time; after each resident's request, one of this thread's
    volunteers lists open requests and takes one."""
    mine = [i for i in range(n_residents) if i % threads == thread]
    vols = volunteers[thread::threads] or volunteers[:1]
    queues = [[(f"r{i}", t, p) for t, p in resident_script(i)] for i in mine]
    active, out, turn = [], [], 0
    while queues or active:
        while queues and len(active) < window:
            active.append(queues.pop(0))
        for q in list(active):
            out.append(q.pop(0))
            if not q:
                active.remove(q)
                v = vols[turn % len(vols)]
                turn += 1
                out.extend((v, t, p) for t, p in VOLUNTEER_TURN)
    return out


# ---- one measured run (in its own process) ---------------------------------------------------
def run_one(url: str, n: int, threads: int, n_volunteers: int, mix: str = "cold") -> dict:
    from sqlalchemy import event, func, select, text

    from bot.demo import CHANNEL, seed
    from handlers.core import Inbound
    from handlers.dispatch import Dispatcher
    from models import ChannelIdentity, HelpRequest, Outbox, Person
    from models.base import utcnow
    from models.db import background_checkpoints, make_engine, make_sessionmaker
    from models.schema import upgrade

    cleanup = lambda: None  # noqa: E731
    kwargs = {}
    if url.startswith("sqlite"):
        label = "sqlite"
    else:
        label = "postgresql"
        schema = f"bench_{uuid.uuid4().hex[:10]}"
        admin = make_engine(url)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        kwargs["connect_args"] = {"options": f"-c search_path={schema}"}
        kwargs["pool_size"] = max(10, threads + 2)

        def cleanup():
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()

    engine = make_engine(url, **kwargs)
    background_checkpoints(engine)  # as `buurtbot run` does
    try:
        upgrade(engine)
        sessions = make_sessionmaker(engine)
        volunteers = [f"v{j}" for j in range(n_volunteers)]
        with sessions() as session, session.begin():
            nb = seed(session)
            for j, v in enumerate(volunteers):
                person = Person(neighbourhood_id=nb.id, first_name=f"Vol{j}", language=LANGS[j % 3],
                                languages_spoken=[LANGS[j % 3]], is_volunteer=True, volunteer_status="approved",
                                max_tasks_per_week=1000, consent_at=utcnow(), consent_version="bench")
                session.add(person)
                session.flush()
                session.add(ChannelIdentity(channel=CHANNEL, address=v, person_id=person.id,
                                            language=person.language, last_inbound_at=utcnow()))

        dispatcher = Dispatcher(sessions, rate_limit=10**9)
        if mix == "everyday":
            # Untimed: a neighbourhood of 100 residents who joined and asked once already.
            for seq, (address, txt, payload) in enumerate(thread_plan(0, 1, 100, volunteers)):
                dispatcher.handle(Inbound(CHANNEL, address, txt, payload, platform_message_id=f"setup-{seq}"))
            plans = [everyday_plan(k, threads, list(range(100)), volunteers, n // threads) for k in range(threads)]
        else:
            per_resident = len(resident_script(0)) + len(VOLUNTEER_TURN)
            n_residents = -(-n // per_resident)
            plans = [thread_plan(k, threads, n_residents, volunteers) for k in range(threads)]
            # Trim to exactly n messages, taking from the end of the longest plans.
            while sum(map(len, plans)) > n:
                max(plans, key=len).pop()

        statements = [0]

        @event.listens_for(engine, "before_cursor_execute")
        def count(*_args):
            statements[0] += 1
        latencies: list[list[float]] = [[] for _ in range(threads)]
        results: list[Counter] = [Counter() for _ in range(threads)]
        barrier = threading.Barrier(threads + 1)

        def worker(k: int) -> None:
            lat, res, handle, clock = latencies[k], results[k], dispatcher.handle, time.perf_counter
            if threads > 1:
                barrier.wait()
            for seq, (address, txt, payload) in enumerate(plans[k]):
                t0 = clock()
                res[handle(Inbound(CHANNEL, address, txt, payload, platform_message_id=f"{k}-{seq}"))] += 1
                lat.append(clock() - t0)

        cpu0 = time.process_time()
        if threads == 1:  # in the main thread, so that --profile sees the work
            start = time.perf_counter()
            worker(0)
        else:
            pool = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
            for t in pool:
                t.start()
            barrier.wait()
            start = time.perf_counter()
            for t in pool:
                t.join()
        elapsed = time.perf_counter() - start
        cpu = time.process_time() - cpu0
        event.remove(engine, "before_cursor_execute", count)

        with sessions() as session:
            check = {
                "people": session.scalar(select(func.count()).select_from(Person)),
                "requests": session.scalar(select(func.count()).select_from(HelpRequest)),
                "claimed": session.scalar(select(func.count()).select_from(HelpRequest)
                                          .where(HelpRequest.status == "claimed")),
                "outbox": session.scalar(select(func.count()).select_from(Outbox)),
            }
    finally:
        engine.dispose()
        cleanup()

    lat = sorted(x for part in latencies for x in part)
    total = Counter()
    for r in results:
        total.update(r)
    pct = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000  # noqa: E731
    return {
        "label": f"{label} {mix} mix", "n": len(lat), "threads": threads, "seconds": elapsed,
        "rate": len(lat) / elapsed, "p50": pct(0.50), "p99": pct(0.99), "cpu_ms_per_msg": cpu * 1000 / len(lat),
        "sql_per_msg": statements[0] / len(lat),
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "results": dict(total), **check,
    }


def fmt(r: dict) -> str:
    name = r["label"] + (f" ({r['threads']} threads)" if r["threads"] > 1 else "")
    return (f"{name}: {r['n']} msgs in {r['seconds']:.1f} s = {r['rate']:.0f} msg/s, "
            f"p50 {r['p50']:.1f} ms, p99 {r['p99']:.1f} ms, peak RSS {r['rss_mb']:.0f} MB")


def fmt_check(r: dict) -> str:
    results = ", ".join(f"{k} {v}" for k, v in sorted(r["results"].items()))
    return (f"  check: {results}; people {r['people']}, requests {r['requests']} "
            f"(claimed {r['claimed']}), outbox rows {r['outbox']}; {r['sql_per_msg']:.1f} SQL statements "
            f"and {r['cpu_ms_per_msg']:.2f} ms CPU (this process) per msg")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=2000, help="messages per run (default 2000)")
    ap.add_argument("--threads", type=int, action="append", default=[], metavar="K",
                    help="also measure with K threads dispatching at once (repeatable); "
                         "the single-threaded run is always made")
    ap.add_argument("--volunteers", type=int, default=10, help="approved volunteers in the neighbourhood (default 10)")
    ap.add_argument("--postgres", default=os.environ.get("BUURTBOT_BENCH_POSTGRES_URL"),
                    help="also measure PostgreSQL at this URL (default: $BUURTBOT_BENCH_POSTGRES_URL)")
    ap.add_argument("--no-sqlite", action="store_true", help="measure PostgreSQL only")
    ap.add_argument("--profile", metavar="FILE", help="cProfile the first run into FILE (pstats format)")
    ap.add_argument("--mix", action="append", choices=["cold", "everyday"], default=[],
                    help="cold: every resident joins and asks while measured; everyday: settled traffic of "
                         "people who joined before (default: both)")
    ap.add_argument("--one", metavar="URL", help=argparse.SUPPRESS)  # internal: one run, JSON out
    args = ap.parse_args(argv)
    threads = [1] + [k for k in dict.fromkeys(args.threads) if k > 1]
    mixes = list(dict.fromkeys(args.mix)) or ["cold", "everyday"]

    if args.one:
        threads = args.threads[:1] or [1]  # the parent passes this run's K
        if args.profile:
            import cProfile

            prof = cProfile.Profile()
            result = prof.runcall(run_one, args.one, args.n, threads[0], args.volunteers, mixes[0])
            prof.dump_stats(args.profile)
        else:
            result = run_one(args.one, args.n, threads[0], args.volunteers, mixes[0])
        print(json.dumps(result))
        return 0

    targets = []
    tmp = tempfile.TemporaryDirectory(prefix="buurtbot-bench-")
    if not args.no_sqlite:
        targets.append(lambda k: f"sqlite:///{tmp.name}/bench-{k}.db")
    if args.postgres:
        targets.append(lambda k: args.postgres)
    if not targets:
        ap.error("nothing to measure: --no-sqlite without --postgres")

    failed = False
    profile = args.profile
    with tmp:
        for target in targets:
            for mix, k in ((m, k) for m in mixes for k in threads):
                cmd = [sys.executable, __file__, "--one", target(f"{mix}-{k}"), "--n", str(args.n), "--threads", str(k),
                       "--volunteers", str(args.volunteers), "--mix", mix]
                if profile:
                    cmd += ["--profile", profile]
                    profile = None
                proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
                if proc.returncode != 0:
                    print(f"run failed: {' '.join(cmd[2:4])} --threads {k}", file=sys.stderr)
                    failed = True
                    continue
                r = json.loads(proc.stdout.strip().splitlines()[-1])
                print(fmt(r))
                print(fmt_check(r), flush=True)
                failed |= bool(set(r["results"]) - {"ok"})
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
