"""The local demo channel: one person plays several neighbours in a browser. It uses the same
dispatcher, database and outbox as the real channels; "delivery" is the page reading its inbox."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers.labels import readable
from models import ChannelIdentity, Neighbourhood, Outbox, Person
from models.base import utcnow
from models.outbox import mark_delivered
from models.network import add_neighbourhood

CHANNEL = "demo"
COORDINATOR = "coordinator"


def seed(session: Session) -> Neighbourhood:
    """Neighbourhood "Demo" (1040) with an approved coordinator persona. Idempotent."""
    nb = session.scalar(select(Neighbourhood).where(Neighbourhood.slug == "demo"))
    if nb is None:
        nb = add_neighbourhood(session, "Demo", "demo", ["1040"], default_language="nl", contact_name="Fatima")
    identity = session.scalar(select(ChannelIdentity).where(
        ChannelIdentity.channel == CHANNEL, ChannelIdentity.address == COORDINATOR))
    if identity is None:
        person = Person(neighbourhood_id=nb.id, first_name="Fatima", language="en", languages_spoken=["nl", "fr", "en"],
                        is_coordinator=True, is_resident=True, consent_at=utcnow(), consent_version="demo")
        session.add(person)
        session.flush()
        session.add(ChannelIdentity(channel=CHANNEL, address=COORDINATOR, person_id=person.id, language="en",
                                    last_inbound_at=utcnow()))
    return nb


def inbox(session: Session, persona: str, after: int = 0, limit: int = 200) -> list[dict]:
    """A persona's messages after ``after``, oldest first; reading them marks them delivered."""
    rows = session.scalars(
        select(Outbox)
        .where(Outbox.channel == CHANNEL, Outbox.address == persona, Outbox.id > after,
               Outbox.status.in_(("pending", "sent")))
        .order_by(Outbox.id).limit(limit)
    ).all()
    out = [{"id": r.id, "text": readable(r.text, r.language), "options": list(r.options or [])} for r in rows]
    mark_delivered(session, rows)
    return out
