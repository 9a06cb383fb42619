"""Help requests from ask to done: create, match, claim (atomic), hand back, finish, cancel.

The queries of the message path are built once, with bound parameters: building one costs
0.1 ms of CPU or more, about half of what running it costs."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session, joinedload

from models.audit import audit
from models.base import TZ, utcnow
from models.help import HelpRequest, RequestAddress
from models.people import Person

ACTIVE = ("open", "claimed")


def street_of(address: str) -> str:
    """The street without the house number, box or postcode: what a volunteer may see
    before the claim. "Kerkstraat 12 bus 3, 1040 Etterbeek" -> "Kerkstraat"."""
    if address.startswith("📍"):
        return "📍"  # a shared location: the map link is the address, shown only after the claim
    first = address.split(",")[0]
    words = [
        w
        for w in first.split()
        if not re.search(r"\d", w) and w.lower() not in {"bus", "boîte", "bte", "box", "nr", "n°", "no"}
    ]
    return (" ".join(words).strip() or first.strip())[:120]  # the street columns hold 120


def create_request(
    session: Session,
    requester: Person,
    category: str,
    description: str,
    when_kind: str,
    due_date: date | None,
    address_full: str | None,
    status: str = "open",
    on_behalf_of: str | None = None,
    media: list[str] | None = None,
) -> HelpRequest:
    req = HelpRequest(
        neighbourhood_id=requester.neighbourhood_id,
        requester_id=requester.id,
        on_behalf_of=on_behalf_of,
        media=list(media or []),
        category=category,
        description=description,
        when_kind=when_kind,
        due_date=due_date,
        street=street_of(address_full) if address_full else None,
        status=status,
    )
    if address_full:
        req.address = RequestAddress(address_full=address_full)
    session.add(req)
    session.flush()
    audit(session, requester.id, "request.create", "help_request", req.id)
    return req


def week_start(now: datetime) -> datetime:
    local = now.astimezone(TZ)
    monday = (local - timedelta(days=local.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    return monday


def claims_this_week(session: Session, volunteer_id: int, now: datetime | None = None) -> int:
    return claims_this_week_of(session, [volunteer_id], now).get(volunteer_id, 0)


def claims_this_week_of(session: Session, volunteer_ids, now: datetime | None = None) -> dict[int, int]:
    """Tasks claimed this week per volunteer, for many volunteers in one query."""
    ids = list(volunteer_ids)
    if not ids:
        return {}
    return dict(session.execute(_CLAIMS_SINCE, {"volunteers": ids, "since": week_start(now or utcnow())}).all())


_CLAIMS_SINCE = (
    select(HelpRequest.claimed_by_id, func.count())
    .where(HelpRequest.claimed_by_id.in_(bindparam("volunteers", expanding=True)),
           HelpRequest.claimed_at >= bindparam("since"),
           HelpRequest.status.in_(("claimed", "done")))
    .group_by(HelpRequest.claimed_by_id)
)


def matching_volunteers(session: Session, req: HelpRequest, exclude: set[int] = frozenset()) -> list[Person]:
    """Approved volunteers of the neighbourhood who accept the category and are under their
    weekly cap; those who share the requester's language first."""
    candidates = session.scalars(_AVAILABLE_VOLUNTEERS, {"neighbourhood": req.neighbourhood_id}).all()
    requester = req.requester
    lang = requester.language if requester else None
    fitting = [v for v in candidates if v.id not in exclude and v.id != req.requester_id
               and (not v.categories or req.category in v.categories)]
    claimed = claims_this_week_of(session, [v.id for v in fitting])
    out = [v for v in fitting if claimed.get(v.id, 0) < v.max_tasks_per_week]
    out.sort(key=lambda v: 0 if lang and (v.language == lang or lang in (v.languages_spoken or [])) else 1)
    return out


