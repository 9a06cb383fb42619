"""`buurtbot people import|export`, run as the installed command from an empty directory
(tests/test_cli.py's way), and the database it leaves behind."""
from __future__ import annotations

import subprocess
from pathlib import Path

from sqlalchemy import func, insert, select, text

from models import ChannelIdentity, Outbox, Person
from models.db import make_engine
from models.schedules import CheckinPlan
from tests.processes import stop
from tests.test_checkin_cli import sessions_for, setup
from tests.test_cli import (assert_clean_failure, buurtbot, buurtbot_script, env_for, pg_url,  # noqa: F401
                            sqlite_url, workdir)
from tests.test_e2e_checkin import wait_for

SAMPLE = Path(__file__).resolve().parent.parent / "docs" / "people" / "telefooncirkel-sample.csv"
HEADER = "first_name,phone,language,channel,consent,street\n"


def write(workdir: Path, name: str, text: str) -> str:
    (workdir / name).write_text(text, encoding="utf-8")
    return name


def people_import(workdir, url, name: str, *extra: str):
    return buurtbot(workdir, url, "people", "import", name, "--neighbourhood", "etterbeek", *extra)


def table(url) -> list[tuple]:
    with sessions_for(url)() as s:
        return [(p.id, p.first_name, p.phone, p.language, p.consent_how, p.consent_at, p.street,
                 sorted((i.channel, i.address) for i in p.identities))
                for p in s.scalars(select(Person).order_by(Person.id))]


def test_the_sample_list_imports_and_a_second_import_changes_nothing(workdir, sqlite_url):
    setup(workdir, sqlite_url)
    (workdir / "list.csv").write_bytes(SAMPLE.read_bytes())
    first = people_import(workdir, sqlite_url, "list.csv")
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == "imported 4 people into etterbeek: 4 added, 0 updated, 0 unchanged"
    after_first = table(sqlite_url)
    assert [(p[1], p[2], p[3], p[7]) for p in after_first] == [
        ("Maria", "+3225551234", "nl", [("voice", "+3225551234")]),
        ("Hélène", "+32470000101", "fr", [("sms", "+32470000101")]),
        ("Fatna", "+32470000102", "ar", [("whatsapp", "+32470000102")]),
        ("Jef", "+32470000103", "nl", [("whatsapp", "+32470000103")])]
    assert after_first[0][4] == "at the door, 2026-12-03, with Fatima" and after_first[0][5] is not None
    again = people_import(workdir, sqlite_url, "list.csv")
    assert again.returncode == 0, again.stderr
    assert "0 added, 0 updated, 4 unchanged" in again.stdout
    assert table(sqlite_url) == after_first


ANNA = "Anna,0470 12 34 56,nl,{},at the door 3/12,\n"


def test_a_number_that_sent_stop_listed_on_another_channel_is_said_to_stay_silent(workdir, sqlite_url):
    setup(workdir, sqlite_url)
    assert people_import(workdir, sqlite_url, write(workdir, "a.csv", HEADER + ANNA.format("sms"))).returncode == 0
    with sessions_for(sqlite_url)() as s, s.begin():  # Anna sent STOP by SMS
        s.scalar(select(ChannelIdentity)).opted_out_at = func.now()
    done = people_import(workdir, sqlite_url, write(workdir, "b.csv", HEADER + ANNA.format("whatsapp")))
    assert done.returncode == 0, done.stderr
    assert "1 number(s) sent STOP before" in done.stdout
    with sessions_for(sqlite_url)() as s:
        assert s.scalar(select(func.count()).select_from(ChannelIdentity)
                        .where(ChannelIdentity.opted_out_at.is_(None))) == 0


def test_bad_rows_are_listed_with_line_numbers_and_nothing_is_imported(workdir, sqlite_url):
    setup(workdir, sqlite_url)
    name = write(workdir, "bad.csv", HEADER + "\n".join([
        "Maria,02 555 12 34,nl,voice,at the door 3/12,",
        "Jef,0470 00 01 03,nl,whatsapp,,",
        "Els,not a number,nl,sms,at the door,",
        "Omar,0470 00 01 05,nl,pigeon,at the door,",
        "Ahmed,0470 00 01 06,xx,sms,at the door,",
        "Lies,+32470000107,nl,sms,at the door,",
        "Lisa,0470 00 01 07,nl,whatsapp,at the door,",
    ]) + "\n")
    result = people_import(workdir, sqlite_url, name)
    assert_clean_failure(result, "bad.csv: line 3: no consent", "bad.csv: line 4: not a phone number",
                         "bad.csv: line 5: channel 'pigeon'", "bad.csv: line 6: language 'xx'",
                         "bad.csv: line 8: the same phone as line 7", "nothing was imported")
    assert "line 2" not in result.stderr and "line 7:" not in result.stderr
    assert table(sqlite_url) == []  # not even Maria (line 2, fine on her own)
    assert_clean_failure(buurtbot(workdir, sqlite_url, "people", "import", "missing.csv", "--neighbourhood",
                                  "etterbeek"), "cannot read missing.csv")
    ok = write(workdir, "ok.csv", HEADER + "Maria,02 555 12 34,nl,voice,at the door 3/12,\n")
    assert_clean_failure(buurtbot(workdir, sqlite_url, "people", "import", ok, "--neighbourhood", "nowhere"),
                         "no neighbourhood with slug 'nowhere'")
    assert table(sqlite_url) == []


