"""Bad input in every conversation step (hypothesis, on SQLite for speed; the fixed nasty
inputs also on PostgreSQL): any Unicode, 100 kB texts, control characters, forged button
payloads. Whatever arrives, the dispatcher answers "ok", writes a reply for the sender and
raises nothing. A step that fails half-way leaves nothing behind but a polite apology.
"""
from __future__ import annotations

import itertools
import shutil

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.demo import seed
from handlers import tasks
from handlers.core import Inbound
from handlers.dispatch import Dispatcher
from handlers.i18n import catalog
from handlers.steps import STEPS
from models import ChannelIdentity, ConversationState, HelpRequest, InboundLog, Outbox, Person
from models.base import utcnow
from models.db import make_engine, make_sessionmaker
from models.people import CATEGORIES
from tests.conftest import Chat
from tests.flowkit import last_request, person, play, resident, volunteer, Row

#: Every step a person can be in, and "" (no step: the menu).
ALL_STEPS = sorted(STEPS) + [""]
#: Steps before consent: there is no Person yet, only a channel identity.
NO_PERSON = {"onboard.language", "onboard.area", "onboard.consent"}
APOLOGY = "Sorry, something went wrong on our side. Please try again, or type /menu."

FORGED = [
    "claim:999999",
    "claim:0",
    "claim:-1",
    "claim:",
    "claim:1;DROP TABLE people",
    "claim:../../1",
    "claim:²",
    "claim:፩",
    "claim:" + "9" * 40,
    "vol:ok:-1",
    "vol:ok:1",
    "vol:no:2",
    "vol:pause:3",
    "vol:",
    "vol:ok:²",
    "cat:../../",
    "cat:",
    "cat:shopping\x00",
    "when:yesterday",
    "when:",
    "cap:0",
    "cap:999",
    "cap:²",
    "cap:-3",
    "lang:xx",
    "lang:",
    "nb:1",
    "nb:²",
    "nb:" + "9" * 30,
    "offercat:../",
    "offerlang:klingon",
    "role:admin",
    "coord:invite:admin",
    "coord:pending",
    "coord:open",
    "coord:proxy",
    "coord:volunteers",
    "coord:",
    "coord:x:y:z",
    "done:1",
    "done:2",
    "handback:1",
    "cancel:1",
    "thanks:1",
    "msg:1",
    "msg:2",
    "yes",
    "no",
    "menu",
    "human",
    "open",
    "tasks",
    "mine",
    "ask",
    "offer",
    ":",
    "::::",
    "\x00",
    "%s%s%n",
    "{name}",
    "{0}",
    "' OR 1=1 --",
    "\u202eclaim:1",
    "claim:1\n",
    "a" * 80,
]
NASTY = ["", " ", "\x00", "\x00\x01\x02\x1b[31m", "\r\n\t", "\u200b\u200f\u202e\u2066", "\ufeff", "\U0001F600" * 50,
         "{name} {0} %s %(x)s", "/", "//", "/start " + "x" * 200, "/start \x00", "/delete", "/language", "/stop",
         "1", "99", "-1", "٣", "፩", "²", "①", "ja", "oui", "yes", "no", "26/11", "31/02/2026", "29/02", "1/1/9999",
         "00/00", "9999", "1040", "Robert'); DROP TABLE people;--", "<script>alert(1)</script>",
         "ＫＥＲＫＳＴＲＡＡＴ １２", "Ⅻ", "x" * 5000]

#: What a database may choke on: NUL, control and bidi characters, astral planes, quotes, long and numeric text.
DB_NASTY = ["\x00", "a\x00b\x1b[31m\x7f", "\u202e\u2066x\ufeff", "\U0001F600" * 50, "Robert'); DROP TABLE people;--",
            "%s %(x)s {0} {name}", "1" * 40, "٣", "²", "x" * 5000, "/start \x00" + "A" * 40]

OPTIONS = {
    "onboard.language": ["lang:nl", "lang:fr", "lang:en"],
    "onboard.consent": ["yes", "no"],
    "onboard.role": ["role:help", "role:give", "role:both"],
    "ask.category": [f"cat:{c}" for c in CATEGORIES],
    "ask.when": ["when:today", "when:tomorrow", "when:week", "when:date"],
    "ask.confirm": ["yes", "no"],
    "offer.categories": [f"offercat:{c}" for c in CATEGORIES] + ["offercat:done"],
    "offer.languages": ["offerlang:nl", "offerlang:fr", "offerlang:done"],
    "offer.cap": ["cap:1", "cap:2", "cap:3", "cap:5"],
    "offer.duo": ["yes", "no"],
    "delete.confirm": ["delete:yes", "delete:no"],
    "language": ["lang:nl", "lang:fr", "lang:en"],
    "": ["ask", "open", "tasks", "mine", "human"],
}


