"""Who is in the network: neighbourhoods, people, the channels they write from, invites."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, UTCDateTime, utcnow

CATEGORIES = ("shopping", "lift", "repair", "company", "pets", "paperwork", "other")
VOLUNTEER_STATUSES = ("pending", "approved", "paused", "declined")


class Neighbourhood(Base):
    __tablename__ = "neighbourhoods"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    postcodes: Mapped[list[str]] = mapped_column(JSON, default=list)
    default_language: Mapped[str] = mapped_column(String(8), default="nl")
    contact_name: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Person(Base):
    """A neighbour. Everyone may ask and offer (reciprocity); roles are flags, not a type."""

    __tablename__ = "people"

    id: Mapped[int] = mapped_column(primary_key=True)
    neighbourhood_id: Mapped[int | None] = mapped_column(ForeignKey("neighbourhoods.id"), index=True)
    first_name: Mapped[str] = mapped_column(String(80), default="")
    language: Mapped[str] = mapped_column(String(8), default="nl")
    languages_spoken: Mapped[list[str]] = mapped_column(JSON, default=list)
    is_resident: Mapped[bool] = mapped_column(Boolean, default=False)
    is_volunteer: Mapped[bool] = mapped_column(Boolean, default=False)
    is_coordinator: Mapped[bool] = mapped_column(Boolean, default=False)
    is_partner: Mapped[bool] = mapped_column(Boolean, default=False)
    #: A key figure (sleutelfiguur): a trusted neighbour who may refer someone with consent, like a partner.
    is_key_figure: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    volunteer_status: Mapped[str | None] = mapped_column(String(12))
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    max_tasks_per_week: Mapped[int] = mapped_column(Integer, default=2)
    duo_only: Mapped[bool] = mapped_column(Boolean, default=False)
    street: Mapped[str | None] = mapped_column(String(120))
    address_full: Mapped[str | None] = mapped_column(String(200))
    #: The postcode typed when joining (or imported): a broadcast to "postcode 1040" reaches them.
    postcode: Mapped[str | None] = mapped_column(String(8))
    phone: Mapped[str | None] = mapped_column(String(32))
    consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    consent_version: Mapped[str | None] = mapped_column(String(16))
    #: How and when consent was given when someone else enrolled the person ("at the door, 3/12, by Fatima").
    consent_how: Mapped[str | None] = mapped_column(String(200))
    #: The coordinators' private note about a volunteer; never shown to anyone else.
    coordinator_note: Mapped[str | None] = mapped_column(String(500))
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    do_not_contact: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    neighbourhood: Mapped[Neighbourhood | None] = relationship()
    identities: Mapped[list["ChannelIdentity"]] = relationship(back_populates="person")

    @property
    def is_approved_volunteer(self) -> bool:
        return self.is_volunteer and self.volunteer_status == "approved"


class ChannelIdentity(Base):
    """One address on one channel (a Telegram chat, a WhatsApp number, a demo persona)."""

    __tablename__ = "channel_identities"
    __table_args__ = (UniqueConstraint("channel", "address"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(64))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), index=True)
    language: Mapped[str | None] = mapped_column(String(8))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_inbound_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: An SMS/WhatsApp STOP: nothing more goes to this address until it sends START.
    opted_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    person: Mapped[Person | None] = relationship(back_populates="identities")


class Invite(Base):
    """A one-time code that lets someone join a neighbourhood with a role."""

    __tablename__ = "invites"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    role: Mapped[str] = mapped_column(String(12))
    neighbourhood_id: Mapped[int] = mapped_column(ForeignKey("neighbourhoods.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    used_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    neighbourhood: Mapped[Neighbourhood] = relationship()
