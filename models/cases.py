"""Cases a coordinator follows up and closes with an outcome: a worry about a neighbour (a
*concern*), a warm hand-off to a professional service (a *referral*, from the social map or
from a partner with the person's consent) and a *problem* in the neighbourhood (a broken
street light) to pass on to the commune.

The reporter is thanked and sees nothing of the case afterwards (need-to-know). The person a
case is about may have no account (a partner's referral): then only a first name and a phone
are kept, and erasing the case's person or reporter removes what named them."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from models.audit import audit
from models.base import Base, UTCDateTime, utcnow
from models.people import Neighbourhood, Person

CASE_KINDS = ("concern", "referral", "problem")
#: open -> taken (a coordinator acts on it) -> closed (with an outcome).
CASE_STATUSES = ("open", "taken", "closed")
#: What a coordinator turns a concern into.
CASE_ACTIONS = ("visit", "call", "referral", "none")


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (Index("ix_cases_remind", "status", "remind_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(12))  # one of CASE_KINDS
    neighbourhood_id: Mapped[int] = mapped_column(ForeignKey("neighbourhoods.id"), index=True)
    #: Who raised it; SET NULL when they are erased (the case stays for the coordinator).
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"), index=True)
    #: The person it is about, when they are in the network; erased with them.
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    #: A person outside the network (a partner's referral): first name and phone only.
    about_name: Mapped[str | None] = mapped_column(String(80))
    about_phone: Mapped[str | None] = mapped_column(String(32))
    #: How the person agreed to be contacted ("she agrees that you call her").
    consent: Mapped[str | None] = mapped_column(String(200))
    #: The kind of help or service (a directory category, a request category).
    category: Mapped[str | None] = mapped_column(String(24))
    #: What the reporter wrote, at most 1000 characters; the coordinator's eyes only.
    text: Mapped[str] = mapped_column(Text, default="")
    #: A warm referral's service from the social map.
    service_id: Mapped[int | None] = mapped_column(ForeignKey("services.id", ondelete="SET NULL"))
    #: A referral made from a help request (the ask flow's professional path).
    request_id: Mapped[int | None] = mapped_column(ForeignKey("help_requests.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(12), default="open")
    action: Mapped[str | None] = mapped_column(String(12))  # one of CASE_ACTIONS
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    outcome: Mapped[str | None] = mapped_column(String(300))
    #: When the reminder sweep next looks at it (an open referral: 7 days after it was made).
    remind_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminded: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    leased_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    taken_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))

    neighbourhood: Mapped[Neighbourhood] = relationship()
    reporter: Mapped[Person | None] = relationship(foreign_keys=[reporter_id])
    person: Mapped[Person | None] = relationship(foreign_keys=[person_id])
    assignee: Mapped[Person | None] = relationship(foreign_keys=[assignee_id])


def open_case(session: Session, kind: str, neighbourhood_id: int, *, text: str = "", reporter_id: int | None = None,
              person_id: int | None = None, about_name: str | None = None, about_phone: str | None = None,
              consent: str | None = None, category: str | None = None, service_id: int | None = None,
              request_id: int | None = None, remind_at: datetime | None = None) -> Case:
    """A new case for the coordinators of ``neighbourhood_id``; the one way every flow opens one
    (a concern, a partner's referral, a warm hand-off from the social map, a street problem)."""
    assert kind in CASE_KINDS, kind
    case = Case(kind=kind, neighbourhood_id=neighbourhood_id, text=(text or "")[:1000], reporter_id=reporter_id,
                person_id=person_id, about_name=about_name and about_name[:80],
                about_phone=about_phone and about_phone[:32], consent=consent and consent[:200],
                category=category, service_id=service_id, request_id=request_id, remind_at=remind_at,
                status="open")
    session.add(case)
    session.flush()
    audit(session, reporter_id, f"case.open.{kind}", "case", case.id)
    return case
