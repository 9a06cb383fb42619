"""The sweeps a tick runs. Each is a plain function over a session, so tests call it directly."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from models import ChannelIdentity, ConversationState, HelpRequest
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


def forget_walked_away(session: Session, now: datetime, after: timedelta) -> int:
    """Someone who wrote before joining and never came back: what their conversation kept (their
    first words, kept to be proposed once they join) is forgotten after ``after`` -- nothing of a
    person who never consented stays. Returns how many conversations were emptied."""
    strangers = select(ChannelIdentity.id).where(ChannelIdentity.person_id.is_(None))
    result = session.execute(
        update(ConversationState)
        .where(ConversationState.identity_id.in_(strangers), ConversationState.updated_at < now - after,
               or_(ConversationState.step != "", ConversationState.flow != ""))
        .values(flow="", step="", data={}, options=[])
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0
