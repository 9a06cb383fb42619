"""When a message cannot reach someone, a person hears about it: never a silent drop.

A WhatsApp message outside the 24-hour window with no approved template for it, and no SMS
number to fall back on, is held (it goes out as soon as the person writes again) and the
coordinators of that person's neighbourhood are told, in their own language, so that someone
can ring the bell or call.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers.alerts import decorate, open_alert
from handlers.core import Notifier
from handlers.i18n import N_, _
from models import ChannelIdentity, Outbox
from models.network import coordinators_of

#: Why a message is held, as the coordinator reads it.
REASONS = {
    "window": N_("they have not written for more than a day, and WhatsApp then only allows approved templates"),
    "failed": N_("the delivery failed"),
}
PURPOSE = "undelivered"


def tell_coordinators(session: Session, row: Outbox, reason: str) -> int:
    """Tell the coordinators that ``row`` is held; once per row (the outbox key), however
    often a status report or a sender round comes back to it. Returns how many were told."""
    if row.purpose == PURPOSE:
        return 0  # a notice about a notice would go round in circles
    key = f"{PURPOSE}:{row.id}:1"
    if session.scalar(select(Outbox.id).where(Outbox.idempotency_key == key)) is not None:
        return 0
    identity = session.get(ChannelIdentity, row.identity_id) if row.identity_id else None
    person = identity.person if identity is not None else None
    if person is None:
        return 0
    # Outbox keys "undelivered:<row id>:<n>": told once per held row.
    notifier = Notifier(session, f"{PURPOSE}:{row.id}")
    channel = identity.channel
    coordinators = [c for c in coordinators_of(session, person.neighbourhood_id) if c.id != person.id]
    alert = open_alert(session, person, "undelivered") if coordinators else None  # the phone, "Reply", "I'll take this"
    told = notifier.tell_all(
        coordinators,
        lambda: decorate(alert, _("A message to {name} could not be delivered on {channel}: {reason}. It is kept and "
                                  "goes out when {name} writes again. Could you reach {name} another way?",
                                  name=person.first_name or "?", channel=channel, reason=_(REASONS[reason])), []),
        about=person.id, purpose=PURPOSE, even_if_paused=True)
    notifier.write()
    return told
