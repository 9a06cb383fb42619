"""What we store about a person, and erasing it.

Erasure deletes the person, their channel identities, conversation state and the alerts about them, the cases
about them (also a partner's referral made before they joined: its ``about_phone`` is one of their numbers),
anonymises their requests (kept as counts for the neighbourhood, without text or address) and redacts
every outbox message that carried their data. Audit rows keep only ids.
"""
from __future__ import annotations

import json

from sqlalchemy import Text, cast, delete, event, or_, select, update
from sqlalchemy.orm import Session

from models import alerts
from models.audit import audit
from models.cases import Case
from models.help import HelpRequest, RequestAddress
from models.messaging import ConversationState, Outbox
from models.people import ChannelIdentity, Invite, Person

REDACTED = "[erased]"
#: Channels whose address is the person's phone number in E.164 (models.plans.PHONE_CHANNELS).
PHONE_CHANNELS = ("sms", "whatsapp", "voice")


def phones_of(person: Person) -> list[str]:
    """Every phone number (E.164) that is the person's: their own, and their phone identities'."""
    found = {person.phone} if person.phone else set()
    found |= {i.address for i in person.identities if i.channel in PHONE_CHANNELS and i.address.startswith("+")}
    return sorted(found)


def cases_about(person: Person):
    """The cases about the person: in the network (``person_id``), or named by a phone of theirs
    (a partner's referral of someone who had not joined yet)."""
    phones = phones_of(person)
    return or_(Case.person_id == person.id, *([Case.about_phone.in_(phones)] if phones else []))


def export(session: Session, person: Person) -> dict:
    """Everything stored about a person, for /mydata."""
    requests = session.scalars(select(HelpRequest).where(HelpRequest.requester_id == person.id)).all()
    tasks = session.scalars(select(HelpRequest).where(HelpRequest.claimed_by_id == person.id)).all()
    return {
        "first_name": person.first_name,
        "language": person.language,
        "languages_spoken": list(person.languages_spoken or []),
        "neighbourhood": person.neighbourhood.name if person.neighbourhood else None,
        "roles": [r for r in ("resident", "volunteer", "coordinator", "partner", "key_figure")
                  if getattr(person, f"is_{r}")],
        "volunteer_status": person.volunteer_status,
        "categories": list(person.categories or []),
        "max_tasks_per_week": person.max_tasks_per_week if person.is_volunteer else None,
        "duo_only": person.duo_only,
        "coordinator_note": person.coordinator_note,  # theirs to read too (right of access)
        "address": person.address_full,
        "postcode": person.postcode,
        "phone": person.phone,
        "consent_at": person.consent_at,
        "consent_version": person.consent_version,
        "consent_how": person.consent_how,
        "paused": person.paused,
        "channels": [(i.channel, i.address) for i in person.identities],
        "requests": [(r.id, r.category, r.status, r.description) for r in requests],
        "tasks": [(r.id, r.category, r.status) for r in tasks],
        "alerts": [(a.kind, a.created_at, a.phone) for a in alerts.about(session, person.id)],
        # Cases: what kind and when, never who raised one about them nor what a coordinator noted
        # (the rights of others, GDPR art. 15(4)); what they raised themselves, without its follow-up.
        "cases_about": [(c.kind, c.created_at) for c in session.scalars(
            select(Case).where(cases_about(person)).order_by(Case.id))],
        "cases_raised": [(c.kind, c.created_at, c.text) for c in session.scalars(
            select(Case).where(Case.reporter_id == person.id).order_by(Case.id))],
    }


def forget_on_disk_after_commit(session: Session) -> None:
    """Once this transaction commits, leave no old copy of what it erased in the database's
    files (models.db.forget_on_disk): on SQLite the WAL keeps the pages as they were."""
    session.info["forget_on_disk"] = True


