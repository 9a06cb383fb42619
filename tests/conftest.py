"""Shared fixtures: a fresh, migrated database per test (SQLite and PostgreSQL), a dispatcher,
and a Chat helper that plays people through the demo channel like the real channels do.

PostgreSQL is real: set BUURTBOT_TEST_POSTGRES_URL (scripts/test starts a server and sets it).
Tests that need it fail, not skip, without it: a green run must have covered PostgreSQL.
"""
from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import uuid

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from bot.demo import inbox, seed
from handlers.core import Inbound
from handlers.dispatch import Dispatcher
from models import Base
from models.db import make_engine, make_sessionmaker
from models.schema import upgrade

PG_URL = os.environ.get("BUURTBOT_TEST_POSTGRES_URL")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@contextlib.contextmanager
def fresh_pg_database(prefix: str = "buurtbot_t"):
    """The URL of a new, empty PostgreSQL database of its own (several runs may share one
    server), dropped afterwards. Fails, not skips, without a server: see scripts/test."""
    if not PG_URL:
        pytest.fail("BUURTBOT_TEST_POSTGRES_URL is not set: run the suite with scripts/test, which starts PostgreSQL")
    admin = make_engine(PG_URL, isolation_level="AUTOCOMMIT")
    name = f"{prefix}{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        _drop(admin, name)
        admin.dispose()


def _drop(admin, name: str, tries: int = 20) -> None:
    """DROP ... WITH (FORCE) ends our own connections, but not an autovacuum worker that the
    server (another role) has just started in the database: then it is tried again a moment
    later, and a database left over on the test server is only warned about, never a failed test."""
    import time
    import warnings

    from sqlalchemy.exc import DBAPIError

    for attempt in range(tries):
        try:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            return
        except DBAPIError as exc:
            if getattr(exc.orig, "sqlstate", None) != "42501" or attempt == tries - 1:  # insufficient_privilege
                warnings.warn(f"test database {name} left on the server: {type(exc.orig).__name__}")
                return
            time.sleep(0.25)


@pytest.fixture(scope="session")
def pg_migrated():
    """Migrated once per run; tests empty it with TRUNCATE."""
    with fresh_pg_database() as url:
        engine = make_engine(url)
        upgrade(engine)
        yield engine
        engine.dispose()


def _truncate_pg(engine) -> None:
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path, sqlite_template):
    """A migrated, empty database of each kind."""
    if request.param == "sqlite":
        path = tmp_path / "buurtbot.db"
        shutil.copy(sqlite_template, path)
        eng = make_engine(f"sqlite:///{path}")
        yield eng
        eng.dispose()
    else:
        eng = request.getfixturevalue("pg_migrated")
        _truncate_pg(eng)
        yield eng


@pytest.fixture
def sqlite_engine(tmp_path, sqlite_template):
    path = tmp_path / "buurtbot.db"
    shutil.copy(sqlite_template, path)
    eng = make_engine(f"sqlite:///{path}")
    yield eng
    eng.dispose()


@pytest.fixture
def sessions(engine):
    return make_sessionmaker(engine)


@pytest.fixture
def dispatcher(sessions):
    return Dispatcher(sessions)


class Chat:
    """Plays neighbours through the dispatcher on the demo channel.

    ``chat.send("maria", "1040")`` returns the messages Maria got back; ``chat.last("jan")``
    is the newest message Jan has; ``chat.press("jan", "I'll do it")`` presses an option of
    Jan's newest message by its label."""

    def __init__(self, sessions, dispatcher):
        self.sessions, self.dispatcher = sessions, dispatcher
        self.seen: dict[str, int] = {}
        self.ids = itertools.count(1)

    def send(self, who: str, text: str = "", payload: str | None = None, channel: str = "demo",
             message_id: str | None = None, locale: str | None = None) -> list[dict]:
        inbound = Inbound(channel, who, text, payload, locale_hint=locale,
                          platform_message_id=message_id or f"m{next(self.ids)}")
        self.result = self.dispatcher.handle(inbound)
        return self.new(who)

    def new(self, who: str) -> list[dict]:
        with self.sessions() as session, session.begin():
            msgs = inbox(session, who, self.seen.get(who, 0))
        if msgs:
            self.seen[who] = msgs[-1]["id"]
        self.history.setdefault(who, []).extend(msgs)
        return msgs

    @property
    def history(self) -> dict[str, list[dict]]:
        if not hasattr(self, "_history"):
            self._history = {}
        return self._history

    def last(self, who: str) -> dict:
        self.new(who)
        return self.history[who][-1]

    def press(self, who: str, label_part: str) -> list[dict]:
        options = self.last(who)["options"]
        for opt in options:
            if label_part.lower() in opt["label"].lower():
                return self.send(who, payload=opt["payload"])
        raise AssertionError(f"{who} has no option like {label_part!r}: {[o['label'] for o in options]}")

    def join(self, who: str, name: str, language: str = "nl", role: str = "role:help", postcode: str = "1040") -> None:
        """Onboard someone in a few steps (language, postcode, consent, name, role)."""
        self.send(who, "/start")
        self.send(who, payload=f"lang:{language}")
        self.send(who, postcode)
        self.send(who, payload="yes")
        self.send(who, name)
        if role:
            self.send(who, payload=role)


@pytest.fixture
def chat(sessions, dispatcher):
    with sessions() as session, session.begin():
        seed(session)
    return Chat(sessions, dispatcher)


def text_columns(engine):
    """(table, column) for every text-like column in the database: for "no trace" checks."""
    insp = inspect(engine)
    for table in insp.get_table_names():
        for col in insp.get_columns(table):
            name = type(col["type"]).__name__.upper()
            if any(k in name for k in ("CHAR", "TEXT", "JSON", "STRING")):
                yield table, col["name"]


@pytest.fixture
def no_quiet_hours(monkeypatch):
    """For tests whose senders and sweeps run on the real clock: they pass at whatever hour CI runs
    them (quiet hours themselves are tested with a fixed clock: test_broadcasts, test_outbox_priority)."""
    from handlers import quiet

    monkeypatch.setattr(quiet, "DEFAULT_QUIET", ("00:00", "00:00"))


#: Module settings that `buurtbot run` (Runtime.build, scheduler.runner.configure) writes from the
#: environment: each test starts from the defaults, whatever a Runtime built by an earlier test set.
CONFIGURED = {
    "handlers.broadcasts": ("RATES", "SMS_SEGMENT_PRICE", "SMS_SEGMENTS"),
    "handlers.quiet": ("DEFAULT_QUIET",),
    "handlers.digest": ("DIGEST_WEEKDAY", "DIGEST_TIME"),
    "handlers.cases": ("REFERRAL_REMIND_DAYS",),
    "handlers.plans_due": ("GRACE",),
    "handlers.reminders": ("UNCLAIMED_HOURS", "STILL_NEEDED_DAYS"),
}
_DEFAULTS: dict = {}


@pytest.fixture(autouse=True)
def configured_defaults(monkeypatch):
    import copy
    import importlib

    if not _DEFAULTS:  # as imported, before any test configured anything
        for module, names in CONFIGURED.items():
            mod = importlib.import_module(module)
            _DEFAULTS.update({(module, n): copy.copy(getattr(mod, n)) for n in names})
    for (module, name), value in _DEFAULTS.items():
        monkeypatch.setattr(importlib.import_module(module), name, copy.copy(value))
