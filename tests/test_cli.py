"""The installed `buurtbot` command, run as a subprocess from fresh, empty directories the way
an operator runs it: on SQLite files and on a PostgreSQL database of its own."""
from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from models.db import make_engine
from tests.conftest import fresh_pg_database
from tests.processes import stop
from models.schema import current_revision, head_revision

#: Everything from the caller's environment that would change what the command does.
SCRUB = {"DATABASE_URL", "TELEGRAM_BOT_TOKEN", "TELEGRAM_BOT_USERNAME", "HOST", "PORT", "LOG_LEVEL",
         "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_WHATSAPP_FROM", "TWILIO_SMS_FROM", "PUBLIC_BASE_URL"}
#: What a refusal to run without a channel has to name, so that a mistyped variable is found.
CHANNEL_VARIABLES = ("TELEGRAM_BOT_TOKEN", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_WHATSAPP_FROM",
                     "TWILIO_SMS_FROM", "buurtbot demo")
CODE = re.compile(r"^[A-HJKMNP-Z2-9]{8}$")


def buurtbot_script() -> str:
    script = Path(sys.executable).with_name("buurtbot")
    assert script.exists(), f"the console script is not installed next to {sys.executable}"
    return str(script)


def env_for(database_url: str | None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k.upper() not in SCRUB}
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    # Make sure nothing can reach the repository through the import path: the installed
    # command has to find its own code, migrations and catalogs.
    env.pop("PYTHONPATH", None)
    if database_url:
        env["DATABASE_URL"] = database_url
    env["LANGUAGE"] = "en"  # the operator's language, for the messages the tests read
    env.update(extra)
    return env


def buurtbot(cwd: Path, database_url: str | None, *args: str, timeout: float = 120, **extra: str):
    return subprocess.run([buurtbot_script(), *args], cwd=cwd, env=env_for(database_url, **extra),
                          capture_output=True, text=True, timeout=timeout)


def assert_clean_failure(result, *needles: str) -> None:
    """Non-zero exit, a plain message on stderr, and no Python traceback anywhere."""
    out = result.stdout + result.stderr
    assert result.returncode != 0, out
    assert "Traceback" not in out, out
    assert result.stderr.strip(), "an error must say what went wrong"
    for needle in needles:
        assert needle in result.stderr, result.stderr


@pytest.fixture
def workdir(tmp_path) -> Path:
    """A fresh, empty working directory (no .env, no database) away from the repository."""
    d = tmp_path / "work"
    d.mkdir()
    return d


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'x.db'}"


@pytest.fixture
def pg_url():
    """A brand-new, empty PostgreSQL database for this one test (dropped afterwards)."""
    with fresh_pg_database("buurtbot_cli") as url:
        yield url


def upgraded(workdir: Path, url: str) -> None:
    result = buurtbot(workdir, url, "db", "upgrade")
    assert result.returncode == 0, result.stdout + result.stderr


def revision_of(url: str) -> tuple[str | None, str]:
    engine = make_engine(url)
    try:
        return current_revision(engine), head_revision(engine)
    finally:
        engine.dispose()


# ---- db upgrade ----------------------------------------------------------------------------

def test_db_upgrade_creates_the_schema_at_head(workdir, sqlite_url):
    result = buurtbot(workdir, sqlite_url, "db", "upgrade")
    assert result.returncode == 0, result.stderr
    current, head = revision_of(sqlite_url)
    assert current == head
    assert f"schema at {head}" in result.stdout
    # Running it again is harmless.
    again = buurtbot(workdir, sqlite_url, "db", "upgrade")
    assert again.returncode == 0, again.stderr
    assert revision_of(sqlite_url)[0] == head
    # Nothing was written next to where the command ran: the database is where the URL says.
    assert list(workdir.iterdir()) == []


def test_default_database_is_a_file_in_the_working_directory(workdir):
    result = buurtbot(workdir, None, "db", "upgrade")
    assert result.returncode == 0, result.stderr
    assert (workdir / "buurtbot.db").exists()


# ---- neighbourhoods ----------------------------------------------------------------------

def test_neighbourhood_add_and_list(workdir, sqlite_url):
    upgraded(workdir, sqlite_url)
    added = buurtbot(workdir, sqlite_url, "neighbourhood", "add", "--name", "Etterbeek", "--slug", "etterbeek",
                     "--postcodes", "1040,1050")
    assert added.returncode == 0, added.stderr
    assert "Etterbeek" in added.stdout and "1040" in added.stdout and "1050" in added.stdout
    listed = buurtbot(workdir, sqlite_url, "neighbourhood", "list")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines() == ["etterbeek\tEtterbeek\t1040,1050\tnl"]


