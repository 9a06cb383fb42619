"""What neighbours ask and offer. The full address lives in its own table so that lists of
requests never load it: it is shown only to the volunteer who claimed the task."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, UTCDateTime, utcnow

REQUEST_STATUSES = ("open", "claimed", "done", "cancelled", "referred", "expired")


class HelpRequest(Base):
    __tablename__ = "help_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    neighbourhood_id: Mapped[int] = mapped_column(ForeignKey("neighbourhoods.id"), index=True)
    requester_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"), index=True)
    on_behalf_of: Mapped[str | None] = mapped_column(String(80))
    category: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(Text, default="")
    when_kind: Mapped[str] = mapped_column(String(12), default="week")
    due_date: Mapped[date | None] = mapped_column(Date)
    street: Mapped[str | None] = mapped_column(String(120))
    #: Photos and voice notes sent while describing it, as channel file references
    #: ("telegram:photo:<file_id>"): forwarded to whoever claims it, never downloaded.
    media: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    status: Mapped[str] = mapped_column(String(12), default="open", index=True)
    claimed_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"), index=True)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: When the volunteer who claimed it said they will come (UTC): the reminders around the
    #: task fall due relative to it (models.schedules.Timer).
    visit_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: A one-time word the volunteer says at the door, shown to both (against people posing as
    #: volunteers); in the requester's language.
    doorstep_word: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    requester = relationship("Person", foreign_keys=[requester_id])
    claimed_by = relationship("Person", foreign_keys=[claimed_by_id])
    address: Mapped["RequestAddress | None"] = relationship(
        back_populates="request", cascade="all, delete-orphan", uselist=False
    )


class RequestAddress(Base):
    __tablename__ = "request_addresses"

    request_id: Mapped[int] = mapped_column(ForeignKey("help_requests.id", ondelete="CASCADE"), primary_key=True)
    address_full: Mapped[str] = mapped_column(String(200))

    request: Mapped[HelpRequest] = relationship(back_populates="address")
