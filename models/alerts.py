"""Alerts to coordinators about a person (a call wanted, a message for a person, a worry, an
emergency), kept as rows so that one coordinator can take one: the first press wins, the
others see who took it. The phone number a person gave for a call is kept here, not on the
person: volunteers who claim a task see ``Person.phone``, and a call is the coordinator's."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, bindparam, delete, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from models.audit import audit
from models.base import Base, UTCDateTime, utcnow
from models.people import Person


class Alert(Base):
    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    neighbourhood_id: Mapped[int] = mapped_column(ForeignKey("neighbourhoods.id"), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    phone: Mapped[str | None] = mapped_column(String(32))
    taken_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    taken_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    person: Mapped[Person | None] = relationship(foreign_keys=[person_id])
    taken_by: Mapped[Person | None] = relationship(foreign_keys=[taken_by_id])


def create_alert(session: Session, person: Person, kind: str, phone: str | None = None) -> Alert:
    alert = Alert(neighbourhood_id=person.neighbourhood_id, person_id=person.id, kind=kind[:16],
                  phone=(phone or None) and phone[:32])
    session.add(alert)
    session.flush()
    audit(session, person.id, f"alert.{kind}"[:40], "alert", alert.id)
    return alert


def take(session: Session, alert_id: int, coordinator_id: int) -> bool:
    """Atomic: exactly one coordinator takes an alert, whatever the number of presses."""
    won = session.execute(_TAKE, {"alert": alert_id, "coordinator": coordinator_id, "now": utcnow()}).rowcount == 1
    if won:
        audit(session, coordinator_id, "alert.take", "alert", alert_id)
        alert = session.identity_map.get(session.identity_key(Alert, alert_id))
        if alert is not None:
            session.expire(alert)
    return won


_TAKE = (
    update(Alert)
    .where(Alert.id == bindparam("alert"), Alert.taken_by_id.is_(None))
    .values(taken_by_id=bindparam("coordinator"), taken_at=bindparam("now"))
    .execution_options(synchronize_session=False)
)


def forget(session: Session, person_id: int) -> None:
    """Erasure: the alerts about a person (and any phone they gave) go with them; alerts they
    took stay, untaken by anyone named. Explicit, so erasure does not rest on the schema's
    ON DELETE rules alone (a database restored without them, or SQLite without foreign_keys)."""
    session.execute(delete(Alert).where(Alert.person_id == person_id).execution_options(synchronize_session=False))
    session.execute(update(Alert).where(Alert.taken_by_id == person_id).values(taken_by_id=None)
                    .execution_options(synchronize_session=False))


def about(session: Session, person_id: int) -> list[Alert]:
    """The alerts about a person, oldest first (for /mydata)."""
    return list(session.scalars(select(Alert).where(Alert.person_id == person_id).order_by(Alert.id)))
