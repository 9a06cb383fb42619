"""Two instances sweeping the ladder of one database at the same moment (SQLite and
PostgreSQL): every unanswered check-in climbs its rung once -- one retry each, never two."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from handlers.checkins import contact, sweep_ladder
from models import Outbox
from models.db import make_engine, make_sessionmaker
from models.schedules import CheckinAttempt, CheckinOccurrence, CheckinPlan
from tests.test_checkins import T0, add
from tests.test_concurrency import run_together

PEOPLE = 40


def test_two_instances_sweep_the_ladder_at_once(chat):
    with chat.sessions() as s, s.begin():
        for n in range(PEOPLE):
            person = add(s, f"P{n}", ("demo", f"p{n}"))
            plan = CheckinPlan(person_id=person.id, neighbourhood_id=person.neighbourhood_id, channel="demo", days=[0])
            s.add(plan)
            s.flush()
            occ = CheckinOccurrence(key=f"checkin:{plan.id}", plan_id=plan.id, person_id=person.id, due_at=T0)
            s.add(occ)
            s.flush()
            contact(s, occ, T0, step="checkin")
    url = chat.sessions.kw["bind"].url.render_as_string(hide_password=False)
    engines = [make_engine(url) for _ in range(4)]

    def instance(i: int) -> int:
        sessions, handled = make_sessionmaker(engines[i]), 0
        while True:
            with sessions() as s, s.begin():
                got = sweep_ladder(s, T0 + timedelta(minutes=10))
            handled += got
            if not got:
                return handled

    try:
        assert sum(run_together(len(engines), instance)) == PEOPLE
    finally:
        for engine in engines:
            engine.dispose()
    with chat.sessions() as s:
        retries = s.execute(select(CheckinAttempt.occurrence_id, func.count()).where(CheckinAttempt.step == "retry")
                            .group_by(CheckinAttempt.occurrence_id)).all()
        assert len(retries) == PEOPLE and {count for _occ, count in retries} == {1}
        retried = Outbox.idempotency_key.like("checkin:%:retry:%")
        assert s.scalar(select(func.count()).select_from(Outbox).where(retried)) == PEOPLE
        assert s.scalar(select(func.count()).select_from(CheckinOccurrence)
                        .where(CheckinOccurrence.next_at == T0 + timedelta(minutes=20))) == PEOPLE
