"""The shapes every channel shares: an Inbound message, Options, and the Context a flow step
works with. A step reads the Context, changes the domain and says Replies; the dispatcher
writes those Replies to the outbox in the same transaction.

Conversation states are plain objects read and written with SQLAlchemy Core, not ORM
instances: a state row is written on nearly every message, and that one UPDATE through the unit
of work cost about a fifth of the CPU of a simple message (a Core UPDATE, a quarter of that).
Everything else a flow touches stays ORM.
"""
from __future__ import annotations

import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from itertools import groupby
from typing import Callable, Iterable, NamedTuple

from sqlalchemy import bindparam, insert, inspect, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from handlers import payloads, waiting
from handlers.i18n import DEFAULT_LANGUAGE, current_language, normalise_language, speaking
from models import ChannelIdentity, ConversationState, Outbox, Person
from models.base import utcnow
from models.outbox import priority_of

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
    #: A typed number that names none of the options on screen: the question is asked again,
    #: never answered with a neighbouring option (see answers.resolve).
    stray_number: bool = False

    def is_(self, payload: str) -> bool:
        return self.payload == payload

    def arg(self, prefix: str) -> str | None:
        return payloads.arg(self.payload, prefix)


class Conversation:
    """Where someone is in their conversation with the bot: the step, what they answered so
    far, and the options on their screen (so that a typed "2" means the second button).

    What is saved is what differs from the values as loaded, so assign new values instead of
    changing ``data`` or ``options`` in place (as with the ORM's JSON columns before)."""

    __slots__ = ("identity_id", "step", "data", "options", "_stored")

    def __init__(self, identity_id: int, step: str = "", data: dict | None = None, options: list | None = None,
                 *, stored: bool = False) -> None:
        self.identity_id = identity_id
        self.step, self.data, self.options = step or "", data or {}, options or []
        #: The values in the database; None while the row does not exist.
        self._stored = self._values() if stored else None

    @classmethod
    def from_row(cls, identity_id: int, stored_id: int | None, step, data, options) -> Conversation:
        """From CONVERSATION_COLUMNS of an outer join: no row is an empty conversation."""
        return cls(identity_id, step, data, options, stored=stored_id is not None)

    def _values(self) -> tuple:
        return self.step, self.data, self.options

    def changes(self) -> dict:
        """The fields to write: those that differ from the row (from an empty one if none)."""
        stored = self._stored or _EMPTY
        return {name: value for name, value, old in zip(_FIELDS, self._values(), stored) if value != old}

    def saved(self) -> None:
        self._stored = self._values()

    @property
    def is_new(self) -> bool:
        return self._stored is None


_STATES, _IDENTITIES = ConversationState.__table__, ChannelIdentity.__table__
#: A question nobody answered for this long was walked away from: the flow is over (the
#: dispatcher clears it at their next message) and notifications no longer wait for it.
STEP_TTL = timedelta(hours=12)
#: Channels where options are numbers the person types (no buttons that carry their answer).
TYPED_ONLY = frozenset({"whatsapp", "sms"})
_FIELDS, _EMPTY = ("step", "data", "options"), ("", {}, [])
#: Select these (outer-joined to the identity) for Conversation.from_row.
CONVERSATION_COLUMNS = (_STATES.c.identity_id, _STATES.c.step, _STATES.c.data, _STATES.c.options)


def clean_text(text: str, limit: int = 2000) -> str:
    """Drop control characters and trim; what a person typed is kept, not judged."""
    text = unicodedata.normalize("NFC", text or "")
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C")
    return text.strip()[:limit]


class Reach(NamedTuple):
    """The channel a person last used, and their conversation there."""

    identity_id: int
    channel: str
    address: str
    last_inbound_at: datetime | None
    conversation: Conversation


