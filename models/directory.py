"""The social map: local services a neighbourhood refers people to (OCMW/CPAS, CAW,
mutualiteit, lokaal dienstencentrum, wijkgezondheidscentrum, social transport, legal aid).
Imported from YAML or CSV (``buurtbot directory import``); ``key`` is the entry's stable id in
the file, so re-importing updates rather than duplicates."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utcnow

SERVICE_CATEGORIES = ("welfare", "social_work", "health_insurance", "service_centre", "health_centre", "transport",
                      "legal_aid", "carers", "mediation", "admin_help", "food", "housing", "other")
#: walk_in: no appointment needed; appointment: call first; both.
ACCESS = ("walk_in", "appointment", "both")


class Service(Base):
    __tablename__ = "services"
    __table_args__ = (UniqueConstraint("neighbourhood_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    neighbourhood_id: Mapped[int] = mapped_column(ForeignKey("neighbourhoods.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(60))
    name_nl: Mapped[str] = mapped_column(String(160))
    name_fr: Mapped[str] = mapped_column(String(160))
    category: Mapped[str] = mapped_column(String(24), index=True)  # one of SERVICE_CATEGORIES
    #: Language codes spoken at the desk ("nl", "fr", "ar", ...).
    languages: Mapped[list] = mapped_column(JSON, default=list)
    #: Opening hours per weekday: {"mon": ["09:00-12:00", "13:30-16:00"], ...}, Brussels time.
    hours: Mapped[dict] = mapped_column(JSON, default=dict)
    phone: Mapped[str | None] = mapped_column(String(32))
    address: Mapped[str | None] = mapped_column(String(200))
    access: Mapped[str] = mapped_column(String(12), default="appointment")  # one of ACCESS
    website: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


def service_name(service: Service, language: str, default: str = "nl") -> str:
    """The one rule for a service's name: Dutch or French as the reader speaks, else the
    neighbourhood's language (``default``); the other name when that one is empty."""
    which = language if language in ("nl", "fr") else default
    first, other = (service.name_fr, service.name_nl) if which == "fr" else (service.name_nl, service.name_fr)
    return first or other or ""
