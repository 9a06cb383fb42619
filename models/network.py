"""Neighbourhoods, invites and the coordinator's decisions about volunteers.

The queries of the message path are built once, with bound parameters: building one costs
0.1 ms of CPU or more, about half of what running it costs."""
from __future__ import annotations

import re
import secrets
from datetime import datetime

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from models.audit import audit
from models.base import utcnow
from models.help import HelpRequest
from models.people import Invite, Neighbourhood, Person
from models.schedules import FollowUp

# No 0/O, 1/I/L: codes get read aloud and typed on old phones.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
#: A partner (a pharmacist, a shopkeeper, a home nurse) and a key figure (a sleutelfiguur the
#: street knows) may signal a worry and refer someone with consent; they coordinate nothing.
INVITE_ROLES = ("volunteer", "coordinator", "partner", "keyfigure")
SLUG = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,58}[a-z0-9])?")


class NetworkError(ValueError):
    pass


def add_neighbourhood(session: Session, name: str, slug: str, postcodes: list[str],
                      default_language: str = "nl", contact_name: str | None = None) -> Neighbourhood:
    name, contact_name = name.strip(), (contact_name or "").strip() or None
    if not name or len(name) > 120:
        raise NetworkError("the name must be 1 to 120 characters")
    if not SLUG.fullmatch(slug):
        raise NetworkError(f"the slug {slug!r} must be 1 to 60 lowercase letters, digits or hyphens, like 'etterbeek'")
    if contact_name and len(contact_name) > 80:
        raise NetworkError("the contact name must be at most 80 characters")
    if session.scalar(select(Neighbourhood).where(Neighbourhood.slug == slug)):
        raise NetworkError(f"a neighbourhood with slug {slug!r} exists already")
    if not postcodes:
        raise NetworkError("give at least one postcode, like 1040")
    bad = [p for p in postcodes if not (p.isascii() and p.isdigit() and len(p) == 4)]
    if bad:
        raise NetworkError(f"not a Belgian postcode: {', '.join(bad)}")
    nb = Neighbourhood(name=name, slug=slug, postcodes=postcodes,
                       default_language=default_language, contact_name=contact_name)
    session.add(nb)
    session.flush()
    audit(session, None, "neighbourhood.add", "neighbourhood", nb.id)
    return nb


def neighbourhood_by_slug(session: Session, slug: str) -> Neighbourhood | None:
    return session.scalar(select(Neighbourhood).where(Neighbourhood.slug == slug))


def neighbourhoods_for_postcode(session: Session, postcode: str) -> list[Neighbourhood]:
    # Postcodes are a short JSON list per neighbourhood; filtering in Python stays portable.
    return [nb for nb in session.scalars(_NEIGHBOURHOODS) if postcode in (nb.postcodes or [])]


_NEIGHBOURHOODS = select(Neighbourhood).order_by(Neighbourhood.id)


def create_invite(session: Session, neighbourhood: Neighbourhood, role: str,
                  created_by: Person | None = None) -> Invite:
    if role not in INVITE_ROLES:
        raise NetworkError(f"role must be one of {', '.join(INVITE_ROLES)}")
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))
    invite = Invite(code=code, role=role, neighbourhood_id=neighbourhood.id,
                    created_by_id=created_by.id if created_by else None)
    session.add(invite)
    session.flush()
    audit(session, created_by.id if created_by else None, "invite.create", "invite", invite.id)
    return invite


def find_invite(session: Session, code: str) -> Invite | None:
    code = code.strip().upper()
    if not code or len(code) > 32:
        return None
    return session.scalar(_UNUSED_INVITE, {"code": code})


_UNUSED_INVITE = select(Invite).where(Invite.code == bindparam("code"), Invite.used_at.is_(None))


def use_invite(session: Session, invite: Invite, person: Person) -> None:
    """Join the neighbourhood with the invite's role; the inviter vouches, so no approval."""
    invite.used_at, invite.used_by_id = utcnow(), person.id
    person.neighbourhood_id = invite.neighbourhood_id
    if invite.role == "coordinator":
        person.is_coordinator = True
    elif invite.role == "partner":
        person.is_partner = True
    elif invite.role == "keyfigure":
        person.is_key_figure = True
    else:
        person.is_volunteer, person.volunteer_status = True, "approved"
    audit(session, person.id, f"invite.use.{invite.role}", "invite", invite.id)