class Notifier:
    """Tells people, with nothing but a session: outbox rows on the channel each person last
    used, in their own language, never to whom asked not to be contacted (do_not_contact,
    paused unless ``even_if_paused``, an opted-out or inactive address). A notification with
    options joins the ones waiting on that person's screen (handlers.waiting).

    Any tick, broadcast or sender can use one; a Context uses one for its replies and for
    telling others, so that the rows of one message keep the order they were said in. Outbox
    keys are ``<key_prefix>:<n>``: the prefix makes them idempotent (the same message, the
    same tick, the same held row), n counts the rows."""

    __slots__ = ("session", "key_prefix", "now", "send_at", "outgoing", "conversations", "_count")

    def __init__(self, session: Session, key_prefix: str, *, now: datetime | None = None,
                 conversations: dict[int, Conversation] | None = None) -> None:
        self.session, self.key_prefix = session, key_prefix
        self.now = now or utcnow()
        #: Rows go out at once: a tick run "as if" it were a later time (``buurtbot tick --at``)
        #: still queues for the running sender now; its follow-ups are what fall due later.
        self.send_at = min(self.now, utcnow())
        self.outgoing: list[dict] = []
        #: Every conversation these messages may change, one object per row.
        self.conversations: dict[int, Conversation] = {} if conversations is None else conversations
        self._count = 0

    def tell(self, person: Person, render: Callable[[], tuple[str, list[Option]]], **kwargs) -> bool:
        """Message one person in their own language, on the channel they last used."""
        return self.tell_all([person], render, **kwargs) == 1

    def tell_all(self, people: Iterable[Person], render: Callable[[], tuple[str, list[Option]]], *,
                 about: int | None = None, purpose: str = "notify", even_if_paused: bool = False,
                 media: Iterable[str] = ()) -> int:
        """The same message to many (a request to the matching volunteers): their channels in
        one query, the text rendered once per language. Returns how many were told."""
        people = [p for p in people if not p.do_not_contact and (even_if_paused or not p.paused)]
        reaches = reachable(self.session, people)
        rendered: dict[str, tuple[str, list[Option]]] = {}
        told = 0
        for person in people:
            reach = reaches.get(person.id)
            if reach is None:
                continue
            if person.language not in rendered:
                with speaking(person.language):
                    rendered[person.language] = render()
            text, options = rendered[person.language]
            self._deliver(reach, person.language, text, options, about=about, purpose=purpose, media=media)
            told += 1
        return told

    def tell_identity(self, identity: ChannelIdentity, render: Callable[[], tuple[str, list[Option]]], *,
                      about: int | None = None, purpose: str = "notify", even_if_paused: bool = False) -> bool:
        """Message one address, with or without a person (someone who has not joined yet), in
        its language; never one that opted out or is inactive, nor a person who asked for quiet."""
        person = identity.person
        if identity.opted_out_at is not None or not identity.active or person is not None and (
                person.do_not_contact or (person.paused and not even_if_paused)):
            return False
        language = normalise_language(person.language if person is not None else identity.language) \
            or DEFAULT_LANGUAGE
        with speaking(language):
            text, options = render()
        conversation = self.conversations.get(identity.id) or (
            load_conversation(self.session, identity.id) if options else Conversation(identity.id))
        reach = Reach(identity.id, identity.channel, identity.address, identity.last_inbound_at, conversation)
        self._deliver(reach, language, text, options, about=about, purpose=purpose, media=())
        return True

    def _deliver(self, reach: Reach, language: str, text: str, options: list[Option], *, about: int | None,
                 purpose: str, media: Iterable[str]) -> None:
        """One notification row; its options join the ones waiting on that screen."""
        if options:
            # One object per row: telling the sender changes their own conversation itself.
            conversation = self.conversations.setdefault(reach.identity_id, reach.conversation)
            # In the middle of a question, not one they walked away from (see STEP_TTL)?
            in_flow = bool(conversation.step) and reach.last_inbound_at is not None \
                and self.now - reach.last_inbound_at < STEP_TTL
            conversation.options = waiting.merged(in_flow, conversation.options, options, text)
            if in_flow and reach.channel in TYPED_ONLY:
                # Their "1" answers the question they are in: no numbers here that it would not mean.
                with speaking(language):
                    text, options = text + "\n\n" + waiting.later(), []
        self.add(reach.channel, reach.address, reach.identity_id, text, options, about=about, purpose=purpose,
                 language=language, media=media)

    def add(self, channel: str, address: str, identity_id: int | None, text: str, options: Iterable[Option] = (),
            *, about: int | None = None, purpose: str = "notify", purge: bool = False, language: str | None,
            media: Iterable[str] = ()) -> None:
        """One outbox row, to be written by write() (nothing is checked here: callers decide)."""
        self._count += 1
        self.outgoing.append(dict(
            idempotency_key=f"{self.key_prefix}:{self._count}"[:120],
            channel=channel,
            address=address,
            identity_id=identity_id,
            about_person_id=about,
            language=language,
            purpose=purpose,
            priority=priority_of(purpose),  # a broadcast or a digest goes after every reply
            text=text[:MAX_TEXT],
            options=[o.as_json() for o in options],
            media=list(media),
            purge_after_send=purge,
            status="pending",
            attempts=0,
            next_attempt_at=self.send_at,
            created_at=self.send_at,
        ))

    def write(self, skip_conversation: int | None = None) -> None:
        """Write the conversations that changed, then all rows in one INSERT, in the order they
        were added (the unit of work would add a round of bookkeeping per row on the hottest
        path). ``skip_conversation``: an identity whose conversation went with its data."""
        self.session.flush()
        connection = self.session.connection()
        write_conversations(connection, [c for i, c in self.conversations.items() if i != skip_conversation])
        if self.outgoing:
            connection.execute(_OUTBOX_INSERT, self.outgoing)
            self.outgoing = []