def test_duplicate_slug_is_a_clear_error(workdir, sqlite_url):
    upgraded(workdir, sqlite_url)
    args = ("neighbourhood", "add", "--name", "Etterbeek", "--slug", "etterbeek", "--postcodes", "1040")
    assert buurtbot(workdir, sqlite_url, *args).returncode == 0
    again = buurtbot(workdir, sqlite_url, *args)
    assert_clean_failure(again, "etterbeek", "exists")
    listed = buurtbot(workdir, sqlite_url, "neighbourhood", "list")
    assert len(listed.stdout.splitlines()) == 1


@pytest.mark.parametrize("postcodes", ["10400", "abcd", "1040,10", ",", "", "١٠٤٠"])
def test_bad_postcode_is_a_clear_error(workdir, sqlite_url, postcodes):
    upgraded(workdir, sqlite_url)
    result = buurtbot(workdir, sqlite_url, "neighbourhood", "add", "--name", "X", "--slug", "x",
                      "--postcodes", postcodes)
    assert_clean_failure(result, "postcode")
    assert buurtbot(workdir, sqlite_url, "neighbourhood", "list").stdout == ""


@pytest.mark.parametrize("name, slug, needle", [
    ("", "x", "name"),
    ("   ", "x", "name"),
    ("x" * 121, "x", "name"),
    ("Etterbeek", "", "slug"),
    ("Etterbeek", "Etter beek", "slug"),
    ("Etterbeek", "x" * 61, "slug"),
])
def test_bad_name_or_slug_is_a_clear_error(workdir, sqlite_url, name, slug, needle):
    upgraded(workdir, sqlite_url)
    result = buurtbot(workdir, sqlite_url, "neighbourhood", "add", "--name", name, "--slug", slug,
                      "--postcodes", "1040")
    assert_clean_failure(result, needle)
    assert buurtbot(workdir, sqlite_url, "neighbourhood", "list").stdout == ""


def test_commands_on_a_database_never_upgraded_say_what_to_do(workdir, sqlite_url):
    result = buurtbot(workdir, sqlite_url, "neighbourhood", "list")
    assert_clean_failure(result, "buurtbot db upgrade")


# ---- invites -----------------------------------------------------------------------------

def test_invite_prints_a_code(workdir, sqlite_url):
    upgraded(workdir, sqlite_url)
    buurtbot(workdir, sqlite_url, "neighbourhood", "add", "--name", "Etterbeek", "--slug", "etterbeek",
             "--postcodes", "1040,1050")
    result = buurtbot(workdir, sqlite_url, "invite", "--role", "volunteer", "--neighbourhood", "etterbeek")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1 and CODE.match(lines[0]), result.stdout
    other = buurtbot(workdir, sqlite_url, "invite", "--role", "coordinator", "--neighbourhood", "etterbeek")
    assert other.stdout.strip() != lines[0]  # one-time codes


def test_invite_prints_a_telegram_link_when_a_bot_is_configured(workdir, sqlite_url):
    upgraded(workdir, sqlite_url)
    buurtbot(workdir, sqlite_url, "neighbourhood", "add", "--name", "Etterbeek", "--slug", "etterbeek",
             "--postcodes", "1040,1050")
    result = buurtbot(workdir, sqlite_url, "invite", "--role", "volunteer", "--neighbourhood", "etterbeek",
                      TELEGRAM_BOT_TOKEN="123456:TEST-token", TELEGRAM_BOT_USERNAME="BuurtbotTestBot")
    assert result.returncode == 0, result.stderr
    code, link = result.stdout.splitlines()
    assert CODE.match(code)
    assert link == f"https://t.me/BuurtbotTestBot?start={code}"


def test_invite_for_an_unknown_slug_is_a_clear_error(workdir, sqlite_url):
    upgraded(workdir, sqlite_url)
    result = buurtbot(workdir, sqlite_url, "invite", "--role", "volunteer", "--neighbourhood", "nowhere")
    assert_clean_failure(result, "nowhere")
    assert result.stdout == ""


def test_invite_with_an_unknown_role_is_refused_by_the_parser(workdir, sqlite_url):
    result = buurtbot(workdir, sqlite_url, "invite", "--role", "king", "--neighbourhood", "etterbeek")
    assert_clean_failure(result, "--role")


# ---- PostgreSQL ----------------------------------------------------------------------------

