"""The social map's directory: opening hours in Brussels time (DST-safe, fixed moments), the
file import (YAML and CSV, re-import by key, bad files import nothing) through the functions and
through `buurtbot directory import` run as the installed command from an empty directory."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select

from handlers.directory_file import DirectoryError, checked, import_services, read_entries, shown_phone
from handlers.opening_hours import HoursError, next_opening, open_until, read_mapping, read_text
from models import Neighbourhood
from models.base import TZ
from models.directory import Service, service_name
from models.network import add_neighbourhood
from tests.test_cli import assert_clean_failure, buurtbot, sqlite_url, upgraded, workdir  # noqa: F401
from tests.test_checkin_cli import sessions_for

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "docs" / "directory" / "brussels-sample.yaml"
DATA = Path(__file__).parent / "testdata" / "directory"
DESK = {"mon": ["09:00-12:00", "13:30-16:00"], "sat": ["10:00-12:00"]}


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


# ---- opening hours ----------------------------------------------------------------------------

@pytest.mark.parametrize("now, until", [
    # Monday 23 March 2026, winter time (UTC+1): 08:30 UTC is 09:30 in Brussels -> open until 12:00 local.
    (utc(2026, 3, 23, 8, 30), datetime(2026, 3, 23, 12, 0, tzinfo=TZ)),
    # Monday 30 March 2026, summer time (UTC+2, since Sunday 29 March): 07:30 UTC is 09:30 -> open.
    (utc(2026, 3, 30, 7, 30), datetime(2026, 3, 30, 12, 0, tzinfo=TZ)),
    # The same 07:30 UTC in winter is 08:30 in Brussels: not open yet.
    (utc(2026, 3, 23, 7, 30), None),
    # 12:00 sharp closes; the afternoon opens at 13:30.
    (utc(2026, 3, 30, 10, 0), None),
    (utc(2026, 3, 30, 11, 45), datetime(2026, 3, 30, 16, 0, tzinfo=TZ)),
    # Monday 26 October 2026, winter time again (since Sunday 25 October): 08:00 UTC is 09:00 -> open.
    (utc(2026, 10, 26, 8, 0), datetime(2026, 10, 26, 12, 0, tzinfo=TZ)),
    (utc(2026, 10, 19, 7, 0), datetime(2026, 10, 19, 12, 0, tzinfo=TZ)),  # summer: 07:00 UTC is 09:00
    (utc(2026, 3, 24, 8, 30), None),  # Tuesday: not a day it opens
])
def test_open_now_in_brussels_time_whatever_the_season(now, until):
    assert open_until(DESK, now) == until


def test_the_next_opening_is_found_across_days_and_the_clock_change():
    # Saturday 28 March 2026 13:00 UTC (14:00 local, after the Saturday desk): Monday 30 March 09:00 summer time.
    opens = next_opening(DESK, utc(2026, 3, 28, 13, 0))
    assert opens == datetime(2026, 3, 30, 9, 0, tzinfo=TZ) and opens.utcoffset().total_seconds() == 7200
    assert next_opening(DESK, utc(2026, 3, 30, 10, 30)) == datetime(2026, 3, 30, 13, 30, tzinfo=TZ)
    assert next_opening({}, utc(2026, 3, 30, 10, 30)) is None


def test_a_day_open_until_midnight_and_a_night_the_clocks_go_forward():
    always = read_mapping({"mon-sun": ["00:00-24:00"]})
    assert set(always) == {"mon", "tue", "wed", "thu", "fri", "sat", "sun"}
    # Sunday 29 March 2026, 01:30 UTC is 03:30 summer time (02:00-03:00 never happened): open until midnight.
    assert open_until(always, utc(2026, 3, 29, 1, 30)) == datetime(2026, 3, 30, 0, 0, tzinfo=TZ)


def test_hours_are_read_from_csv_text_and_yaml_mappings_alike():
    text = read_text("mon-fri 09:00-12:00 13:30-16:00; sat 10:00-12:00")
    assert text["wed"] == ["09:00-12:00", "13:30-16:00"] and text["sat"] == ["10:00-12:00"] and "sun" not in text
    assert read_mapping({"mon": "9:00-12:00, 13:30-16:00"}) == {"mon": ["09:00-12:00", "13:30-16:00"]}
    for bad in ("mon 12:00-09:00", "maandag 09:00-12:00", "mon 9h-12h", "mon", "fri-mon 09:00-12:00",
                "mon 09:00-25:00"):
        with pytest.raises(HoursError):
            read_text(bad)


# ---- reading and checking files -----------------------------------------------------------------

def test_the_sample_of_real_brussels_services_reads_and_checks():
    entries = checked(read_entries(SAMPLE))
    keys = {e["key"] for e in entries}
    categories = {e["category"] for e in entries}
    assert {"ocmw-brussel", "caw-brussel", "taxibus"} <= keys
    assert {"welfare", "social_work", "health_insurance", "health_centre", "transport", "legal_aid",
            "carers"} <= categories
    assert all(e["name_nl"] and e["name_fr"] for e in entries)
    assert next(e for e in entries if e["key"] == "ocmw-schaarbeek")["phone"] == "+3224355090"


def test_a_bad_file_names_every_bad_entry_with_its_position(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("""
- {key: ok-one, name_nl: Goed, category: welfare}
- {key: Bad Key, name_nl: X, category: welfare}
- {key: two, name_nl: Y, category: bakery}
- {key: three, name_nl: Z, category: transport, hours: {mon: ["12:00-09:00"]}}
- {key: four, name_nl: Q, category: transport, phone: "call us"}
- {key: ok-one, name_nl: Again, category: welfare}
- just text
""", encoding="utf-8")
    with pytest.raises(DirectoryError) as err:
        checked(read_entries(bad))
    problems = err.value.problems
    assert [p.split(":")[0] for p in problems] == ["entry 2", "entry 3", "entry 4", "entry 5", "entry 6", "entry 7"]
    assert "category must be one of" in problems[1] and "hours" in problems[2] and "phone" in problems[3]
    assert "already used by entry 1" in problems[4]


def test_a_list_mapping_or_yes_no_where_text_belongs_is_refused_with_its_position(tmp_path):
    """YAML turns `[x]`, `{a: b}` and `yes` into a list, a mapping and True: never stored as "['x']"."""
    bad = tmp_path / "types.yaml"
    bad.write_text("""