@dataclass
class Context:
    """The conversation cursor of one inbound message: the sender, their step, data and the
    options on their screen, and their replies. Telling others goes through ``notifier``."""

    session: Session
    inbound: Inbound
    identity: ChannelIdentity
    state: Conversation
    person: Person | None
    invite_link: Callable[[str], str | None] = lambda code: None
    now: datetime = field(default_factory=utcnow)
    erased: bool = False
    notifier: Notifier = field(init=False)

    def __post_init__(self) -> None:
        # Outbox keys "<channel>:<platform message id>:<n>": a redelivered message writes nothing twice.
        pmid = self.inbound.platform_message_id or uuid.uuid4().hex
        self.notifier = Notifier(self.session, f"{self.inbound.channel}:{pmid}", now=self.now,
                                 conversations={self.state.identity_id: self.state})

    @property
    def conversations(self) -> dict[int, Conversation]:
        return self.notifier.conversations

    @property
    def outgoing(self) -> list[dict]:
        return self.notifier.outgoing

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
        self.notifier.add(self.identity.channel, self.identity.address, self.identity.id, text, options,
                          about=about, purpose=purpose, purge=purge_after_send, language=current_language(),
                          media=media)

    def say_final(self, text: str) -> None:
        """Last words to someone whose data was just erased: there is no identity row any more,
        and the sender deletes this message once it is delivered."""
        self.erased = True
        self.notifier.add(self.inbound.channel, self.inbound.address, None, text, about=None, purpose="farewell",
                          purge=True, language=current_language())

    # ---- other people ----------------------------------------------------------------------
    def tell(self, person: Person, render: Callable[[], tuple[str, list[Option]]], **kwargs) -> bool:
        """Message another person in their own language, on the channel they last used."""
        return self.notifier.tell(person, render, **kwargs)

    def tell_all(self, people: Iterable[Person], render: Callable[[], tuple[str, list[Option]]], **kwargs) -> int:
        return self.notifier.tell_all(people, render, **kwargs)

    def write(self) -> None:
        """Write what this message changed, in the unit of work's order: the ORM objects, then
        the conversations, then all replies in one INSERT, in the order they were said."""
        self.notifier.write(skip_conversation=self.identity.id if self.erased else None)



_OUTBOX_INSERT = insert(Outbox.__table__)