def test_postgresql_upgrade_neighbourhood_and_invite(workdir, pg_url):
    before = revision_of(pg_url)
    assert before[0] is None
    upgraded(workdir, pg_url)
    assert revision_of(pg_url)[0] == before[1]
    added = buurtbot(workdir, pg_url, "neighbourhood", "add", "--name", "Etterbeek", "--slug", "etterbeek",
                     "--postcodes", "1040,1050", "--language", "fr", "--contact", "Fatima")
    assert added.returncode == 0, added.stderr
    assert_clean_failure(buurtbot(workdir, pg_url, "neighbourhood", "add", "--name", "E", "--slug", "etterbeek",
                                  "--postcodes", "1040"), "exists")
    # Too long for the column: a plain message, not a database traceback.
    assert_clean_failure(buurtbot(workdir, pg_url, "neighbourhood", "add", "--name", "N" * 200, "--slug", "long",
                                  "--postcodes", "1040"), "name")
    listed = buurtbot(workdir, pg_url, "neighbourhood", "list")
    assert listed.stdout.splitlines() == ["etterbeek\tEtterbeek\t1040,1050\tfr"]
    invite = buurtbot(workdir, pg_url, "invite", "--role", "coordinator", "--neighbourhood", "etterbeek")
    assert invite.returncode == 0 and CODE.match(invite.stdout.strip()), invite.stderr
    assert_clean_failure(buurtbot(workdir, pg_url, "invite", "--role", "volunteer", "--neighbourhood", "x"), "'x'")


# ---- run -------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_run_on_a_database_never_upgraded_says_to_upgrade(workdir, sqlite_url):
    result = buurtbot(workdir, sqlite_url, "run", "--port", str(free_port()), timeout=60,
                      TELEGRAM_BOT_TOKEN="123456:TEST-token")
    assert_clean_failure(result, "buurtbot db upgrade")


def serve_until_healthy(workdir: Path, database_url: str | None, command: str, log: Path) -> dict:
    """Start ``buurtbot <command>``, wait until /healthz answers 200, check the demo page, stop
    it. Returns the health report."""
    port = free_port()
    with log.open("wb") as out:
        proc = subprocess.Popen([buurtbot_script(), command, "--port", str(port)], cwd=workdir,
                                env=env_for(database_url), stdout=out, stderr=subprocess.STDOUT)
    try:
        health = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                if r.status_code == 200:
                    health = r.json()
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)  # waiting for start-up, not asserting
        assert health is not None, f"no healthy server (exit {proc.poll()}):\n{log.read_text(errors='replace')}"
        page = httpx.get(f"http://127.0.0.1:{port}/", timeout=5)
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        assert "<title>buurtbot demo" in page.text
    finally:
        stop(proc)
    output = log.read_text(errors="replace")
    assert "demo" in output
    assert "Traceback" not in output, output
    return health


def test_run_without_credentials_starts_the_demo_on_the_default_database(workdir):
    health = serve_until_healthy(workdir, None, "run", workdir.parent / "run.log")
    assert health["status"] == "ok"
    assert health["database"] == "ok"
    assert health["scheduler"]["running"] is True
    assert "demo" in health["channels"]
    # The demo migrated and seeded its own database: the default file in the working directory.
    default = f"sqlite:///{workdir / 'buurtbot.db'}"
    assert revision_of(default)[0] == revision_of(default)[1]


