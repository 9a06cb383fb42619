"""The signal lexicons (locales/lexicon/<lang>/*.txt) against a corpus of what people write
(tests/testdata/signals_corpus.tsv, and one file per further language in tests/testdata/signals/):
ordinary requests, offers and small talk raise nothing, every emergency phrasing raises "emergency" --
typos and missing accents included."""
from __future__ import annotations

from pathlib import Path

import pytest

from handlers.keywords import languages_of, protective, signals

DATA = Path(__file__).parent / "testdata"
CORPORA = [DATA / "signals_corpus.tsv", *sorted((DATA / "signals").glob("*.tsv"))]


def corpus() -> list[tuple[str, str, set[str]]]:
    rows = []
    for line in (row for path in CORPORA for row in path.read_text(encoding="utf-8").splitlines()):
        if not line.strip() or line.startswith("#") or line.startswith("lang\t"):
            continue
        lang, text, expected = line.split("\t")
        rows.append((lang, text, set() if expected == "-" else set(expected.split(","))))
    return rows


ROWS = corpus()


def test_the_corpus_is_big_enough_in_every_language():
    quiet = [r for r in ROWS if not r[2]]
    urgent = [r for r in ROWS if "emergency" in r[2]]
    assert len(quiet) >= 150 and len(urgent) >= 60
    for lang in ("nl", "fr", "en"):
        assert sum(1 for r in quiet if r[0] == lang) >= 40, lang
        assert sum(1 for r in urgent if r[0] == lang) >= 20, lang
    assert {"suicide", "concern", "company", "professional"} <= set().union(*(r[2] for r in ROWS))


@pytest.mark.parametrize("lang,text,expected", ROWS, ids=[f"{r[0]}-{n}" for n, r in enumerate(ROWS)])
def test_signals_corpus(lang, text, expected):
    assert signals(text) == expected


@pytest.mark.parametrize("lang,text", [(r[0], r[1]) for r in ROWS if r[2] & {"emergency", "suicide"}])
def test_emergencies_name_the_language_they_are_written_in_and_pass_any_flood(lang, text):
    written = languages_of(text)
    assert written == [] or lang in written, (text, written)  # [] only for "112" alone
    assert protective(text)


@pytest.mark.parametrize("text,expected", [
    ("Ma voisine est inconsciente", ["fr"]), ("Hij ademt niet meer", ["nl"]), ("She collapsed", ["en"]),
    ("ambulance!", ["nl", "fr", "en", "es", "pt", "it"]), ("Bel 112", []),
])
def test_language_of_emergency_words(text, expected):
    assert languages_of(text) == expected


@pytest.mark.parametrize("text", ["/delete", "/stop", "STOP", "Stop!", "start", "/start CODE12", "stoppen", "ARRÊT",
                                  "arreter", "verwijder", "/verwijder", "supprimer", "/supprimer", "unsubscribe"])
def test_protective_commands_in_every_language(text):
    assert protective(text)


@pytest.mark.parametrize("text", ["/menu", "menu", "hallo", "stop de melk in de koelkast aub", "ja", "1", ""])
def test_ordinary_messages_are_not_protective(text):
    assert not protective(text)