_AVAILABLE_VOLUNTEERS = (
    select(Person)
    .where(Person.neighbourhood_id == bindparam("neighbourhood"), Person.is_volunteer.is_(True),
           Person.volunteer_status == "approved", Person.paused.is_(False), Person.do_not_contact.is_(False))
    .order_by(Person.id)
)


def claim(session: Session, request_id: int, volunteer_id: int) -> bool:
    """Atomic: exactly one volunteer wins, whatever the number of simultaneous presses."""
    result = session.execute(_CLAIM, {"request": request_id, "volunteer": volunteer_id, "now": utcnow()})
    won = result.rowcount == 1
    if won:
        audit(session, volunteer_id, "request.claim", "help_request", request_id)
        req = session.identity_map.get(session.identity_key(HelpRequest, request_id))
        if req is not None:
            session.expire(req)  # reloaded when next read, not here: the caller may refresh it anyway
    return won


_CLAIM = (
    update(HelpRequest)
    .where(HelpRequest.id == bindparam("request"), HelpRequest.status == "open", HelpRequest.claimed_by_id.is_(None))
    .values(status="claimed", claimed_by_id=bindparam("volunteer"), claimed_at=bindparam("now"))
    .execution_options(synchronize_session=False)
)


def hand_back(session: Session, req: HelpRequest, volunteer_id: int) -> None:
    req.status, req.claimed_by_id, req.claimed_at = "open", None, None
    audit(session, volunteer_id, "request.hand_back", "help_request", req.id)


def mark_done(session: Session, req: HelpRequest, actor_id: int) -> None:
    req.status, req.done_at = "done", utcnow()
    audit(session, actor_id, "request.done", "help_request", req.id)


def cancel(session: Session, req: HelpRequest, actor_id: int) -> None:
    req.status = "cancelled"
    audit(session, actor_id, "request.cancel", "help_request", req.id)


def open_requests(session: Session, neighbourhood_id: int, limit: int = 10,
                  category: str | None = None) -> list[HelpRequest]:
    """The oldest open requests of a neighbourhood; ``category``: of that kind only."""
    if category is not None:
        return list(session.scalars(_OPEN_REQUESTS.where(HelpRequest.category == category),
                                    {"neighbourhood": neighbourhood_id, "limit": limit}))
    return list(session.scalars(_OPEN_REQUESTS, {"neighbourhood": neighbourhood_id, "limit": limit}))


def volunteers_speaking(session: Session, neighbourhood_id: int, language: str) -> list[Person]:
    """Approved, available volunteers of a neighbourhood who said they speak ``language``."""
    return [v for v in session.scalars(_AVAILABLE_VOLUNTEERS, {"neighbourhood": neighbourhood_id})
            if language in (v.languages_spoken or [])]


def requests_of(session: Session, person_id: int, statuses=ACTIVE) -> list[HelpRequest]:
    return list(session.scalars(_REQUESTS_OF, {"person": person_id, "statuses": list(statuses)}))


def tasks_of(session: Session, volunteer_id: int, limit: int = 10) -> list[HelpRequest]:
    """A volunteer's current tasks, oldest first; a list longer than a screen helps nobody."""
    return list(session.scalars(_TASKS_OF, {"volunteer": volunteer_id, "limit": limit}))


_OPEN_REQUESTS = (
    select(HelpRequest).options(joinedload(HelpRequest.requester))
    .where(HelpRequest.neighbourhood_id == bindparam("neighbourhood"), HelpRequest.status == "open")
    .order_by(HelpRequest.created_at, HelpRequest.id)
    .limit(bindparam("limit"))
)
_REQUESTS_OF = (
    select(HelpRequest)
    .where(HelpRequest.requester_id == bindparam("person"),
           HelpRequest.status.in_(bindparam("statuses", expanding=True)))
    .order_by(HelpRequest.id)
)
_TASKS_OF = (
    select(HelpRequest).options(joinedload(HelpRequest.requester))
    .where(HelpRequest.claimed_by_id == bindparam("volunteer"), HelpRequest.status == "claimed")
    .order_by(HelpRequest.id).limit(bindparam("limit"))
)
