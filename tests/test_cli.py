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

from models.db import make_engine
from tests.conftest import fresh_pg_database
from tests.processes import stop
from models.schema import current_revision, head_revision

#: Everything from the caller's environment that would change what the command does.
SCRUB = {"DATABASE_URL", "TELEGRAM_BOT_TOKEN", "TELEGRAM_BOT_USERNAME", "HOST", "PORT", "LOG_LEVEL"}
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


def test_run_without_credentials_starts_the_demo(workdir, sqlite_url):
    port = free_port()
    log = workdir.parent / "run.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([buurtbot_script(), "run", "--port", str(port)], cwd=workdir,
                                env=env_for(sqlite_url), stdout=out, stderr=subprocess.STDOUT)
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
        assert health["status"] == "ok"
        assert health["database"] == "ok"
        assert health["scheduler"]["running"] is True
        assert "demo" in health["channels"]
        page = httpx.get(f"http://127.0.0.1:{port}/", timeout=5)
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        assert "<title>buurtbot demo" in page.text
        # The demo migrated and seeded its own database.
        assert revision_of(sqlite_url)[0] == revision_of(sqlite_url)[1]
    finally:
        stop(proc)
    output = log.read_text(errors="replace")
    assert "demo" in output
    assert "Traceback" not in output, output
