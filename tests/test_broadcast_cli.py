"""`buurtbot broadcast send|status`, run as the installed command from an empty directory
(tests/test_cli.py's way): the preview first, a question unless --yes, the id; `tick` then
materialises it and `status` counts it."""
from __future__ import annotations

import json
import subprocess

from sqlalchemy import select

from models import ChannelIdentity, Neighbourhood, Outbox, Person
from models.broadcasts import Broadcast
from tests.test_checkin_cli import sessions_for, setup
from tests.test_cli import assert_clean_failure, buurtbot, buurtbot_script, env_for, sqlite_url, workdir  # noqa: F401

SEND = ("broadcast", "send", "--neighbourhood", "etterbeek", "--text", "nl=Buurtfeest zaterdag om 14 uur",
        "--text", "fr=Fête de quartier samedi à 14 h")


def neighbours(url) -> None:
    """Jan (nl, Telegram), Amélie (fr, SMS), Piet (paused), and Omar in another neighbourhood."""
    with sessions_for(url)() as s, s.begin():
        nb = s.scalar(select(Neighbourhood).where(Neighbourhood.slug == "etterbeek"))
        other = Neighbourhood(name="Elders", slug="elders", postcodes=["1050"])
        s.add(other)
        s.flush()
        for name, language, channel, address, where, flags in (
                ("Jan", "nl", "telegram", "1001", nb, {}), ("Amélie", "fr", "sms", "+32470000010", nb, {}),
                ("Piet", "nl", "telegram", "1002", nb, {"paused": True}), ("Omar", "fr", "sms", "+32470000011",
                                                                           other, {})):
            p = Person(neighbourhood_id=where.id, first_name=name, language=language, is_resident=True, **flags)
            s.add(p)
            s.flush()
            s.add(ChannelIdentity(channel=channel, address=address, person_id=p.id, language=language))


def send(workdir, url, *args, answer: str | None = None):
    return subprocess.run([buurtbot_script(), *SEND, *args], cwd=workdir, env=env_for(url), input=answer,
                          capture_output=True, text=True, timeout=120)


def test_send_with_yes_prints_the_preview_and_the_id_then_tick_and_status_count_it(workdir, sqlite_url):
    setup(workdir, sqlite_url)
    neighbours(sqlite_url)
    result = send(workdir, sqlite_url, "--yes")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "This message will go to 2 people." in out and "Telegram 1" in out and "SMS 1" in out
    assert "Not sent to 1 person: paused 1" in out and "SMS: 1 message, about EUR 0.09." in out
    assert out.strip().splitlines()[-1] == "broadcast 1 sending"
    ticked = buurtbot(workdir, sqlite_url, "tick")
    assert ticked.returncode == 0, ticked.stderr
    assert json.loads(ticked.stdout.strip().splitlines()[-1])["sweeps"]["broadcasts"] == 3
    status = buurtbot(workdir, sqlite_url, "broadcast", "status", "1")
    assert status.returncode == 0, status.stderr
    assert status.stdout.splitlines()[:3] == ["broadcast 1: sending", "Sent: 0 of 2 (delivered: 0)", "Still to go: 2"]
    with sessions_for(sqlite_url)() as s:
        texts = {r.address: r.text for r in s.scalars(select(Outbox).where(Outbox.purpose == "broadcast"))}
    assert texts == {"1001": "Een bericht voor Etterbeek:\n\nBuurtfeest zaterdag om 14 uur",
                     "+32470000010": "Un message pour Etterbeek :\n\nFête de quartier samedi à 14 h"}
    for secret in ("Jan", "Amélie", "1001", "+32470000010"):
        assert secret not in out + status.stdout + ticked.stderr


