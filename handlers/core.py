"""The shapes every channel shares: an Inbound message, Options, and the Context a flow step
works with. A step reads the Context, changes the domain and says Replies; the dispatcher
writes those Replies to the outbox in the same transaction."""
from __future__ import annotations

import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Iterable

from sqlalchemy import insert, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from handlers.i18n import current_language, speaking
from models import ChannelIdentity, ConversationState, Outbox, Person
from models.base import utcnow

MAX_TEXT = 4000  # a reply never exceeds what every channel can carry in one message


@dataclass(frozen=True)
class Inbound:
    """One message from a person, normalised by a channel adapter."""

    channel: str
    address: str
    text: str = ""
    payload: str | None = None
    locale_hint: str | None = None
    platform_message_id: str | None = None
    media: tuple[str, ...] = ()


@dataclass(frozen=True)
class Option:
    label: str
    payload: str

    def as_json(self) -> dict:
        return {"label": self.label, "payload": self.payload}


@dataclass
class Answer:
    """What the person said, after typed answers were matched to the options on screen."""

    text: str
    payload: str | None

    def is_(self, payload: str) -> bool:
        return self.payload == payload

    def arg(self, prefix: str) -> str | None:
        if self.payload and self.payload.startswith(prefix + ":"):
            return self.payload[len(prefix) + 1:]
        return None


def clean_text(text: str, limit: int = 2000) -> str:
    """Drop control characters and trim; what a person typed is kept, not judged."""
    text = unicodedata.normalize("NFC", text or "")
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C")
    return text.strip()[:limit]


@dataclass
class Context:
    session: Session
    inbound: Inbound
    identity: ChannelIdentity
    state: ConversationState
    person: Person | None
    invite_link: Callable[[str], str | None] = lambda code: None
    now: datetime = field(default_factory=utcnow)
    erased: bool = False
    outgoing: list[dict] = field(default_factory=list)
    _count: int = 0

    # ---- the sender's conversation -------------------------------------------------------
    def goto(self, step: str, **data) -> None:
        self.state.step = step
        self.state.data = {**(self.state.data or {}), **data} if step else {}

    def clear(self) -> None:
        self.state.step, self.state.data = "", {}

    def data(self, key: str, default=None):
        return (self.state.data or {}).get(key, default)

    def say(self, text: str, options: Iterable[Option] = (), *, about: int | None = None,
            purpose: str = "reply", purge_after_send: bool = False, media: Iterable[str] = ()) -> None:
        options = list(options)
        self.state.options = [o.as_json() for o in options]
        self._write(self.identity.channel, self.identity.address, self.identity.id, text, options,
                    about=about, purpose=purpose, purge=purge_after_send, language=current_language(), media=media)

    def say_final(self, text: str) -> None:
        """Last words to someone whose data was just erased: there is no identity row any more,
        and the sender deletes this message once it is delivered."""
        self.erased = True
        self._write(self.inbound.channel, self.inbound.address, None, text, [], about=None, purpose="farewell",
                    purge=True, language=current_language())

    # ---- other people ----------------------------------------------------------------------
    def tell(self, person: Person, render: Callable[[], tuple[str, list[Option]]], *,
             about: int | None = None, purpose: str = "notify", even_if_paused: bool = False,
             media: Iterable[str] = (), reach=None, rendered: dict | None = None) -> bool:
        """Message another person in their own language, on the channel they last used."""
        if person.do_not_contact or (person.paused and not even_if_paused):
            return False
        identity, state = reach if reach is not None else reachable_identity_and_state(self.session, person)
        if identity is None:
            return False
        if rendered is not None and person.language in rendered:
            text, options = rendered[person.language]
        else:
            with speaking(person.language):
                text, options = render()
            if rendered is not None:
                rendered[person.language] = (text, options)
        if options:
            state = state or load_state(self.session, identity)
            state.options = [o.as_json() for o in options]
        self._write(identity.channel, identity.address, identity.id, text, options, about=about, purpose=purpose,
                    purge=False, language=person.language, media=media)
        return True

    def tell_all(self, people: Iterable[Person], render: Callable[[], tuple[str, list[Option]]], **kwargs) -> int:
        """The same message to many (a request to the matching volunteers): their channels in
        one query, the text rendered once per language. Returns how many were told."""
        people = list(people)
        reach = reachable_identities_and_states(self.session, people)
        rendered: dict = {}
        return sum(self.tell(p, render, reach=reach.get(p.id, (None, None)), rendered=rendered, **kwargs)
                   for p in people)

    def _write(self, channel, address, identity_id, text, options, *, about, purpose, purge, language,
               media: Iterable[str] = ()) -> None:
        self._count += 1
        pmid = self.inbound.platform_message_id or uuid.uuid4().hex
        self.outgoing.append(dict(
            idempotency_key=f"{self.inbound.channel}:{pmid}:{self._count}"[:120],
            channel=channel,
            address=address,
            identity_id=identity_id,
            about_person_id=about,
            language=language,
            purpose=purpose,
            text=text[:MAX_TEXT],
            options=[o.as_json() for o in options],
            media=list(media),
            purge_after_send=purge,
            status="pending",
            attempts=0,
            next_attempt_at=self.now,
            created_at=self.now,
        ))

    def write_outbox(self) -> None:
        """All replies of this message in one INSERT, in the order they were said (the unit of
        work would add a round of bookkeeping per row on the hottest path)."""
        if self.outgoing:
            self.session.connection().execute(_OUTBOX_INSERT, self.outgoing)
            self.outgoing = []


