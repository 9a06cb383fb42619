"""PLACEHOLDER (engine branch): the checkin helper's handlers/checkins.py replaces this file at merge.

Only ``contact`` (and its batch form, which the check-in sweep uses when a module offers it)
exists here, so that the sweep (handlers/plans_due.py) can be run, tested and benchmarked before
the merge: it records that the check-in was queued, and sends nothing."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert
from sqlalchemy.orm import Session

from models.schedules import CheckinAttempt, CheckinOccurrence


def contact(session: Session, occ: CheckinOccurrence, now: datetime, *, step: str, channel: str | None = None) -> bool:
    return contact_many(session, [occ], now, step=step, channel=channel) == 1


def contact_many(session: Session, occurrences: list[CheckinOccurrence], now: datetime, *, step: str,
                 channel: str | None = None) -> int:
    """Every occurrence contacted; one INSERT for their attempts. Returns how many."""
    if occurrences:
        session.execute(insert(CheckinAttempt), [
            dict(occurrence_id=occ.id, person_id=occ.person_id, at=now, step=step,
                 channel=channel or occ.plan.channel, outcome="queued") for occ in occurrences])
    return len(occurrences)
