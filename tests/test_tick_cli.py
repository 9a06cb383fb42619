"""`buurtbot tick [--at ISO]` as an operator runs it: from an empty directory, as a subprocess."""
from __future__ import annotations

import json

from sqlalchemy import func, select

from models import ChannelIdentity, Neighbourhood, Person
from models.db import make_engine, make_sessionmaker
from models.plan_times import next_due
from models.schedules import CheckinAttempt, CheckinOccurrence, CheckinPlan
from tests.test_cli import assert_clean_failure, buurtbot, sqlite_url, upgraded, workdir  # noqa: F401
from tests.test_plans_due import local


def seed_plans(url: str) -> None:
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as s, s.begin():
            nb = Neighbourhood(name="Etterbeek", slug="etterbeek", postcodes=["1040"])
            s.add(nb)
            s.flush()
            for name in ("Maria", "Jan"):
                person = Person(neighbourhood_id=nb.id, first_name=name, language="nl")
                s.add(person)
                s.flush()
                s.add(ChannelIdentity(channel="demo", address=name.lower(), person_id=person.id))
                s.add(CheckinPlan(person_id=person.id, neighbourhood_id=nb.id, channel="demo", days=[0, 3],
                                  time_local="10:00", next_due_at=next_due([0, 3], "10:00", local(2026, 12, 7, 9))))
    finally:
        engine.dispose()


def counts(url: str) -> tuple[int, int]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            # the first contact of each occurrence (the ladder's later steps write attempts of their own)
            return (conn.scalar(select(func.count()).select_from(CheckinOccurrence)),
                    conn.scalar(select(func.count()).select_from(CheckinAttempt)
                                .where(CheckinAttempt.step == "checkin")))
    finally:
        engine.dispose()


def test_tick_at_a_local_time_runs_every_sweep_once_and_twice_does_nothing(workdir, sqlite_url):
    upgraded(workdir, sqlite_url)
    seed_plans(sqlite_url)
    before = buurtbot(workdir, sqlite_url, "tick", "--at", "2026-12-07T09:59")
    assert before.returncode == 0, before.stderr
    assert json.loads(before.stdout)["sweeps"]["checkins"] == 0
    first = buurtbot(workdir, sqlite_url, "tick", "--at", "2026-12-07T10:05")
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout)
    assert summary["at"] == "2026-12-07T10:05:00+01:00"  # no offset given: Brussels
    assert summary["sweeps"]["checkins"] == 2 and "expire_requests" in summary["sweeps"]
    assert counts(sqlite_url) == (2, 2)
    second = buurtbot(workdir, sqlite_url, "tick", "--at", "2026-12-07T10:05")
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout)["sweeps"]["checkins"] == 0
    assert counts(sqlite_url) == (2, 2)
    # With an offset: Thursday 10:00 Brussels is 09:00 UTC.
    utc = buurtbot(workdir, sqlite_url, "tick", "--at", "2026-12-10T09:00:30+00:00")
    assert json.loads(utc.stdout)["sweeps"]["checkins"] == 2 and counts(sqlite_url) == (4, 4)


def test_tick_reads_the_database_from_dotenv_in_the_working_directory(workdir, sqlite_url):
    upgraded(workdir, sqlite_url)
    seed_plans(sqlite_url)
    (workdir / ".env").write_text(f"DATABASE_URL={sqlite_url}\n")
    result = buurtbot(workdir, None, "tick", "--at", "2026-12-07T11:00")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["sweeps"]["checkins"] == 2 and counts(sqlite_url) == (2, 2)


def test_tick_refuses_an_outdated_schema_and_a_bad_time(workdir, sqlite_url):
    assert_clean_failure(buurtbot(workdir, sqlite_url, "tick"), "buurtbot db upgrade")
    upgraded(workdir, sqlite_url)
    assert_clean_failure(buurtbot(workdir, sqlite_url, "tick", "--at", "next monday"), "--at")
    now = buurtbot(workdir, sqlite_url, "tick")
    assert now.returncode == 0, now.stderr
    assert set(json.loads(now.stdout)) == {"at", "sweeps"}
