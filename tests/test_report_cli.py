"""`buurtbot report --neighbourhood SLUG --from DATE --to DATE [--csv]`, run as the installed
command from an empty directory: text and CSV, small groups masked, another neighbourhood's
figures never mixed in, bad arguments refused without a traceback."""
from __future__ import annotations

import csv
import io
from datetime import date

from sqlalchemy import select

from models import Neighbourhood
from models.network import add_neighbourhood
from tests.test_checkin_cli import sessions_for
from tests.test_cli import assert_clean_failure, buurtbot, sqlite_url, upgraded, workdir  # noqa: F401
from tests.test_digest import local, request

LAST_DAY = date(2026, 11, 22)
PERIOD = ("--from", "2026-11-16", "--to", "2026-11-22")


def setup(workdir, url) -> None:
    upgraded(workdir, url)
    with sessions_for(url)() as s, s.begin():
        nb = add_neighbourhood(s, "Etterbeek", "etterbeek", ["1040"])
        other = add_neighbourhood(s, "Elsene", "elsene", ["1050"])
        for day in range(16, 20):
            request(s, nb, "shopping", at=local(date(2026, 11, day), 10), claim_after=20)
        request(s, nb, "lift", at=local(LAST_DAY, 23, 30), claim_after=40)  # 23:30 on the last day counts
        request(s, nb, "lift", at=local(date(2026, 11, 23), 0, 0))  # the next day does not
        for _ in range(7):
            request(s, other, "repair", at=local(date(2026, 11, 17), 10))
        assert s.scalar(select(Neighbourhood.id).where(Neighbourhood.slug == "etterbeek")) == nb.id


def test_report_as_text_and_as_csv(workdir, sqlite_url):
    setup(workdir, sqlite_url)
    text = buurtbot(workdir, sqlite_url, "report", "--neighbourhood", "etterbeek", *PERIOD)
    assert text.returncode == 0, text.stderr
    out = text.stdout
    assert "Requests: 5" in out and "Shopping & errands: < 5" in out and "A ride (lift): < 5" in out
    assert "Claimed by a volunteer: 100 %" in out and "Median time until a volunteer claimed it: 20 min" in out
    assert "A small repair" not in out  # Elsene's requests are Elsene's
    assert 'shown as "< 5"' in out
    dutch = buurtbot(workdir, sqlite_url, "report", "--neighbourhood", "etterbeek", *PERIOD, "--language", "nl")
    assert dutch.returncode == 0 and "Aanvragen: 5" in dutch.stdout
    table = buurtbot(workdir, sqlite_url, "report", "--neighbourhood", "etterbeek", *PERIOD, "--csv")
    assert table.returncode == 0, table.stderr
    got = list(csv.reader(io.StringIO(table.stdout)))
    assert got[0] == ["metric", "group", "value"]
    values = {(m, g): v for m, g, v in got[1:]}
    assert values["requests", "all"] == "5" and values["requests", "shopping"] == "< 5"
    assert values["requests", "lift"] == "< 5" and ("requests", "repair") not in values
    assert values["requests_claimed_percent", "all"] == "100" and values["median_minutes_to_claim", "all"] == "20"
    assert values["concerns_raised", "all"] == "0" and values["checkins_sent", "all"] == "0"
    elsene = buurtbot(workdir, sqlite_url, "report", "--neighbourhood", "elsene", *PERIOD, "--csv")
    values = {(m, g): v for m, g, v in list(csv.reader(io.StringIO(elsene.stdout)))[1:]}
    assert values["requests", "all"] == "7" and values["requests_claimed_percent", "all"] == "0"
    assert values["median_minutes_to_claim", "all"] == "" and ("requests", "shopping") not in values


def test_bad_arguments_are_refused_without_a_traceback(workdir, sqlite_url):
    setup(workdir, sqlite_url)
    assert_clean_failure(buurtbot(workdir, sqlite_url, "report", "--neighbourhood", "nowhere", *PERIOD),
                         "no neighbourhood 'nowhere'")
    assert_clean_failure(buurtbot(workdir, sqlite_url, "report", "--neighbourhood", "etterbeek",
                                  "--from", "16/11/2026", "--to", "2026-11-22"), "not a date")
    assert_clean_failure(buurtbot(workdir, sqlite_url, "report", "--neighbourhood", "etterbeek",
                                  "--from", "2026-11-22", "--to", "2026-11-16"), "before --from")


def test_days_outside_2000_to_2100_are_refused_without_a_traceback(workdir, sqlite_url):
    """9999-12-31 has no next day and 0001-01-01 no UTC instant before it: both once ended in an
    OverflowError; a sane range is asked for instead."""
    setup(workdir, sqlite_url)
    for start, end in (("2026-01-01", "9999-12-31"), ("0001-01-01", "2026-01-01"), ("1999-12-31", "2026-01-01"),
                       ("2026-01-01", "2101-01-01")):
        assert_clean_failure(buurtbot(workdir, sqlite_url, "report", "--neighbourhood", "etterbeek",
                                      "--from", start, "--to", end), "outside 2000-01-01 .. 2100-12-31")
    edges = buurtbot(workdir, sqlite_url, "report", "--neighbourhood", "etterbeek", "--from", "2000-01-01",
                     "--to", "2100-12-31", "--csv")
    assert edges.returncode == 0, edges.stderr
    assert "requests,all,6" in edges.stdout  # the whole range: the 23rd's request too
