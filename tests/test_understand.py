"""handlers.understand.understand(): one pure function from a message to what it asks, in which
language, for when. Table-driven; ``today`` is injected (a Monday), never the wall clock."""
from __future__ import annotations

from datetime import date

import pytest

from handlers.understand import Understanding, understand

TODAY = date(2026, 12, 7)  # a Monday


@pytest.mark.parametrize("text,language,kind,category", [
    ("Kan iemand morgen mijn boodschappen doen?", "nl", "request", "shopping"),
    ("boodschappn morgn? thx", "nl", "request", "shopping"),
    ("Ik ga morgen toch naar de winkel. Kan ik iets meebrengen voor een buur?", "nl", "offer", "shopping"),
    ("De lamp in mijn keuken is kapot en ik kan niet meer op een ladder. Wie kan even helpen?", "nl", "request",
     "repair"),
    ("J'ai besoin d'aide pour mes courses jeudi", "fr", "request", "shopping"),
    ("Can someone drive me to the doctor on Thursday morning?", "en", "request", "lift"),
])
def test_language_kind_and_category(text, language, kind, category):
    found = understand(text, today=TODAY)
    assert (found.language, found.kind, found.category) == (language, kind, category)


@pytest.mark.parametrize("text,when,when_kind,part", [
    ("morgen", date(2026, 12, 8), "tomorrow", None),
    ("après-demain", date(2026, 12, 9), "date", None),
    ("Thursday morning", date(2026, 12, 10), "date", "morning"),
    ("volgende week dinsdag", date(2026, 12, 15), "date", None),
    ("maandag", date(2026, 12, 14), "date", None),
    ("12/12", date(2026, 12, 12), "date", None),
    ("le 3 janvier", date(2027, 1, 3), "date", None),
    ("deze week", None, "week", None),
    ("Kan iemand helpen?", None, None, None),
])
def test_when(text, when, when_kind, part):
    found = understand(text, today=TODAY)
    assert (found.when, found.when_kind, found.part_of_day) == (when, when_kind, part)


def test_an_empty_message_is_understood_as_nothing():
    found = understand("", language="fr", today=TODAY)
    assert isinstance(found, Understanding)
    assert (found.language, found.kind, found.category, found.when, found.urgent) == ("fr", "other", None, None, False)


def test_emergency_is_urgent():
    assert understand("Mijn buurvrouw ligt op de grond en reageert niet", today=TODAY).urgent