def write_conversations(connection: Connection, conversations: Iterable[Conversation]) -> None:
    """Save the conversations that changed, in identity order: two messages telling the same
    volunteers lock their rows in the same order, so PostgreSQL has no deadlock to resolve.
    Neighbouring rows that change the same fields share one statement."""
    changed = [(c, c.changes()) for c in sorted(conversations, key=lambda c: c.identity_id)]
    for (new, fields), run in groupby([(c, values) for c, values in changed if values],
                                      key=lambda item: (item[0].is_new, tuple(item[1]))):
        run = list(run)
        if new:
            connection.execute(_upsert(connection.dialect.name, fields),
                               [{"identity_id": c.identity_id, **values} for c, values in run])
        else:
            connection.execute(_UPDATE_STATE, [{"state_id": c.identity_id, **values} for c, values in run])
        for c, _values in run:
            c.saved()


#: SET takes the fields in the parameters; updated_at is set by its column's onupdate.
_UPDATE_STATE = update(_STATES).where(_STATES.c.identity_id == bindparam("state_id"))
_INSERTS = {"sqlite": sqlite_insert, "postgresql": pg_insert}


@lru_cache(maxsize=None)
def _upsert(dialect: str, fields: tuple[str, ...]):
    """INSERT a new conversation row. If another message created it in the meantime (the
    first notification to someone who never wrote, from two messages at once), only the fields
    this one changed are set on it."""
    if dialect not in _INSERTS:
        return insert(_STATES)
    statement = _INSERTS[dialect](_STATES)
    return statement.on_conflict_do_update(
        index_elements=[_STATES.c.identity_id],
        set_={name: statement.excluded[name] for name in (*fields, "updated_at")})


_REACH = (
    select(_IDENTITIES.c.person_id, _IDENTITIES.c.id, _IDENTITIES.c.channel, _IDENTITIES.c.address,
           _IDENTITIES.c.last_inbound_at, *CONVERSATION_COLUMNS)
    .select_from(_IDENTITIES.outerjoin(_STATES, _STATES.c.identity_id == _IDENTITIES.c.id))
    .where(_IDENTITIES.c.person_id.in_(bindparam("people", expanding=True)), _IDENTITIES.c.active.is_(True),
           _IDENTITIES.c.opted_out_at.is_(None),
           _IDENTITIES.c.channel != "voice")  # a check-in call's number is no chat: only check-ins ring it
    .order_by(_IDENTITIES.c.person_id, _IDENTITIES.c.last_inbound_at.desc().nulls_last(), _IDENTITIES.c.id.desc())
)


def reachable(session: Session, people: list[Person]) -> dict[int, Reach]:
    """The channel each person last used, with its conversation, in one query: a notification
    to ten volunteers is one query, not ten. {person_id: Reach}; the unreachable are missing.

    No autoflush unless an unflushed change to these people's channels could change the
    answer: the conversation rows this message changes are written together at the end
    (Context.write), in key order."""
    if not people:
        return {}
    if _identities_changed(session, people):
        session.flush()
    found: dict[int, Reach] = {}
    rows = session.connection().execute(_REACH, {"people": [p.id for p in people]})
    for person_id, identity_id, channel, address, last_inbound_at, *conversation in rows:
        if person_id not in found:
            found[person_id] = Reach(identity_id, channel, address, last_inbound_at,
                                     Conversation.from_row(identity_id, *conversation))
    return found


def _identities_changed(session: Session, people: list[Person]) -> bool:
    """Is there an unflushed new or deleted channel identity, or a change to one of these
    people's (or to whose person one belongs)?"""
    if any(isinstance(o, ChannelIdentity) for o in (*session.new, *session.deleted)):
        return True
    ids = {p.id for p in people}
    return any(isinstance(o, ChannelIdentity)
               and (o.person_id in ids or inspect(o).attrs.person_id.history.has_changes())
               for o in session.dirty)


_CONVERSATION = select(*CONVERSATION_COLUMNS).where(_STATES.c.identity_id == bindparam("identity_id"))


def load_conversation(session: Session, identity_id: int) -> Conversation:
    row = session.connection().execute(_CONVERSATION, {"identity_id": identity_id}).first()
    return Conversation.from_row(identity_id, *row) if row else Conversation(identity_id)


def add_or_get(session: Session, row, existing: Callable[[], object]):
    """Insert a row that another message may be inserting at the same moment (two first
    messages from one new address). On PostgreSQL the second INSERT waits for the first transaction and then hits the
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