def test_a_dry_run_says_what_it_would_do_and_saves_nothing(workdir, sqlite_url):
    setup(workdir, sqlite_url)
    (workdir / "list.csv").write_bytes(SAMPLE.read_bytes())
    result = people_import(workdir, sqlite_url, "list.csv", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "4 would be added" in result.stdout and "nothing saved" in result.stdout
    assert table(sqlite_url) == []


def test_export_writes_the_same_columns_and_reads_back_unchanged(workdir, sqlite_url):
    setup(workdir, sqlite_url)
    (workdir / "list.csv").write_bytes(SAMPLE.read_bytes())
    assert people_import(workdir, sqlite_url, "list.csv").returncode == 0
    to_stdout = buurtbot(workdir, sqlite_url, "people", "export", "--neighbourhood", "etterbeek")
    assert to_stdout.returncode == 0, to_stdout.stderr
    lines = to_stdout.stdout.splitlines()
    assert lines[0] == HEADER.strip() and len(lines) == 5
    assert lines[2] == 'Hélène,+32470000101,fr,sms,"par téléphone, 2026-12-02, avec Fatima",Rue Général Leman 4'
    assert "exported 4 people of etterbeek" in to_stdout.stderr
    to_file = buurtbot(workdir, sqlite_url, "people", "export", "--neighbourhood", "etterbeek", "out.csv")
    assert to_file.returncode == 0, to_file.stderr
    out = workdir / "out.csv"
    assert out.read_text(encoding="utf-8").splitlines() == lines
    assert out.stat().st_mode & 0o077 == 0  # names and phones: for the operator only
    before = table(sqlite_url)
    again = people_import(workdir, sqlite_url, "out.csv")
    assert again.returncode == 0 and "0 added, 0 updated, 4 unchanged" in again.stdout
    assert table(sqlite_url) == before


def test_a_check_in_plan_for_an_imported_person_reaches_the_same_identity(workdir, sqlite_url):
    setup(workdir, sqlite_url)
    (workdir / "list.csv").write_bytes(SAMPLE.read_bytes())
    assert people_import(workdir, sqlite_url, "list.csv").returncode == 0
    before = table(sqlite_url)
    plans = [("+32 2 555 12 34", "voice", "Maria"), ("0470000102", "whatsapp", "Fatna")]
    for phone, channel, name in plans:
        result = buurtbot(workdir, sqlite_url, "checkin", "add", "--neighbourhood", "etterbeek", "--name", name,
                          "--phone", phone, "--channel", channel, "--days", "mon", "--time", "10:00",
                          "--consent", "asked again by phone")
        assert result.returncode == 0, result.stderr
    assert table(sqlite_url) == before  # nobody new, no identity new, name and list consent kept
    with sessions_for(sqlite_url)() as s:
        assert s.scalar(select(func.count(Person.id))) == 4
        for phone, channel, name in plans:
            plan = s.scalars(select(CheckinPlan).join(Person, CheckinPlan.person_id == Person.id)
                             .where(Person.first_name == name)).one()
            identity = s.scalars(select(ChannelIdentity).where(ChannelIdentity.person_id == plan.person_id)).one()
            assert (plan.channel, identity.channel) == (channel, channel)
        due = max(s.scalars(select(CheckinPlan.next_due_at)))
    # When the plans fall due, each hello goes to the identity the list made.
    tick = buurtbot(workdir, sqlite_url, "tick", "--at", due.isoformat())
    assert tick.returncode == 0, tick.stderr
    with sessions_for(sqlite_url)() as s:
        hellos = s.scalars(select(Outbox).where(Outbox.purpose == "checkin").order_by(Outbox.address)).all()
        made = {(i.channel, i.address): i.id for i in s.scalars(select(ChannelIdentity))}
        assert [(h.channel, h.address) for h in hellos] == [("voice", "+3225551234"), ("whatsapp", "+32470000102")]
        assert all(h.identity_id == made[(h.channel, h.address)] for h in hellos)


def test_someone_writing_from_their_number_during_the_import_leaves_nothing_half_done(workdir, pg_url):
    """PostgreSQL, separate processes: Fatna's first WhatsApp message (a newcomer's identity, not yet
    committed) and the import of a list with her number. The import waits, then stops cleanly with
    nothing saved; run again, it finds her identity and makes her the listed person."""
    setup(workdir, pg_url)
    (workdir / "list.csv").write_bytes(SAMPLE.read_bytes())
    engine = make_engine(pg_url)
    try:
        with engine.connect() as chat:
            message = chat.begin()
            chat.execute(insert(ChannelIdentity).values(channel="whatsapp", address="+32470000102", language="ar",
                                                        active=True))
            run = subprocess.Popen([buurtbot_script(), "people", "import", "list.csv", "--neighbourhood",
                                    "etterbeek"], cwd=workdir, env=env_for(pg_url), stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
            try:
                def import_waits() -> bool:  # on the unique (channel, address) of Fatna's identity
                    assert run.poll() is None, run.communicate()
                    with engine.connect() as admin:  # a new snapshot of the statistics each time
                        return bool(admin.execute(text(
                            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                            "AND datname = current_database()")).scalar())

                wait_for(import_waits, "the import to wait for the message's transaction")
                message.commit()
                out, err = run.communicate(timeout=120)
            finally:
                if run.poll() is None:
                    stop(run)
        assert run.returncode == 2 and "Traceback" not in out + err, out + err
        assert "wrote to the bot during the import: nothing was imported" in err
        assert table(pg_url) == []
        again = people_import(workdir, pg_url, "list.csv")
        assert again.returncode == 0 and "4 added" in again.stdout, again.stdout + again.stderr
        with sessions_for(pg_url)() as s:
            fatna = s.scalars(select(Person).where(Person.first_name == "Fatna")).one()
            assert [(i.channel, i.address) for i in fatna.identities] == [("whatsapp", "+32470000102")]
    finally:
        engine.dispose()