@event.listens_for(Session, "after_commit")
def _forget_on_disk(session: Session) -> None:
    if session.info.pop("forget_on_disk", False):
        from models.db import forget_on_disk

        forget_on_disk(session.get_bind())


@event.listens_for(Session, "after_transaction_end")
def _forget_nothing_after_rollback(session: Session, transaction) -> None:
    if transaction.parent is None:  # a rolled-back transaction erased nothing
        session.info.pop("forget_on_disk", None)


def erase(session: Session, person: Person) -> None:
    forget_on_disk_after_commit(session)
    pid = person.id
    identity_ids = [i.id for i in person.identities]
    phones, about_them = phones_of(person), cases_about(person)
    own_requests = select(HelpRequest.id).where(HelpRequest.requester_id == pid)
    session.execute(delete(RequestAddress).where(RequestAddress.request_id.in_(own_requests)))
    session.execute(
        update(HelpRequest).where(HelpRequest.requester_id == pid)
        .values(requester_id=None, description="", street=None, on_behalf_of=None, media=[],
                status="cancelled")
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(HelpRequest).where(HelpRequest.claimed_by_id == pid, HelpRequest.status == "claimed")
        .values(status="open", claimed_by_id=None, claimed_at=None)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(HelpRequest).where(HelpRequest.claimed_by_id == pid)
        .values(claimed_by_id=None).execution_options(synchronize_session=False)
    )
    # Messages that carried this person's data are redacted (and not sent if still pending);
    # messages that went to them lose the address too.
    about = Outbox.about_person_id == pid
    to_them = Outbox.identity_id.in_(identity_ids) if identity_ids else None
    # A message with one of their numbers in it (a coordinator told of a referral about them
    # before they joined) carried their data too.
    with_phone = or_(*(Outbox.text.contains(p, autoescape=True) for p in phones)) if phones else None
    for cond in filter(lambda c: c is not None, (about, to_them, with_phone)):
        session.execute(update(Outbox).where(cond, Outbox.status == "pending")
                        .values(status="cancelled").execution_options(synchronize_session=False))
    for cond in filter(lambda c: c is not None, (about, with_phone)):
        session.execute(update(Outbox).where(cond)
                        .values(text=REDACTED, options=[], media=[], about_person_id=None)
                        .execution_options(synchronize_session=False))
    if to_them is not None:
        session.execute(update(Outbox).where(to_them)
                        .values(text=REDACTED, options=[], media=[], address=REDACTED, identity_id=None)
                        .execution_options(synchronize_session=False))
    if person.first_name:
        # Buttons still on someone else's screen may carry the name ("Approve Jan", "Send Jan a
        # message"): those screens lose their typed-number shortcuts, not more.
        shown = cast(ConversationState.options, Text)
        session.execute(update(ConversationState)
                        .where(or_(shown.contains(person.first_name, autoescape=True),
                                   shown.contains(json.dumps(person.first_name)[1:-1], autoescape=True)))
                        .values(options=[]).execution_options(synchronize_session=False))
    alerts.forget(session, pid)
    # Cases about them go; cases they raised stay for the coordinators, without their name.
    session.execute(delete(Case).where(about_them).execution_options(synchronize_session=False))
    for column in (Case.reporter_id, Case.assignee_id, Case.closed_by_id):
        session.execute(update(Case).where(column == pid).values({column.key: None})
                        .execution_options(synchronize_session=False))
    session.execute(update(Invite).where(Invite.used_by_id == pid).values(used_by_id=None))
    session.execute(update(Invite).where(Invite.created_by_id == pid).values(created_by_id=None))
    if identity_ids:
        session.execute(delete(ConversationState).where(ConversationState.identity_id.in_(identity_ids)))
        session.execute(delete(ChannelIdentity).where(ChannelIdentity.id.in_(identity_ids)))
    session.expunge(person)
    session.execute(delete(Person).where(Person.id == pid))
    audit(session, None, "person.erase", "person", pid)
