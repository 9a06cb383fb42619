"""After /delete nothing of the person can be read in any database file (issue 9, point 5).

Deleting or overwriting rows is not enough on SQLite: the old page images stay in the ``-wal``
file (and freed space in the database file) until something overwrites them. A resident with a
distinctive phone number, name, address and request joins on WhatsApp (signed webhooks, the
real twilio client against Prism), asks for help, receives messages, then erases herself; the
farewell is delivered and purged. The raw bytes of the database, its ``-wal``, ``-shm`` and any
journal are then searched for every one of her details, in UTF-8 and UTF-16: once while the
bot is still running, and again after a clean stop."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import select, text

from bot.runtime import Runtime
from handlers.i18n import catalog
from models import Outbox, Person
from models.db import close
from tests.twilio_edge import prism, twilio_edge  # noqa: F401  (fixtures)
from tests.twiliokit import TwilioWorld, settings_for

PHONE = "+32479314159"
NAME = "Zwanhilde"
STREET = "Kwispelstraat 271"
REQUEST = "Gordijnroede ophangen boven de veranda"
#: Every detail, also in the forms a driver or an index might keep it in.
SECRETS = [PHONE, PHONE.lstrip("+"), NAME, "Kwispelstraat", "Gordijnroede"]


def T(msgid: str) -> str:
    return catalog("nl").gettext(msgid)


def database_files(path: Path) -> list[Path]:
    """The database and every file SQLite keeps beside it."""
    return [p for p in path.parent.iterdir() if p.name.startswith(path.name)]


def leaks(path: Path) -> list[str]:
    found = []
    for file in database_files(path):
        try:
            raw = file.read_bytes()
        except FileNotFoundError:  # the last connection closed and SQLite removed it meanwhile
            continue
        for secret in SECRETS:
            for encoding in ("utf-8", "utf-16-le", "utf-16-be"):
                if secret.encode(encoding) in raw:
                    found.append(f"{file.name}: {secret!r} ({encoding})")
    return found


@pytest.fixture
def db_path(tmp_path, sqlite_template) -> Path:
    path = tmp_path / "erase.db"
    shutil.copy(sqlite_template, path)
    return path


@pytest_asyncio.fixture
async def world(twilio_edge, db_path):  # noqa: F811
    w = TwilioWorld(Runtime.build(settings_for(twilio_edge.url, f"sqlite:///{db_path}")), twilio_edge)
    yield w
    await w.http.aclose()


async def test_nothing_of_an_erased_resident_is_left_in_the_database_files(world, db_path):
    world.phones[NAME] = ("whatsapp", PHONE)
    await world.say(NAME, "Hallo")
    await world.choose(NAME, "Nederlands")
    await world.say(NAME, "1040")
    await world.say(NAME, "ja")
    await world.say(NAME, NAME)
    got = await world.choose(NAME, T("I would like help"))  # the request starts at once (issue 9 point 18)
    assert T("What kind of help do you need?") in got[-1]
    await world.say(NAME, "1")
    await world.say(NAME, REQUEST)
    await world.say(NAME, "2")
    await world.say(NAME, STREET + ", 1040 Etterbeek")
    await world.say(NAME, "ja")
    got = "\n".join(await world.say(NAME, "/mydata"))
    assert STREET in got and NAME in got  # it was all stored, and sent to her phone
    assert leaks(db_path), "the test must see her details on disk before the erasure"

    await world.say(NAME, "/delete")
    farewell = await world.say(NAME, "ja")
    assert farewell[-1] == T("Everything we kept about you is deleted. Thank you for taking part in the "
                             "neighbourhood. Type /start if you ever want to come back.")
    with world.rt.sessions() as s:  # delivered and purged: no row holds her anything more
        assert s.scalar(select(Person).where(Person.first_name == NAME)) is None
        assert not s.scalars(select(Outbox).where(Outbox.address.contains("314159"))).all()
        assert s.scalars(select(Outbox).where(Outbox.status == "purged")).all()
    # the bot is still running: the erasure itself has already cleared the files
    assert leaks(db_path) == []

    await world.rt.twilio.stop()
    close(world.rt.engine)  # what `buurtbot run` and `buurtbot demo` do on a clean stop
    assert leaks(db_path) == []
    wal = db_path.with_name(db_path.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0


def test_every_sqlite_connection_deletes_securely(db_path):
    """secure_delete overwrites deleted content with zeros; SQLite's default leaves it (this
    machine's build happens to switch it on, another one may not)."""
    from models.db import make_engine

    engine = make_engine(f"sqlite:///{db_path}")
    try:
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA secure_delete")).scalar() == 1
    finally:
        close(engine)