def test_without_yes_it_asks_and_no_leaves_nothing(workdir, sqlite_url):
    setup(workdir, sqlite_url)
    neighbours(sqlite_url)
    refused = send(workdir, sqlite_url, answer="n\n")
    assert refused.returncode == 1 and "Send it? [y/N]" in refused.stdout and "Not sent." in refused.stdout
    with sessions_for(sqlite_url)() as s:
        assert s.scalar(select(Broadcast)) is None
    agreed = send(workdir, sqlite_url, "--at", "2099-12-09T14:00", answer="y\n")
    assert agreed.returncode == 0, agreed.stderr
    assert agreed.stdout.strip().splitlines()[-1].endswith("scheduled")
    assert "It goes at 2099-12-09 14:00 Brussels time (CET)." in agreed.stdout  # as typed, not in UTC
    with sessions_for(sqlite_url)() as s:
        (bc,) = s.scalars(select(Broadcast)).all()
        assert bc.status == "scheduled" and bc.source == "cli" and bc.author_id is None
        assert bc.send_at.isoformat().startswith("2099-12-09T13:00")  # 14:00 in Brussels (winter)


def test_bad_input_is_refused_plainly(workdir, sqlite_url):
    setup(workdir, sqlite_url)
    assert_clean_failure(buurtbot(workdir, sqlite_url, "broadcast", "send", "--neighbourhood", "etterbeek",
                                  "--text", "Hallo", "--yes"), "LANG=TEXT")
    assert_clean_failure(buurtbot(workdir, sqlite_url, "broadcast", "send", "--neighbourhood", "nowhere",
                                  "--text", "nl=Hallo", "--yes"), "no neighbourhood")
    assert_clean_failure(buurtbot(workdir, sqlite_url, "broadcast", "send", "--neighbourhood", "etterbeek",
                                  "--text", "nl=  ", "--yes"), "empty")
    assert_clean_failure(buurtbot(workdir, sqlite_url, "broadcast", "send", "--neighbourhood", "etterbeek",
                                  "--text", "nl=Hallo", "--at", "2001-01-01T10:00", "--yes"), "past")
    assert_clean_failure(buurtbot(workdir, sqlite_url, "broadcast", "status", "7"), "no broadcast 7")
    assert_clean_failure(buurtbot(workdir, sqlite_url, "broadcast", "cancel", "7"), "no broadcast 7")


def test_cancel_stops_a_planned_letter_from_the_command_line(workdir, sqlite_url):
    """A monthly letter cron'd with --at is stoppable: it never goes, `status` says so, and a
    second cancel changes nothing."""
    setup(workdir, sqlite_url)
    neighbours(sqlite_url)
    planned = send(workdir, sqlite_url, "--at", "2099-07-09T14:00", "--yes")
    assert planned.returncode == 0, planned.stderr
    assert "It goes at 2099-07-09 14:00 Brussels time (CEST)." in planned.stdout
    cancelled = buurtbot(workdir, sqlite_url, "broadcast", "cancel", "1")
    assert cancelled.returncode == 0, cancelled.stderr
    assert cancelled.stdout.strip() == "broadcast 1 cancelled; not yet sent, withdrawn: 0"
    assert buurtbot(workdir, sqlite_url, "tick", "--at", "2099-07-09T15:00").returncode == 0
    again = buurtbot(workdir, sqlite_url, "broadcast", "cancel", "1")
    assert again.returncode == 0 and again.stdout.strip() == "broadcast 1: cancelled, nothing changed"
    status = buurtbot(workdir, sqlite_url, "broadcast", "status", "1")
    assert status.stdout.splitlines()[0] == "broadcast 1: cancelled"
    with sessions_for(sqlite_url)() as s:
        assert s.scalar(select(Outbox).where(Outbox.purpose == "broadcast")) is None
        assert s.get(Broadcast, 1).status == "cancelled"


def test_cancel_while_sending_withdraws_what_has_not_gone(workdir, sqlite_url):
    setup(workdir, sqlite_url)
    neighbours(sqlite_url)
    assert send(workdir, sqlite_url, "--yes").returncode == 0
    assert buurtbot(workdir, sqlite_url, "tick").returncode == 0  # written, not sent (no sender runs)
    cancelled = buurtbot(workdir, sqlite_url, "broadcast", "cancel", "1")
    assert cancelled.stdout.strip() == "broadcast 1 cancelled; not yet sent, withdrawn: 2", cancelled.stderr
    with sessions_for(sqlite_url)() as s:
        assert {r.status for r in s.scalars(select(Outbox).where(Outbox.purpose == "broadcast"))} == {"cancelled"}
