"""Delivery bookkeeping every channel sender shares."""
from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from models.base import utcnow
from models.messaging import Outbox
from models.privacy import REDACTED


def mark_delivered(session: Session, rows: list[Outbox], platform_ids: dict[int, str] | None = None) -> None:
    """Record delivery. A ``purge_after_send`` row (a farewell after /delete, a list naming
    others) is emptied rather than deleted: SQLite would hand a deleted newest row's id out
    again, and an "after id" cursor would then skip the next message."""
    platform_ids = platform_ids or {}
    purge = [r.id for r in rows if r.purge_after_send]
    if purge:
        session.execute(update(Outbox).where(Outbox.id.in_(purge))
                        .values(status="purged", sent_at=utcnow(), text=REDACTED, options=[], address=REDACTED,
                                identity_id=None, about_person_id=None)
                        .execution_options(synchronize_session=False))
    sent = [r.id for r in rows if r.status == "pending" and not r.purge_after_send]
    if sent and not platform_ids:
        session.execute(update(Outbox).where(Outbox.id.in_(sent))
                        .values(status="sent", sent_at=utcnow(), attempts=Outbox.attempts + 1)
                        .execution_options(synchronize_session=False))
        return
    for row_id in sent:
        session.execute(update(Outbox).where(Outbox.id == row_id)
                        .values(status="sent", sent_at=utcnow(), attempts=Outbox.attempts + 1,
                                platform_message_id=platform_ids.get(row_id))
                        .execution_options(synchronize_session=False))
