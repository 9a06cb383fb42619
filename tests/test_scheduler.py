"""The scheduler's sweeps and its explicit APScheduler settings."""
from datetime import date, timedelta

from models import HelpRequest, Neighbourhood
from models.base import utcnow
from scheduler.runner import Ticks
from scheduler.ticks import expire_requests


def _request(session, nb, **kw):
    req = HelpRequest(neighbourhood_id=nb.id, category="shopping", description="x", **kw)
    session.add(req)
    return req


def test_expiry_sweeps_only_stale_open_requests(sessions):
    now = utcnow()
    with sessions() as s, s.begin():
        nb = Neighbourhood(name="N", slug="n", postcodes=["1040"])
        s.add(nb)
        s.flush()
        past = _request(s, nb, when_kind="date", due_date=date.today() - timedelta(days=3))
        old_week = _request(s, nb, when_kind="week", created_at=now - timedelta(days=20))
        fresh = _request(s, nb, when_kind="week")
        tomorrow = _request(s, nb, when_kind="tomorrow", due_date=date.today() + timedelta(days=1))
        claimed_past = _request(s, nb, when_kind="date", due_date=date.today() - timedelta(days=3), status="claimed")
    with sessions() as s, s.begin():
        assert expire_requests(s, now, days=14) == 2
    with sessions() as s:
        status = {r.id: r.status for r in s.query(HelpRequest)}
    assert status[past.id] == "expired" and status[old_week.id] == "expired"
    assert status[fresh.id] == "open" and status[tomorrow.id] == "open" and status[claimed_past.id] == "claimed"


def test_tick_records_its_run_and_job_defaults_are_explicit(sessions):
    ticks = Ticks(sessions, tick_seconds=30, expiry_days=14)
    assert ticks.health() == {"running": False, "last_tick": None}
    ticks.tick()
    assert ticks.health()["last_tick"] is not None
    job = ticks.scheduler.get_job("sweep")
    assert job.misfire_grace_time == 120 and job.coalesce is True and job.max_instances == 1