class World:
    """A small neighbourhood with a claimed and an open request; ``put(step)`` gives a fresh
    sender (or, where the step is about a request of theirs, a known one) in that step."""

    def __init__(self, engine) -> None:
        self.engine = engine
        self.sessions = make_sessionmaker(engine)
        with self.sessions() as s, s.begin():
            self.nb_id = seed(s).id
        self.dispatcher = Dispatcher(self.sessions, rate_limit=10**9)
        chat = Chat(self.sessions, self.dispatcher)
        play(
            chat,
            resident("maria", "Maria")
            + volunteer("jan", "Jan")
            + [
                Row("maria", payload="ask"),
                Row("maria", "1"),
                Row("maria", "Water"),
                Row("maria", "3"),
                Row("maria", "Kerkstraat 12"),
                Row("maria", "ja"),
                Row("jan", payload="claim:1"),
                Row("maria", payload="ask"),
                Row("maria", "2"),
                Row("maria", "Naar de dokter"),
                Row("maria", "3"),
                Row("maria", "ja"),
            ],
        )
        with self.sessions() as s:
            self.claimed, self.open = 1, last_request(s).id
            assert s.get(HelpRequest, 1).status == "claimed"
        self.ids = itertools.count()

    def put(self, step: str, address: str | None = None) -> str:
        """Put ``address`` (or a fresh sender, if it cannot be reused) into ``step``."""
        data = {"category": "shopping", "description": "Een brood", "when": "week", "due": None,
                "request_id": self.claimed, "neighbourhood_id": self.nb_id, "chosen": ["nl"]}
        address = {"relay": "jan", "proxy.name": "coordinator"}.get(step, address)
        with self.sessions() as s, s.begin():
            identity = s.scalar(select(ChannelIdentity).where(ChannelIdentity.address == address)) if address else None
            if identity is not None and (identity.person is None) != (step in NO_PERSON):
                identity = None  # consent given, or data deleted: take someone new
            if identity is None:
                address = f"h{next(self.ids)}"
                identity = ChannelIdentity(channel="demo", address=address, language="nl")
                if step not in NO_PERSON:
                    identity.person = Person(neighbourhood_id=self.nb_id, first_name="Hugo", language="nl",
                                             languages_spoken=["nl"], is_resident=True, is_volunteer=True,
                                             volunteer_status="approved", consent_at=utcnow(), consent_version="test")
                s.add(identity)
                s.flush()
            if step == "onboard.name":
                identity.person.first_name = ""
            state = s.get(ConversationState, identity.id)
            if state is None:
                state = ConversationState(identity_id=identity.id)
                s.add(state)
            state.step, state.data = step, (data if step else {})
            state.options = [{"label": p, "payload": p} for p in OPTIONS.get(step, [])]
        return address

    def send(self, address: str, text: str = "", payload: str | None = None) -> tuple[str, list[Outbox]]:
        with self.sessions() as s:
            before = s.scalar(select(func.max(Outbox.id))) or 0
        result = self.dispatcher.handle(Inbound("demo", address, text, payload,
                                                platform_message_id=f"bad{next(self.ids)}"))
        with self.sessions() as s:
            rows = s.scalars(select(Outbox).where(Outbox.id > before, Outbox.address == address)).all()
        return result, list(rows)


