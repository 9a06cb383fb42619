"""PLACEHOLDER (engine branch): the checkin helper's handlers/checkins.py replaces this file at merge.

Only ``contact`` exists here, so that the check-in sweep (handlers/plans_due.py) can be run and
tested before the merge: it records that the check-in was queued, and sends nothing."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from models.schedules import CheckinAttempt, CheckinOccurrence


def contact(session: Session, occ: CheckinOccurrence, now: datetime, *, step: str, channel: str | None = None) -> bool:
    session.add(CheckinAttempt(occurrence_id=occ.id, person_id=occ.person_id, at=now, step=step,
                               channel=channel or occ.plan.channel, outcome="queued"))
    return True