- {key: fine, name_nl: Goed, category: welfare, phone: "02 508 11 11"}
- {key: listed, name_nl: [Wijkhuis], category: welfare}
- {key: mapped, name_nl: Huis, category: welfare, address: {street: Kerkstraat}}
- {key: yes-no, name_nl: Huis, name_fr: yes, category: welfare}
""", encoding="utf-8")
    with pytest.raises(DirectoryError) as err:
        checked(read_entries(bad))
    assert err.value.problems == ["entry 2: name_nl must be text, not a list",
                                  "entry 3: address must be text, not a mapping",
                                  "entry 4: name_fr must be text, not yes/no"]


def test_one_rule_picks_a_services_name_for_the_chat_and_the_coordinators_list():
    both, only_nl = Service(name_nl="Wijkhuis", name_fr="Maison de quartier"), Service(name_nl="Wijkhuis", name_fr="")
    assert [service_name(both, lang, default) for lang, default in
            [("nl", "fr"), ("fr", "nl"), ("ar", "fr"), ("ar", "nl"), ("en", "fr")]] == \
        ["Wijkhuis", "Maison de quartier", "Maison de quartier", "Wijkhuis", "Maison de quartier"]
    assert service_name(only_nl, "fr") == "Wijkhuis"  # an empty French name falls back to the Dutch one


def test_csv_rows_are_reported_by_their_line(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("key,name_nl,category,access\nfine,Fine,welfare,walk_in\nbroken,Broken,welfare,sometimes\n",
                   encoding="utf-8")
    with pytest.raises(DirectoryError) as err:
        checked(read_entries(bad))
    assert err.value.problems == ["line 3: access must be one of walk_in, appointment, both"]
    (tmp_path / "cols.csv").write_text("key,name,category\n", encoding="utf-8")
    with pytest.raises(DirectoryError, match="unknown column"):
        read_entries(tmp_path / "cols.csv")
    (tmp_path / "x.txt").write_text("key: x", encoding="utf-8")
    with pytest.raises(DirectoryError, match=r"\.yaml, \.yml or \.csv"):
        read_entries(tmp_path / "x.txt")


def test_yaml_and_csv_import_and_a_second_import_updates_by_key(sessions):
    with sessions() as s, s.begin():
        nb = add_neighbourhood(s, "Etterbeek", "etterbeek", ["1040"])
        assert import_services(s, nb.id, checked(read_entries(DATA / "demo.yaml"))) == (3, 0)
        assert import_services(s, nb.id, checked(read_entries(DATA / "demo.csv"))) == (2, 0)
        ldc = s.scalar(select(Service).where(Service.key == "ldc-demo"))
        assert ldc.hours == {d: ["09:00-12:00", "13:30-16:00"] for d in ("mon", "tue", "wed", "thu", "fri")} | {
            "sat": ["10:00-12:00"]}
        assert ldc.languages == ["nl", "fr"] and ldc.phone == "+3225550404" and ldc.access == "walk_in"
        assert shown_phone(ldc.phone) == "02 555 04 04"
        mutualiteit = s.scalar(select(Service).where(Service.key == "mutualiteit"))
        assert mutualiteit.phone is None and mutualiteit.hours == {} and mutualiteit.languages == ["nl", "fr"]
        entries = checked(read_entries(DATA / "demo.yaml"))
        entries[0]["phone"] = "+3225559999"
        assert import_services(s, nb.id, entries) == (0, 3)
        assert s.scalar(select(func.count()).select_from(Service)) == 5
        assert s.scalar(select(Service.phone).where(Service.key == "mantelzorgpunt")) == "+3225559999"


# ---- the command ----------------------------------------------------------------------------------

def _services(url) -> dict[str, Service]:
    with sessions_for(url)() as s:
        return {sv.key: sv for sv in s.scalars(select(Service))}


def test_directory_import_command_imports_re_imports_and_refuses_a_bad_file(workdir, sqlite_url, tmp_path):
    upgraded(workdir, sqlite_url)
    assert buurtbot(workdir, sqlite_url, "neighbourhood", "add", "--name", "Etterbeek", "--slug", "etterbeek",
                    "--postcodes", "1040").returncode == 0
    first = buurtbot(workdir, sqlite_url, "directory", "import", str(SAMPLE), "--neighbourhood", "etterbeek")
    assert first.returncode == 0, first.stderr
    count = len(_services(sqlite_url))
    assert f"etterbeek: {count} services added, 0 updated" in first.stdout and count >= 10
    again = buurtbot(workdir, sqlite_url, "directory", "import", str(SAMPLE), "--neighbourhood", "etterbeek")
    assert f"0 services added, {count} updated" in again.stdout and len(_services(sqlite_url)) == count

    csv_file = tmp_path / "more.csv"
    csv_file.write_text((DATA / "demo.csv").read_text(encoding="utf-8"), encoding="utf-8")
    assert buurtbot(workdir, sqlite_url, "directory", "import", str(csv_file), "--neighbourhood",
                    "etterbeek").returncode == 0
    assert len(_services(sqlite_url)) == count + 2

    # One good new entry and one bad one: nothing at all is imported, and the bad one is named.
    bad = tmp_path / "bad.yaml"
    bad.write_text("- {key: new-one, name_nl: Nieuw, category: food}\n- {key: x, name_nl: Y, category: nope}\n",
                   encoding="utf-8")
    result = buurtbot(workdir, sqlite_url, "directory", "import", str(bad), "--neighbourhood", "etterbeek")
    assert_clean_failure(result, "nothing was imported", "entry 2: category must be one of")
    assert "new-one" not in _services(sqlite_url) and len(_services(sqlite_url)) == count + 2

    listed = buurtbot(workdir, sqlite_url, "directory", "list", "--neighbourhood", "etterbeek")
    assert "ldc-demo\tservice_centre\tLDC De Buurt\tnl,fr\t02 555 04 04\twalk_in" in listed.stdout
    unknown = buurtbot(workdir, sqlite_url, "directory", "import", str(SAMPLE), "--neighbourhood", "nowhere")
    assert_clean_failure(unknown, "no neighbourhood with slug 'nowhere'")
    with sessions_for(sqlite_url)() as s:
        assert s.scalar(select(func.count()).select_from(Neighbourhood)) == 1
