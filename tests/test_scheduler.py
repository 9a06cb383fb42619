"""The scheduler's sweeps and its explicit APScheduler settings."""
from datetime import date, timedelta

from sqlalchemy import select
from models import HelpRequest, Neighbourhood
from models.base import utcnow
from scheduler.runner import Ticks
from scheduler.ticks import expire_requests, forget_walked_away


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
    assert ticks.health() == {"running": False, "last_tick": None, "last_sweep": None,
                              "overdue": {"plans": 0, "occurrences": 0, "followups": 0, "timers": 0}}
    ticks.tick()
    assert ticks.health()["last_tick"] is not None and ticks.health()["last_sweep"] is not None
    job = ticks.scheduler.get_job("sweep")
    assert job.misfire_grace_time == 120 and job.coalesce is True and job.max_instances == 1


def test_what_a_newcomer_wrote_is_forgotten_when_they_walk_away(sessions):
    """Kept first words (to be proposed once they join) of someone who never consented do not
    outlive the 12 hours a question stays open; a person's conversation is left alone."""
    from models import ChannelIdentity, ConversationState, Person

    now = utcnow()
    with sessions() as s, s.begin():
        nb = Neighbourhood(name="Walk", slug="walk", postcodes=["1040"], default_language="nl")
        s.add(nb)
        s.flush()
        person = Person(first_name="Jan", language="nl", neighbourhood_id=nb.id)
        s.add(person)
        s.flush()
        for n, (owner, age) in enumerate([(None, 13), (None, 1), (person.id, 13)]):
            ident = ChannelIdentity(channel="demo", address=f"walk{n}", person_id=owner)
            s.add(ident)
            s.flush()
            s.add(ConversationState(identity_id=ident.id, step="onboard.language", data={"said": {"text": "x"}},
                                    updated_at=now - timedelta(hours=age)))
    with sessions() as s, s.begin():
        assert forget_walked_away(s, now, timedelta(hours=12)) == 1
    with sessions() as s:
        states = {st.identity_id: st for st in s.scalars(select(ConversationState))}
        walkers = s.scalars(select(ChannelIdentity).where(ChannelIdentity.address.startswith("walk")))
        kept = {i.address: states[i.id].data for i in walkers}
    assert kept == {"walk0": {}, "walk1": {"said": {"text": "x"}}, "walk2": {"said": {"text": "x"}}}
