"""The sweeps a tick runs. Each is a plain function over a session, so tests call it directly."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, or_, update
from sqlalchemy.orm import Session

from models import HelpRequest
from models.base import TZ


def expire_requests(session: Session, now: datetime, days: int) -> int:
    """Open requests whose day has passed (or, without a day, that waited ``days``) expire,
    so volunteers never see stale asks. Returns how many."""
    today = now.astimezone(TZ).date()
    result = session.execute(
        update(HelpRequest)
        .where(HelpRequest.status == "open", or_(
            HelpRequest.due_date < today - timedelta(days=1),
            and_(HelpRequest.due_date.is_(None), HelpRequest.created_at < now - timedelta(days=days)),
        ))
        .values(status="expired")
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0
