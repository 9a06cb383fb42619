"""Typed answers, signal words, dates per locale and catalog loading."""
from datetime import date, datetime, timezone

import pytest

from handlers.answers import fold, resolve
from handlers.ask import parse_date
from handlers.core import Inbound
from handlers.i18n import _, catalog, format_day, speaking
from handlers.keywords import signals

YES_NO = [{"label": "Yes, send it", "payload": "yes"}, {"label": "No, cancel", "payload": "no"}]
MENU = [{"label": "Ask for help", "payload": "ask"}, {"label": "Talk to a person", "payload": "human"}]


@pytest.mark.parametrize("typed,expected", [
    ("1", "yes"), ("2", "no"), ("ja", "yes"), ("Oui !", "yes"), ("yes", "yes"), ("nee", "no"),
    ("non", "no"), ("  JA  ", "yes"), ("١", "yes"), ("3", None), ("0", None), ("misschien", None),
    ("no, cancel", "no"),
])
def test_typed_answers_match_yes_no(typed, expected):
    assert resolve(Inbound("demo", "x", typed), YES_NO).payload == expected


def test_labels_and_numbers_pick_menu_entries_but_yes_never_guesses():
    assert resolve(Inbound("demo", "x", "talk to a person"), MENU).payload == "human"
    assert resolve(Inbound("demo", "x", "2"), MENU).payload == "human"
    assert resolve(Inbound("demo", "x", "ja"), MENU).payload is None


def test_a_pressed_button_wins_and_is_capped():
    assert resolve(Inbound("demo", "x", "", "claim:12"), []).payload == "claim:12"
    assert len(resolve(Inbound("demo", "x", "", "x" * 500), []).payload) == 64


def test_fold_drops_accents_case_and_emoji():
    assert fold("  Français 🇫🇷 ") == "francais"


@pytest.mark.parametrize("text,kind", [
    ("Mevrouw op nummer 12 doet de deur niet open, de rolluiken zijn nog dicht en ik hoor niets.", "emergency"),
    ("Ma voisine est tombée, elle est inconsciente", "emergency"),
    ("I want to end my life", "suicide"),
    ("Ik heb mevrouw van nummer 12 al een week niet gezien en haar rolluiken blijven dicht.", "concern"),
    ("Je n'arrive plus à entrer dans ma baignoire. Qui peut m'aider ?", "professional"),
    ("Ik zorg al twee jaar voor mijn vader met dementie en ik kan niet meer.", "professional"),
])
def test_signal_words_in_every_language(text, kind):
    assert kind in signals(text)


@pytest.mark.parametrize("text", [
    "Kan iemand donderdag mijn vuilbak buitenzetten en een pak water meebrengen van de Carrefour?",
    "De lamp in mijn keuken is kapot en ik kan niet meer op een ladder.",
    "Je vous rends l'argent des courses, bien sûr.",
    "This brand of coffee please",
])
def test_ordinary_requests_carry_no_signal(text):
    assert signals(text) == set()


def test_dates_are_formatted_per_belgian_locale_in_brussels_time():
    moment = datetime(2026, 11, 26, 23, 30, tzinfo=timezone.utc)  # already Friday in Brussels
    with speaking("nl"):
        assert format_day(moment) == "vrijdag 27 november 00:30"
    with speaking("fr"):
        assert format_day(date(2026, 11, 26)) == "jeudi 26 novembre"
    with speaking("en"):
        assert format_day(date(2026, 11, 26)) == "Thursday, 26 November"  # en_GB: CLDR's own order


def test_typed_dates():
    base = date(2026, 11, 23)
    assert parse_date("26/11", base) == date(2026, 11, 26)
    assert parse_date("op 2.1", base) == date(2027, 1, 2)
    assert parse_date("31/02", base) is None
    assert parse_date("26-11-2030", base) is None  # too far ahead


def test_catalog_compiles_from_po_when_no_mo(tmp_path):
    from handlers import lexicon

    po_dir = tmp_path / "xx" / "LC_MESSAGES"
    po_dir.mkdir(parents=True)
    (po_dir / "messages.po").write_text('msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=utf-8\\n"\n\n'
                                        'msgid "Both"\nmsgstr "Allebei"\n', encoding="utf-8")
    with lexicon.using(tmp_path):
        assert catalog("xx").gettext("Both") == "Allebei"
    assert catalog("xx").gettext("Both") == "Both"  # back to the real catalogs, which have no "xx"


def test_speaking_switches_language_and_restores():
    with speaking("fr"):
        inner = _("Both")
        with speaking("en"):
            assert _("Both") == "Both"
        assert _("Both") == inner
    with speaking("xx-unknown"):
        assert _("Both") == catalog("nl").gettext("Both")


@pytest.mark.parametrize("text", [
    "Sinds ik slecht te been ben kan ik niet meer naar de tekenles. Ik zie bijna niemand meer.",
    "Niet zo goed. Ik heb deze week nog met niemand gesproken en ik voel me eenzaam.",
    "Sinds mijn vrouw gestorven is woon ik alleen. Ik zou graag af en toe iemand over de vloer hebben voor een "
    "babbeltje.",
    "Depuis l'hiver je ne vois personne.",
])
def test_wish_for_company_is_recognised(text):
    assert "company" in signals(text)
