"""Words as data (issue 9, point 26): one loader (handlers/lexicon.py) reads every word the bot
reacts to from locales/; a language is added with data files and a catalog alone, no Python."""
from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
from babel.messages.pofile import read_po, write_po
from sqlalchemy import select

from handlers import lexicon
from handlers.i18n import LANGUAGES, catalog, format_day, speaking
from handlers.keywords import protective, signals
from handlers.lexicon import command_name
from models import Outbox
from tests.flowkit import Row, dispatcher, has, person, play  # noqa: F401

LOCALES = Path(lexicon.DEFAULT_DIRECTORY)

WHICH_NEIGHBOURHOOD = ("Which neighbourhood do you live in? Type your postcode (for example 1040), or the invite code "
                       "you received.")
TURKISH = {
    WHICH_NEIGHBOURHOOD:
        "Hangi mahallede yaşıyorsunuz? Posta kodunuzu yazın (örneğin 1040) veya aldığınız davet kodunu.",
    "Thank you! What is your first name?": "Teşekkürler! Adınız nedir?",
    # "I would like help" starts a request at once (issue 9 point 18)
    "Welcome to the neighbourhood! Let us write down what you need.":
        "Mahalleye hoş geldiniz! Neye ihtiyacınız olduğunu birlikte yazalım.",
    "Ask for help": "Yardım iste",
}