@pytest.fixture(scope="module")
def world(tmp_path_factory, sqlite_template):
    path = tmp_path_factory.mktemp("bad") / "bad.db"
    shutil.copy(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    yield World(engine)
    engine.dispose()


def answered(world: World, step: str, text: str = "", payload: str | None = None, address: str | None = None) -> str:
    """Send to someone in ``step``; they get an answer. Returns the sender, for reuse."""
    address = world.put(step, address)
    result, rows = world.send(address, text, payload)
    assert result == "ok", (step, text[:80], payload)
    assert rows, f"no reply in step {step!r} to {text[:80]!r} {payload!r}"
    assert all(len(r.text) <= 4096 for r in rows)
    return address


texts = st.one_of(
    st.text(),
    st.text(alphabet=st.characters(categories=["Cc", "Cf", "Zs", "Zl", "Zp", "Mn"]), max_size=50),
    st.text(alphabet="0123456789/-. :", max_size=12),
    st.sampled_from(NASTY),
)
payloads = st.one_of(st.none(), st.text(max_size=80), st.sampled_from(FORGED))
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.mark.parametrize("step", ALL_STEPS)
@SETTINGS
@given(text=texts, payload=payloads)
def test_any_input_in_any_step_gets_an_answer(world, step, text, payload):
    SENDERS[step] = answered(world, step, text, payload, SENDERS.get(step))


SENDERS: dict[str, str] = {}


@pytest.mark.parametrize("step", ALL_STEPS)
def test_100kb_texts_and_payloads(world, step):
    big = ("Goeiedag, ik ben 82 en slecht te been. Kerkstraat 12 ☕ ١٢ \x00\x1b " * 2000)[:100_000]
    who = None
    for text, payload in ((big, None), ("x" * 100_000, None), ("", "claim:" + "1" * 100_000),
                          ("/start " + "A" * 100_000, None), ("1" * 100_000, None)):
        who = answered(world, step, text, payload, who)


@pytest.mark.parametrize("step", ALL_STEPS)
def test_forged_payloads_in_every_step(world, step):
    who = None
    for payload in FORGED:
        who = answered(world, step, "", payload, who)


def test_nasty_inputs_in_every_step_on_both_databases(engine):
    """The same fixed list on SQLite and PostgreSQL: NUL bytes, RTL marks and friends."""
    w = World(engine)
    for step in ALL_STEPS:
        who = None
        for text in DB_NASTY:
            who = answered(w, step, text, None, who)
        for payload in ("claim:²", "claim:" + "9" * 40, "nb:" + "9" * 30, "\x00", "cat:shopping\x00"):
            who = answered(w, step, "", payload, who)


# ---- a step that fails half-way -------------------------------------------------------------

def explode(ctx, *args):
    """Write to the session as a real step would, then fail."""
    if ctx.person is not None:
        ctx.person.first_name = "CHANGED"
        ctx.person.address_full = "Geheimstraat 99"
        ctx.session.add(HelpRequest(neighbourhood_id=ctx.person.neighbourhood_id, requester_id=ctx.person.id,
                                    category="other", description="half-way"))
    ctx.goto("ask.where", junk="half-way")
    ctx.say("half-way")
    ctx.session.flush()
    raise RuntimeError("boom in the middle of a step")


def snapshot(world: World, address: str) -> dict:
    with world.sessions() as s:
        identity = s.scalar(select(ChannelIdentity).where(ChannelIdentity.address == address))
        state = s.get(ConversationState, identity.id)
        p = identity.person
        return {
            "person": (p.first_name, p.address_full, p.language) if p else None,
            "persons": s.scalar(select(func.count()).select_from(Person)),
            "requests": s.scalar(select(func.count()).select_from(HelpRequest)),
            "state": (state.step, dict(state.data or {}), list(state.options or [])),
            "half_way": s.scalar(select(func.count()).select_from(Outbox).where(Outbox.text == "half-way")),
            "inbound": s.scalar(select(func.count()).select_from(InboundLog)),
        }


@pytest.mark.parametrize("step", ALL_STEPS)
def test_a_failing_step_leaves_no_partial_write(world, step, monkeypatch):
    address = world.put(step)
    before = snapshot(world, address)
    if step:
        monkeypatch.setitem(STEPS, step, explode)
        result, rows = world.send(address, "Kerkstraat 12")
    else:  # no step: a button that works from anywhere fails instead
        monkeypatch.setattr(tasks, "show_mine", explode)
        result, rows = world.send(address, "", "mine")
    assert result == "error"
    assert snapshot(world, address) == before
    lang = "en" if step == "proxy.name" else "nl"  # the seeded coordinator writes in English
    assert [r.text for r in rows] == [catalog(lang).gettext(APOLOGY)]
    # the message was not marked as seen: the platform's retry is processed, not dropped as a duplicate
    monkeypatch.undo()
    result, rows = world.send(address, "/menu")
    assert result == "ok" and rows


def test_a_failing_step_for_a_newcomer_still_apologises(world, monkeypatch):
    monkeypatch.setitem(STEPS, "onboard.area", explode)
    address = world.put("onboard.area")
    result, rows = world.send(address, "1040")
    assert result == "error" and [r.text for r in rows] == [catalog("nl").gettext(APOLOGY)]
    with world.sessions() as s:
        assert person(s, address) is None