def newcomers_neighbourhood(session: Session, chosen: int | None, code: str | None) -> int | None:
    """Whose coordinators hear of someone who has not joined yet (an emergency, a message in a
    language the bot does not speak): the neighbourhood they chose or were invited to, else the
    only one there is. With several and no choice: nobody can say, so None."""
    if chosen is not None:
        return chosen
    invite = find_invite(session, code) if code else None
    if invite is not None:
        return invite.neighbourhood_id
    ids = list(session.scalars(select(Neighbourhood.id).order_by(Neighbourhood.id).limit(2)))
    return ids[0] if len(ids) == 1 else None


def coordinators_of(session: Session, neighbourhood_id: int | None) -> list[Person]:
    if neighbourhood_id is None:
        return []
    return list(session.scalars(_COORDINATORS, {"neighbourhood": neighbourhood_id}))


_COORDINATORS = (select(Person).where(Person.neighbourhood_id == bindparam("neighbourhood"),
                                      Person.is_coordinator.is_(True)).order_by(Person.id))


def pending_volunteers(session: Session, neighbourhood_id: int) -> list[Person]:
    return list(session.scalars(select(Person).where(
        Person.neighbourhood_id == neighbourhood_id,
        Person.is_volunteer.is_(True),
        Person.volunteer_status == "pending",
    ).order_by(Person.id)))


def active_volunteers(session: Session, neighbourhood_id: int) -> list[Person]:
    return list(session.scalars(select(Person).where(
        Person.neighbourhood_id == neighbourhood_id,
        Person.is_volunteer.is_(True),
        Person.volunteer_status.in_(("approved", "paused")),
    ).order_by(Person.first_name, Person.id)))


def may_coordinate(coordinator: Person | None, person: Person | None) -> bool:
    return bool(coordinator and person and coordinator.is_coordinator
                and coordinator.neighbourhood_id is not None
                and coordinator.neighbourhood_id == person.neighbourhood_id)


def set_volunteer_status(session: Session, coordinator: Person, volunteer: Person, status: str) -> None:
    if not may_coordinate(coordinator, volunteer) or not volunteer.is_volunteer:
        raise NetworkError("not allowed")
    volunteer.volunteer_status = status
    audit(session, coordinator.id, f"volunteer.{status}", "person", volunteer.id)


def list_neighbourhoods(session: Session) -> list[Neighbourhood]:
    return list(session.scalars(select(Neighbourhood).order_by(Neighbourhood.slug)))


# ---- a coordinator's view of their volunteers (handlers/volunteers.py) ----------------------------
NOTE_MAX = 500  # Person.coordinator_note's column length


def set_coordinator_note(session: Session, coordinator: Person, volunteer: Person, note: str | None) -> None:
    """The coordinator's private note about a volunteer (None or blank removes it). The audit
    log says that a note changed, never what it says."""
    if not may_coordinate(coordinator, volunteer) or not volunteer.is_volunteer:
        raise NetworkError("not allowed")
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise NetworkError(f"a note is at most {NOTE_MAX} characters")
    volunteer.coordinator_note = note or None
    audit(session, coordinator.id, "volunteer.note" if note else "volunteer.note.remove", "person", volunteer.id)


def last_active(session: Session, volunteer_ids) -> dict[int, datetime]:
    """When each volunteer last took something on: a request claimed (and not handed back) or a
    phone-round call they logged. Volunteers who never did are absent."""
    ids = list(volunteer_ids)
    if not ids:
        return {}
    out: dict[int, datetime] = {}
    for query in (_LAST_CLAIM, _LAST_CALL):
        for person_id, when in session.execute(query, {"people": ids}):
            if when is not None and (person_id not in out or when > out[person_id]):
                out[person_id] = when
    return out


_LAST_CLAIM = (select(HelpRequest.claimed_by_id, func.max(HelpRequest.claimed_at))
               .where(HelpRequest.claimed_by_id.in_(bindparam("people", expanding=True)))
               .group_by(HelpRequest.claimed_by_id))
_LAST_CALL = (select(FollowUp.assignee_id, func.max(FollowUp.acknowledged_at))
              .where(FollowUp.assignee_id.in_(bindparam("people", expanding=True)))
              .group_by(FollowUp.assignee_id))


def not_active_since(session: Session, neighbourhood_id: int, since: datetime) -> list[Person]:
    """Approved volunteers who joined before ``since`` and have taken nothing on since then:
    people to thank or to ask how they are, never a ranking."""
    people = [v for v in active_volunteers(session, neighbourhood_id)
              if v.volunteer_status == "approved" and v.created_at is not None and v.created_at <= since]
    last = last_active(session, [v.id for v in people])
    return [v for v in people if v.id not in last or last[v.id] < since]