_OUTBOX_INSERT = insert(Outbox.__table__)


def reachable_identity_and_state(session: Session, person: Person) -> tuple[ChannelIdentity | None,
                                                                            ConversationState | None]:
    """The channel a person last used, with its conversation state (None if it has none yet),
    in one query: a notification to ten volunteers is ten queries, not twenty.

    No autoflush unless an unflushed change to this person's channels could change the answer:
    telling ten volunteers then writes their ten state rows in ONE flush, which the unit of work
    orders by primary key. Two transactions notifying the same volunteers thus lock those rows
    in the same order instead of deadlocking on PostgreSQL."""
    if _identities_changed(session, person):
        session.flush()
    with session.no_autoflush:
        row = session.execute(
            select(ChannelIdentity, ConversationState)
            .outerjoin(ConversationState, ConversationState.identity_id == ChannelIdentity.id)
            .where(ChannelIdentity.person_id == person.id, ChannelIdentity.active.is_(True))
            .order_by(ChannelIdentity.last_inbound_at.desc().nulls_last(), ChannelIdentity.id.desc())
            .limit(1)
        ).first()
    return (row[0], row[1]) if row else (None, None)


def reachable_identities_and_states(session: Session, people: list[Person]) -> dict[int, tuple]:
    """reachable_identity_and_state for many people in one query: {person_id: (identity, state)}."""
    if not people:
        return {}
    if any(_identities_changed(session, p) for p in people):
        session.flush()
    with session.no_autoflush:
        rows = session.execute(
            select(ChannelIdentity, ConversationState)
            .outerjoin(ConversationState, ConversationState.identity_id == ChannelIdentity.id)
            .where(ChannelIdentity.person_id.in_([p.id for p in people]), ChannelIdentity.active.is_(True))
            .order_by(ChannelIdentity.person_id, ChannelIdentity.last_inbound_at.desc().nulls_last(),
                      ChannelIdentity.id.desc())
        ).all()
    found: dict[int, tuple] = {}
    for identity, state in rows:
        found.setdefault(identity.person_id, (identity, state))
    return found


def _identities_changed(session: Session, person: Person) -> bool:
    """Is there an unflushed new or deleted channel identity, or a change to one of this
    person's (or to whose person one belongs)?"""
    if any(isinstance(o, ChannelIdentity) for o in (*session.new, *session.deleted)):
        return True
    for o in session.dirty:
        if isinstance(o, ChannelIdentity) and (o.person_id == person.id
                                               or inspect(o).attrs.person_id.history.has_changes()):
            return True
    return False


def load_state(session: Session, identity: ChannelIdentity) -> ConversationState:
    state = session.get(ConversationState, identity.id)
    if state is None:
        state = add_or_get(session, ConversationState(identity_id=identity.id, step="", data={}, options=[]),
                           lambda: session.get(ConversationState, identity.id))
    return state


def add_or_get(session: Session, row, existing: Callable[[], object]):
    """Insert a row that another message may be inserting at the same moment (the first
    notification to someone without a conversation state yet, two first messages from one new
    address). On PostgreSQL the second INSERT waits for the first transaction and then hits the
    unique key: only that INSERT is undone (a SAVEPOINT) and the row the other one wrote is
    used, instead of failing the whole message."""
    session.flush()
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        found = existing()
        if found is None:
            raise
        return found
    return row
