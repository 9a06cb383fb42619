"""Announcements from a coordinator to many neighbours at once.

A broadcast is a row; its recipients are materialised into ``broadcast_recipients`` and
outbox rows in batches, each in one transaction with one idempotency key per recipient
(``broadcast:<id>:<person id>``), so a crash in the middle resumes exactly where it was:
nobody twice, nobody missed (DESIGN.md, "Bulk after people"). Delivery counts are read from
the recipients' outbox rows; a recipient left out says why (``reason``)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, UTCDateTime, utcnow
from models.people import Neighbourhood, Person

AUDIENCES = ("everyone", "residents", "volunteers")
#: draft (being written in the chat) -> scheduled (send_at in the future) -> sending
#: (being materialised and delivered) -> sent (every recipient has an outbox row or a reason);
#: cancelled: stopped before it went (a scheduled one), or what was not sent yet was withdrawn.
BROADCAST_STATUSES = ("draft", "scheduled", "sending", "sent", "cancelled")
#: Optional answer buttons; "pickup" starts a lift request in the normal ask flow.
ANSWER_KINDS = ("coming", "pickup")
#: Why a person of the audience was not sent the broadcast.
SKIP_REASONS = ("paused", "opted_out", "do_not_contact", "unreachable", "no_channel")


class Broadcast(Base):
    __tablename__ = "broadcasts"
    __table_args__ = (Index("ix_broadcasts_due", "status", "send_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    neighbourhood_id: Mapped[int] = mapped_column(ForeignKey("neighbourhoods.id"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"), index=True)
    #: "chat" or "cli" (an operator, a monthly letter from cron).
    source: Mapped[str] = mapped_column(String(8), default="chat")
    audience: Mapped[str] = mapped_column(String(16), default="everyone")  # one of AUDIENCES
    #: Optional narrowing of the audience: one language, one street, one postcode.
    audience_language: Mapped[str | None] = mapped_column(String(8))
    audience_street: Mapped[str | None] = mapped_column(String(120))
    audience_postcode: Mapped[str | None] = mapped_column(String(8))
    #: The coordinator's own text's language; a recipient without a version in their language gets it.
    base_language: Mapped[str] = mapped_column(String(8), default="nl")
    #: {language: text}; always holds ``base_language``.
    texts: Mapped[dict] = mapped_column(JSON, default=dict)
    #: Answer buttons offered to recipients, a list of ANSWER_KINDS.
    buttons: Mapped[list] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(12), default="draft")
    #: When it goes (UTC); None: at once when confirmed.
    send_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Materialisation cursor: recipients with a person id up to this one have their row.
    cursor: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    leased_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Every recipient has an outbox row or a reason.
    materialised_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The last progress message to the author (a row count), and when the final summary went.
    progress_sent: Mapped[int] = mapped_column(Integer, default=0)
    summary_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    neighbourhood: Mapped[Neighbourhood] = relationship()
    author: Mapped[Person | None] = relationship()


class BroadcastRecipient(Base):
    """One person of a broadcast's audience: the outbox row that carries it, or why not."""

    __tablename__ = "broadcast_recipients"
    __table_args__ = (UniqueConstraint("broadcast_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcasts.id", ondelete="CASCADE"), index=True)
    #: SET NULL on erasure: the counts stay, the person goes.
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"), index=True)
    channel: Mapped[str | None] = mapped_column(String(16))
    language: Mapped[str | None] = mapped_column(String(8))
    #: No foreign key: an outbox row may be purged after delivery; the id still finds its status.
    outbox_id: Mapped[int | None] = mapped_column(Integer, index=True)
    status: Mapped[str] = mapped_column(String(12), default="queued")  # queued | skipped
    reason: Mapped[str | None] = mapped_column(String(24))  # one of SKIP_REASONS when skipped
    answer: Mapped[str | None] = mapped_column(String(12))  # one of ANSWER_KINDS
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
