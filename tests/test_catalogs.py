"""Translations: every msgid of the template translated in nl, fr and en, and the same
{placeholders} on both sides (a missing or renamed {name} would crash a reply at runtime).
The first test fails until the translations are complete; that is on purpose."""
from __future__ import annotations

import shutil
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import write_po

from tests.catalog_check import LOCALES, problems

REQUIRED = ("nl", "fr", "en")


def test_catalogs_are_complete_and_consistent():
    present = {p.parts[-3] for p in LOCALES.glob("*/LC_MESSAGES/messages.po")}
    assert set(REQUIRED) <= present, f"missing catalogs: {sorted(set(REQUIRED) - present)}"
    found = problems()
    assert found == [], f"{len(found)} catalog problems, e.g.:\n" + "\n".join(found[:25])


def _write(path: Path, catalog: Catalog) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fp:
        write_po(fp, catalog)


def _broken_locales(tmp: Path) -> Path:
    template = Catalog(locale=None)
    template.add("Hello {name}!")
    template.add("Request #{id} is yours.")
    template.add("Good morning")
    template.add(("One task", "{n} tasks"))
    _write(tmp / "messages.pot", template)

    good = Catalog(locale="nl", fuzzy=False)
    good.add("Hello {name}!", "Dag {name}!")
    good.add("Request #{id} is yours.", "Vraag #{id} is van u.")
    good.add("Good morning", "Goeiemorgen")
    good.add(("One task", "{n} tasks"), ("Eén taak", "{n} taken"))
    _write(tmp / "nl" / "LC_MESSAGES" / "messages.po", good)

    bad = Catalog(locale="fr", fuzzy=False)
    bad.add("Hello {name}!", "Bonjour {nom} !")                       # placeholder renamed
    bad.add("Request #{id} is yours.", "La demande est à vous.")      # placeholder dropped
    # "Good morning" missing altogether
    bad.add(("One task", "{n} tasks"), ("Une tâche", ""))             # plural form untranslated
    _write(tmp / "fr" / "LC_MESSAGES" / "messages.po", bad)

    fuzzy = Catalog(locale="en")  # header left fuzzy too: pybabel compile would skip it
    fuzzy.add("Hello {name}!", "Hello {name}!", flags=["fuzzy"])       # fuzzy counts as untranslated
    fuzzy.add("Request #{id} is yours.", "Request #{id} is yours.")
    fuzzy.add("Good morning", "Good morning")
    fuzzy.add(("One task", "{n} tasks"), ("One task", "{n} tasks"))
    _write(tmp / "en" / "LC_MESSAGES" / "messages.po", fuzzy)
    return tmp


def test_a_broken_catalog_is_reported(tmp_path):
    found = problems(_broken_locales(tmp_path))
    joined = "\n".join(found)
    assert not any(p.startswith("nl:") for p in found), found
    assert "fr: placeholders differ in 'Hello {name}!'" in joined
    assert "fr: placeholders differ in 'Request #{id} is yours.'" in joined
    assert "fr: missing 'Good morning'" in joined
    assert "fr: 'One task' has 1 plural forms, fr has 3" in joined  # a form left empty (CLDR: fr has three)
    assert "en: untranslated 'Hello {name}!'" in joined
    assert "en: the catalog header is marked fuzzy" in joined
    assert len(found) == 6, found


def test_a_complete_catalog_passes(tmp_path):
    tmp = _broken_locales(tmp_path)
    for lang in ("fr", "en"):
        shutil.rmtree(tmp / lang)
    assert problems(tmp) == []