def add_turkish(root: Path) -> Path:
    """What a buurtwerker does: copy the English catalog, translate, add the lexicon folder."""
    target = root / "locales"
    shutil.copytree(LOCALES, target, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    for code in set(LANGUAGES) - {"nl", "fr", "en"}:  # a copy that speaks nl, fr and en only, as before Turkish
        shutil.rmtree(target / code)
        shutil.rmtree(target / "lexicon" / code)
    (target / "tr" / "LC_MESSAGES").mkdir(parents=True)
    with (LOCALES / "en" / "LC_MESSAGES" / "messages.po").open("rb") as fp:
        cat = read_po(fp, locale="en")
    for message in cat:
        if message.id:
            message.string = TURKISH.get(message.id, "") if isinstance(message.id, str) else message.string
    with (target / "tr" / "LC_MESSAGES" / "messages.po").open("wb") as fp:
        write_po(fp, cat)
    words = target / "lexicon" / "tr"
    words.mkdir()
    (words / "language.txt").write_text(
        "# Turkish\nname: Türkçe\nlocale: tr_TR\norder: 4\nwords: turkce, turkish, turks\n", encoding="utf-8")
    (words / "commands.txt").write_text("language: dil\nhelp: yardim\ndelete: sil\n", encoding="utf-8")
    (words / "yes.txt").write_text("evet\ntamam\n", encoding="utf-8")
    (words / "no.txt").write_text("hayir\n", encoding="utf-8")
    (words / "emergency.txt").write_text("# Acil durum\nambulans\nnefes almiyor\nbilinci kapali\n", encoding="utf-8")
    return target


@pytest.fixture
def turkish(tmp_path):
    before = dict(LANGUAGES)
    with lexicon.using(add_turkish(tmp_path)) as lex:
        yield lex
    assert LANGUAGES == before


def _speaks_turkish(s, v):
    p = person(s, "ayse")
    assert p is not None and p.language == "tr" and p.first_name == "Ayşe"
    row = s.scalar(select(Outbox).where(Outbox.address == "ayse").order_by(Outbox.id.desc()).limit(1))
    assert row.language == "tr"


def test_a_language_added_from_data_alone_walks_onboarding(chat, turkish):
    assert list(LANGUAGES) == ["nl", "fr", "en", "tr"] and LANGUAGES["tr"] == "Türkçe"
    play(chat, [
        Row("ayse", "/start", reply=has("Kies uw taal", options=("lang:nl", "lang:tr"))),
        # an answer that is no language: asked again, politely (it raised KeyError('tr') before)
        Row("ayse", "العربية", reply=has(options=("lang:tr",))),
        Row("ayse", "ar", reply=has(options=("lang:tr",))),
        Row("ayse", "Türkçe", reply=has("Posta kodunuzu")),
        Row("ayse", "1040"),
        Row("ayse", "evet", reply=has("Adınız nedir?")),
        Row("ayse", "Ayşe", reply=has(options=("role:help",))),
        Row("ayse", "1", reply=has("Mahalleye hoş geldiniz! Neye ihtiyacınız", options=("cat:shopping", "cat:lift")),
            db=_speaks_turkish),
        Row("ayse", "/dil", reply=has(options=("lang:tr", "lang:nl"))),
        Row("ayse", "4", reply=has(options=("ask",)), db=_speaks_turkish),
        Row("ayse", "nefes almiyor", reply=has("112"), told={"coordinator": has("112")}),
    ])
    with speaking("tr"):
        assert format_day(date(2026, 11, 26)) == "26 Kasım Perşembe"  # the Turkish locale (CLDR order)
    assert "emergency" in signals("Komşum nefes almıyor") and protective("/sil")
    assert command_name("language", "tr") == "dil" and command_name("mydata", "tr") == "mydata"


def test_a_typed_language_name_that_does_not_exist_is_asked_again(chat):
    play(chat, [
        Row("x", "/start"),
        Row("x", "Deutsch", reply=has(options=("lang:nl", "lang:fr", "lang:en"))),
        Row("x", "vlaams", reply=has(str(catalog("nl").gettext(WHICH_NEIGHBOURHOOD)))),
    ])


def test_one_place_names_the_languages(tmp_path):
    """A lexicon folder without a catalog (or a catalog without a lexicon folder) is no language."""
    root = tmp_path / "locales"
    shutil.copytree(LOCALES, root, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    before = list(LANGUAGES)
    (root / "lexicon" / "xx").mkdir()
    (root / "lexicon" / "xx" / "language.txt").write_text("name: Xish\n", encoding="utf-8")
    shutil.copytree(root / "en" / "LC_MESSAGES", root / "yy" / "LC_MESSAGES")
    with lexicon.using(root):
        assert list(LANGUAGES) == before and "xx" not in LANGUAGES and "yy" not in LANGUAGES
    assert list(LANGUAGES) == before


@pytest.mark.parametrize("name,lang,word", [
    ("language", "nl", "taal"), ("help", "nl", "hulp"), ("mydata", "nl", "mijngegevens"),
    ("delete", "nl", "verwijder"), ("ask", "nl", "vraag"), ("offer", "nl", "aanbod"), ("language", "fr", "langue"),
    ("help", "fr", "aide"),
    ("mydata", "fr", "mesdonnees"), ("delete", "fr", "supprimer"), ("ask", "fr", "demande"), ("offer", "fr", "offre"),
    ("language", "en", "language"), ("mydata", "en", "mydata"), ("delete", "en", "delete"), ("menu", "nl", "menu"),
    ("cancel", "nl", "terug"), ("cancel", "fr", "retour"), ("cancel", "en", "cancel"), ("language", None, "language"),
])
def test_command_names_per_language(name, lang, word):
    assert command_name(name, lang) == word


def test_global_words_are_commands_in_every_language():
    for word in ("terug", "annuleer", "retour", "annuler", "back", "cancel"):
        assert lexicon.ALIASES[word] == "cancel", word
    for word, name in (("menu", "menu"), ("help", "help"), ("hulp", "help"), ("aide", "help"), ("stop", "stop"),
                       ("stoppen", "stop"), ("arret", "stop"), ("taal", "language"), ("mijngegevens", "mydata")):
        assert lexicon.ALIASES[word] == name, word


def test_yes_no_and_keywords_come_from_the_data():
    from handlers.optout import keyword

    assert {"ja", "oui", "yes", "evet", "d'accord"} <= lexicon.YES and {"nee", "non", "no", "nein"} <= lexicon.NO
    assert [keyword(w) for w in ("STOP", "Stoppen", "ARRÊT", "start", "hulp", "AIDE", "help me with shopping")] == \
        ["optout", "optout", "optout", "optin", "keyword-help", "keyword-help", None]
