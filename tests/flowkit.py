"""Shared pieces for the table-driven conversation tests (in the style of nyaruka/courier's
handler tests): a row says who sends what, and what must hold afterwards -- an option on a
message, a substring, who else was (not) told, the database state.

Texts are compared through the same gettext catalogs the bot uses (``T``), so an assertion
stays meaningful while translations are being written: an untranslated msgid renders as the
English source, a translated one as its translation, exactly like the bot does.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from handlers.dispatch import Dispatcher
from handlers.i18n import catalog, fill
from models import ChannelIdentity, HelpRequest, Outbox, Person


@pytest.fixture
def dispatcher(sessions):
    """A dispatcher whose rate limit never gets in the way of a long scripted story
    (test_ratelimit.py tests the limit itself)."""
    return Dispatcher(sessions, rate_limit=100_000)


class T:
    """A bot text as the catalog of ``lang`` renders it: ``T("Sent.", "fr")``."""

    def __init__(self, msgid: str, lang: str, **params: Any) -> None:
        self.msgid, self.lang, self.params = msgid, lang, params

    def __str__(self) -> str:
        return fill(catalog(self.lang).gettext(self.msgid), self.params, self.lang)  # as _() fills it (RTL isolates)

    def __repr__(self) -> str:
        return f"T({self.msgid[:40]!r}, {self.lang})"


Text = "str | T | Callable[[dict], str]"


def render(value, v: dict) -> str:
    if callable(value) and not isinstance(value, T):
        value = value(v)
    return str(value)


@dataclass
class Msg:
    """What a message must look like. ``options`` are payloads that must be offered
    (a trailing ":" means "a payload starting with this"); ``lacks`` must not appear."""

    contains: tuple = ()
    options: tuple = ()
    no_options: tuple = ()
    lacks: tuple = ()

    def problems(self, msg: dict, v: dict) -> list[str]:
        out = []
        payloads = [o["payload"] for o in msg["options"]]
        for c in self.contains:
            if render(c, v) not in msg["text"]:
                out.append(f"text lacks {render(c, v)!r}")
        for c in self.lacks:
            if render(c, v) in msg["text"]:
                out.append(f"text contains {render(c, v)!r}")
        for o in self.options:
            o = render(o, v)
            if not any(p == o or (o.endswith(":") and p.startswith(o)) for p in payloads):
                out.append(f"no option {o!r} in {payloads}")
        for o in self.no_options:
            o = render(o, v)
            if any(p == o or (o.endswith(":") and p.startswith(o)) for p in payloads):
                out.append(f"unexpected option {o!r} in {payloads}")
        return out


def has(*contains, options=(), no_options=(), lacks=()) -> Msg:
    return Msg(tuple(contains), tuple(options), tuple(no_options), tuple(lacks))


@dataclass
class Row:
    """One message and what must hold afterwards.

    ``reply``: one of the sender's new messages matches (the bot may say two things at once).
    ``told``: each named person got at least one new message that matches. ``silent``: these people got nothing new.
    ``db``: called as ``db(session, v)`` and asserts on the database. ``keep``: called as
    ``keep(session, v)`` to remember values (ids) for later rows in ``v``.
    """

    who: str
    text: Any = ""
    payload: Any = None
    reply: Msg | None = None
    told: dict = field(default_factory=dict)
    silent: tuple = ()
    db: Callable[[Session, dict], None] | None = None
    keep: Callable[[Session, dict], None] | None = None
    result: str = "ok"
    channel: str = "demo"
    replies: int | None = None


@dataclass
class Do:
    """A setup step outside the chat (an invite code, a second neighbourhood): ``fn(session, v)``."""

    fn: Callable[[Session, dict], None]


def play(chat, rows, v: dict | None = None) -> dict:
    """Run the rows in order; fail with the row number and what was wrong."""
    v = {} if v is None else v
    v.setdefault("_pid", with_ids(chat.sessions)["_pid"])
    people = {"coordinator"} | {r.who for r in rows if isinstance(r, Row)}
    for r in rows:
        if isinstance(r, Row):
            people |= set(r.told) | set(r.silent)
    for who in people:
        chat.new(who)
    for n, row in enumerate(rows, 1):
        if isinstance(row, Do):
            with chat.sessions() as session, session.begin():
                row.fn(session, v)
            continue
        if callable(row):  # a list of rows built from the values so far
            play(chat, row(v), v)
            continue
        for other in (*row.told, *row.silent):  # only what this row causes counts
            chat.new(other)
        text = render(row.text, v) if row.text else ""
        payload = render(row.payload, v) if row.payload is not None else None
        got = chat.send(row.who, text, payload, channel=row.channel)
        where = f"row {n} ({row.who}: {text[:40]!r} {payload or ''})"
        assert chat.result == row.result, f"{where}: result {chat.result!r}, wanted {row.result!r}"
        if row.keep:
            with chat.sessions() as session, session.begin():
                row.keep(session, v)
        if row.replies is not None:
            assert len(got) == row.replies, f"{where}: wanted {row.replies} replies, got {[m['text'] for m in got]}"
        if row.reply is not None:
            assert got, f"{where}: no reply"
            reports = [row.reply.problems(m, v) for m in got]
            assert any(not p for p in reports), f"{where}: replies {[m['text'] for m in got]}: {reports}"
        for other, want in row.told.items():
            msgs = chat.new(other)
            assert msgs, f"{where}: {other} was not told anything"
            if want is not None:
                reports = [want.problems(m, v) for m in msgs]
                assert any(not p for p in reports), f"{where}: {other} got {[m['text'] for m in msgs]}: {reports}"
        for other in row.silent:
            msgs = chat.new(other)
            assert not msgs, f"{where}: {other} should not be told anything, got {[m['text'] for m in msgs]}"
        if row.db:
            with chat.sessions() as session, session.begin():
                row.db(session, v)
    return v


# ---- people ------------------------------------------------------------------------------

def person(session: Session, who: str, channel: str = "demo") -> Person | None:
    identity = session.scalar(select(ChannelIdentity).where(
        ChannelIdentity.channel == channel, ChannelIdentity.address == who))
    return identity.person if identity else None


def pid(session: Session, who: str) -> int:
    p = person(session, who)
    assert p is not None, f"{who} has no person"
    return p.id


def last_request(session: Session) -> HelpRequest | None:
    return session.scalar(select(HelpRequest).order_by(HelpRequest.id.desc()).limit(1))


def count(session: Session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def outbox_for(session: Session, who: str, channel: str = "demo") -> list[Outbox]:
    return list(session.scalars(select(Outbox).where(Outbox.channel == channel, Outbox.address == who)
                                .order_by(Outbox.id)))


def resident(who: str, name: str, lang: str = "nl", postcode: str = "1040") -> list[Row]:
    """Join as someone who would like help."""
    return [
        Row(who, "/start"),
        Row(who, payload=f"lang:{lang}"),
        Row(who, postcode),
        Row(who, payload="yes"),
        Row(who, name),
        Row(who, payload="role:help", reply=has(options=("cat:shopping", "menu"))),  # straight into a request
    ]


def volunteer(
    who: str,
    name: str,
    lang: str = "nl",
    tasks: str = "1 2 3 4 5 6 7",
    speaks: str | None = None,
    cap: str = "5",
    approve: bool = True,
    postcode: str = "1040",
    coordinator: str = "coordinator",
) -> list[Row]:
    """Join as a volunteer through the offer flow and (by default) get approved by the coordinator."""
    rows = [
        Row(who, "/start"),
        Row(who, payload=f"lang:{lang}"),
        Row(who, postcode),
        Row(who, payload="yes"),
        Row(who, name),
        Row(who, payload="role:give"),
        Row(who, tasks),
        *([Row(who, "8")] if len(tasks.split()) == 1 else []),  # one number toggles; 8 is "Done"
        Row(who, speaks or lang),
        Row(who, payload=f"cap:{cap}"),
        Row(who, payload="no", told={coordinator: has(options=("vol:ok:",))}),
    ]
    if approve:
        rows.append(Row(coordinator, payload=lambda v: f"vol:ok:{v['_pid'](who)}",
                        told={who: has(options=("open",))}))
    return rows


def with_ids(sessions):
    """Values every table starts with: ``v['_pid'](who)`` finds a person's id (in a session of
    its own: inside a ``db`` or ``keep`` check use ``pid(session, who)``, SQLite has one writer)."""
    def find(who):
        with sessions() as session:
            return pid(session, who)
    return {"_pid": find}