def test_demo_runs_on_a_database_of_its_own(workdir, sqlite_url):
    health = serve_until_healthy(workdir, sqlite_url, "demo", workdir.parent / "demo.log")
    assert "demo" in health["channels"]
    # A clean stop (Ctrl-C) emptied the WAL: nothing written, erased or not, is left beside the file.
    wal = Path(sqlite_url.removeprefix("sqlite:///") + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0
    assert revision_of(sqlite_url)[0] == revision_of(sqlite_url)[1]
    # and again on the database it seeded itself: that is still only the demo's
    serve_until_healthy(workdir, sqlite_url, "demo", workdir.parent / "demo-again.log")


def neighbourhoods(url: str) -> list[str]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return sorted(conn.scalars(text("SELECT slug FROM neighbourhoods")))
    finally:
        engine.dispose()


@pytest.mark.parametrize("mistyped", [
    {},  # nothing set
    {"TELEGRAM_BOT_TOKN": "123456:TEST-token"},  # the variable's name mistyped
    {"TWILIO_ACCOUNT_SID": "AC" + "0" * 32, "TWILIO_AUTH_TOKEN": "x" * 32},  # no sender number
    {"TWILIO_ACCOUNT_SID": "AC" + "0" * 32, "TWILIO_WHATSAPP_FROM": "whatsapp:+3225550100"},  # no auth token
])
def test_run_without_a_channel_never_turns_a_real_database_into_the_demo(workdir, sqlite_url, mistyped):
    upgraded(workdir, sqlite_url)
    assert buurtbot(workdir, sqlite_url, "neighbourhood", "add", "--name", "Etterbeek", "--slug", "etterbeek",
                    "--postcodes", "1040").returncode == 0
    result = buurtbot(workdir, sqlite_url, "run", "--port", str(free_port()), timeout=60, **mistyped)
    assert_clean_failure(result, *CHANNEL_VARIABLES)
    assert "http://" not in result.stdout  # no server was started
    assert neighbourhoods(sqlite_url) == ["etterbeek"]  # nothing seeded


def test_run_without_a_channel_leaves_a_named_empty_database_alone(workdir, sqlite_url):
    result = buurtbot(workdir, sqlite_url, "run", "--port", str(free_port()), timeout=60)
    assert_clean_failure(result, *CHANNEL_VARIABLES)
    assert revision_of(sqlite_url)[0] is None  # not upgraded either


def test_run_without_a_channel_says_so_in_the_operators_language(workdir, sqlite_url):
    result = buurtbot(workdir, sqlite_url, "run", timeout=60, LANGUAGE="", LANG="nl_BE.UTF-8")
    assert_clean_failure(result, *CHANNEL_VARIABLES)
    from handlers.i18n import catalog
    assert "DATABASE_URL" in result.stderr and result.stderr.strip() != "buurtbot:"
    dutch = catalog("nl").gettext(_NO_CHANNEL)
    assert dutch != _NO_CHANNEL and dutch in result.stderr


def test_run_without_a_channel_on_postgresql_refuses_and_changes_nothing(workdir, pg_url):
    result = buurtbot(workdir, pg_url, "run", "--port", str(free_port()), timeout=60)
    assert_clean_failure(result, *CHANNEL_VARIABLES)
    assert revision_of(pg_url)[0] is None


def test_run_on_the_default_database_with_real_neighbourhoods_refuses_the_demo(workdir):
    upgraded(workdir, None)
    assert buurtbot(workdir, None, "neighbourhood", "add", "--name", "Etterbeek", "--slug", "etterbeek",
                    "--postcodes", "1040").returncode == 0
    result = buurtbot(workdir, None, "run", "--port", str(free_port()), timeout=60)
    assert_clean_failure(result, "real neighbourhoods", "buurtbot demo")
    assert neighbourhoods(f"sqlite:///{workdir / 'buurtbot.db'}") == ["etterbeek"]


def test_demo_refuses_a_database_with_a_real_neighbourhood(workdir, sqlite_url):
    upgraded(workdir, sqlite_url)
    assert buurtbot(workdir, sqlite_url, "neighbourhood", "add", "--name", "Etterbeek", "--slug", "etterbeek",
                    "--postcodes", "1040").returncode == 0
    result = buurtbot(workdir, sqlite_url, "demo", "--port", str(free_port()), timeout=60)
    assert_clean_failure(result, "real neighbourhoods", "buurtbot demo", "TELEGRAM_BOT_TOKEN")
    assert neighbourhoods(sqlite_url) == ["etterbeek"]


def test_demo_refuses_a_database_with_people_on_a_real_channel(workdir, sqlite_url):
    """Only the demo's neighbourhood, but someone on Telegram in it: real data all the same."""
    from bot.demo import seed
    from models import ChannelIdentity, Person
    from models.db import make_sessionmaker, transaction

    upgraded(workdir, sqlite_url)
    engine = make_engine(sqlite_url)
    try:
        with transaction(make_sessionmaker(engine)) as session:
            nb = seed(session)
            person = Person(neighbourhood_id=nb.id, first_name="Maria", language="nl")
            session.add(person)
            session.flush()
            session.add(ChannelIdentity(channel="telegram", address="5001", person_id=person.id))
    finally:
        engine.dispose()
    result = buurtbot(workdir, sqlite_url, "demo", "--port", str(free_port()), timeout=60)
    assert_clean_failure(result, "real neighbourhoods", "buurtbot demo")


_NO_CHANNEL = ("No chat channel is configured, so there is nothing to run on the database that DATABASE_URL names. "
               "Set TELEGRAM_BOT_TOKEN, or TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN with TWILIO_WHATSAPP_FROM or "
               "TWILIO_SMS_FROM (check them for typos). For the local demo, run `buurtbot demo` without "
               "DATABASE_URL.")
