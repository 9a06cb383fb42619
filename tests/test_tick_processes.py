"""Several scheduler instances on one database, each a process of its own (tests/tick_process.py):
1,000 due check-ins, every person contacted exactly once -- with two instances at the same time,
and when one is killed (-9) in the middle of a sweep and started again."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections import Counter
from datetime import timezone
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, insert, select

from handlers.sweeps import BATCH
from models import ChannelIdentity, Neighbourhood, Person
from models.db import make_engine
from models.schedules import CheckinAttempt, CheckinOccurrence, CheckinPlan
from models.schema import upgrade
from tests.conftest import fresh_pg_database
from tests.test_plans_due import local

ROOT = Path(__file__).resolve().parent.parent
N = 1000
AT = local(2026, 12, 7, 10, 5).astimezone(timezone.utc).isoformat()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path, sqlite_template):
    if request.param == "sqlite":
        path = tmp_path / "ticks.db"
        shutil.copy(sqlite_template, path)
        yield f"sqlite:///{path}"
        return
    with fresh_pg_database("buurtbot_ticks") as url:
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url


def seed(url: str, n: int = N) -> None:
    """n people, each with a plan due at Monday 7 December 2026 10:00 (Brussels)."""
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            nb = conn.execute(insert(Neighbourhood).returning(Neighbourhood.id),
                              [dict(name="E", slug="e", postcodes=["1040"])]).scalar_one()
            conn.execute(insert(Person), [dict(id=i + 1, neighbourhood_id=nb, first_name=f"P{i}", language="nl")
                                          for i in range(n)])
            conn.execute(insert(ChannelIdentity), [dict(channel="demo", address=f"p{i}", person_id=i + 1)
                                                   for i in range(n)])
            conn.execute(insert(CheckinPlan), [
                dict(person_id=i + 1, neighbourhood_id=nb, channel="demo", days=[0, 3], time_local="10:00",
                     next_due_at=local(2026, 12, 7, 10, 0)) for i in range(n)])
    finally:
        engine.dispose()


def spawn(url: str, *extra: str) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "tests.tick_process", url, AT, *extra], cwd=ROOT,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.stdout.readline().strip() == "ready", "the scheduler process did not start"
    return proc


def finish(proc: subprocess.Popen) -> dict:
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, out
    result = json.loads(out.strip().splitlines()[-1])
    assert result["failed"] == []
    return result["sweeps"]


def exactly_once(url: str, n: int = N) -> None:
    """Every plan has one occurrence, contacted by one attempt; every plan moved on to Thursday."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            per_plan = Counter(conn.scalars(select(CheckinOccurrence.plan_id)))
            per_occurrence = Counter(conn.scalars(select(CheckinAttempt.occurrence_id)))
            steps = set(conn.scalars(select(CheckinAttempt.step)))
            next_due = set(conn.scalars(select(CheckinPlan.next_due_at)))
            occurrences = conn.scalar(select(func.count()).select_from(CheckinOccurrence))
    finally:
        engine.dispose()
    assert len(per_plan) == n and set(per_plan.values()) == {1}, "someone missed or written twice"
    assert occurrences == n and len(per_occurrence) == n and set(per_occurrence.values()) == {1}
    assert steps == {"checkin"}
    assert {d.astimezone(timezone.utc) for d in next_due} == {local(2026, 12, 10, 10, 0).astimezone(timezone.utc)}


def test_two_instances_at_once_contact_everyone_exactly_once(db_url):
    seed(db_url)
    procs = [spawn(db_url), spawn(db_url)]
    for proc in procs:  # both are connected and waiting: go together
        proc.stdin.write("go\n")
        proc.stdin.flush()
    counts = [finish(proc)["checkins"] for proc in procs]
    assert sum(counts) == N, counts  # what each instance says it handled adds up: nobody twice
    exactly_once(db_url)


def test_an_instance_killed_in_the_middle_of_a_sweep_loses_nobody_and_doubles_nobody(db_url):
    seed(db_url)
    victim = spawn(db_url, "2")  # stops inside its second batch, occurrences written, not committed
    victim.stdin.write("go\n")
    victim.stdin.flush()
    assert victim.stdout.readline().strip() == "holding"
    # A plain reader (models.db's engines begin every transaction as a writer on SQLite).
    engine = create_engine(db_url) if db_url.startswith("sqlite") else make_engine(db_url)
    try:
        with engine.connect() as conn:  # the first batch is committed; the second is not
            assert conn.scalar(select(func.count()).select_from(CheckinOccurrence)) == BATCH
    finally:
        engine.dispose()
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait(timeout=30)
    restarted = spawn(db_url)
    restarted.stdin.write("go\n")
    restarted.stdin.flush()
    assert finish(restarted)["checkins"] == N - BATCH
    exactly_once(db_url)
