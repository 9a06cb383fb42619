"""Ten languages (issue 10): language tags to languages, the language list by number on SMS and
WhatsApp, a person's own choice over Telegram's language_code, plurals and dates per language.

The seven new languages come from tests/langkit.py (a copy of locales/ with their catalogs made
by the real ``pybabel init``), so these tests hold before their translators' branches merge."""
from __future__ import annotations

import shutil
from datetime import date, datetime, timezone

import pytest
from sqlalchemy import select

from handlers import lexicon
from handlers.answers import resolve
from handlers.core import Inbound
from models import ChannelIdentity
from handlers.i18n import LANGUAGES, format_day, is_rtl, ngettext, normalise_language, speaking
from tests.flowkit import Row, T, has, outbox_for, person, play
from tests.langkit import LIMIT, build, ten_languages, ten_languages_dir  # noqa: F401  (fixtures)
from tests.twilio_edge import prism, twilio_edge  # noqa: F401  (fixtures)
from tests.twiliokit import db_url, world  # noqa: F401  (fixtures)

TEN = ["nl", "fr", "en", "ar", "tr", "es", "pt", "it", "pl", "ro"]


def test_the_ten_in_their_order_and_own_names(ten_languages):
    assert list(LANGUAGES) == TEN
    assert LANGUAGES["ar"] == "العربية" and LANGUAGES["pl"] == "Polski" and LANGUAGES["nl"] == "Nederlands"
    assert all(len(name) <= 20 for name in LANGUAGES.values())  # a WhatsApp button each


@pytest.mark.parametrize("tag, language", [
    ("pt-br", "pt"), ("pt-BR", "pt"), ("gl", "pt"), ("nl", "nl"), ("nl-BE", "nl"), ("nl_BE", "nl"),
    ("vls", "nl"), ("ar-ma", "ar"), ("ar-MA", "ar"), ("ary", "ar"), ("fr-CA", "fr"), ("wa", "fr"),
    ("en-US", "en"), ("es-419", "es"), ("ro-md", "ro"), ("tr", "tr"), ("pl-PL", "pl"),
    ("zh-hans", None), ("zh", None), ("de-BE", None), ("", None), (None, None), ("-", None), ("x" * 300, None),
])
def test_telegram_language_codes_map_to_the_nearest_language(ten_languages, tag, language):
    assert normalise_language(tag) == language


def test_codes_are_data_and_a_languages_own_code_wins(tmp_path):
    """Without Portuguese, "pt-br" is nobody's; a `codes:` line claiming another language's own
    code does not take it."""
    assert normalise_language("pt-br") == "pt" and normalise_language("nl-be") == "nl"
    root = tmp_path / "locales"
    shutil.copytree(lexicon.DEFAULT_DIRECTORY, root, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    shutil.rmtree(root / "lexicon" / "pt", ignore_errors=True)
    with lexicon.using(root):
        assert normalise_language("pt-br") is None and normalise_language("nl-be") == "nl"
    info = root / "lexicon" / "en" / "language.txt"
    info.write_text(info.read_text(encoding="utf-8") + "codes: nl, pt-br, pt\n", encoding="utf-8")
    with lexicon.using(root):
        assert normalise_language("nl-be") == "nl" and normalise_language("pt-BR") == "en"
        assert normalise_language("pt-PT") == "en"  # "pt-pt" -> "pt", claimed by en here
    assert normalise_language("pt-br") == "pt"


def test_right_to_left_is_data(ten_languages):
    assert is_rtl("ar") and is_rtl("ar-MA") and not is_rtl("nl") and not is_rtl("tr") and not is_rtl(None)
    assert [c for c in LANGUAGES if is_rtl(c)] == ["ar"]


def test_without_a_direction_line_a_language_is_left_to_right(tmp_path):
    root = build(tmp_path)
    info = root / "lexicon" / "ar" / "language.txt"
    info.write_text(info.read_text(encoding="utf-8").replace("direction: rtl\n", ""), encoding="utf-8")
    with lexicon.using(root):
        assert "ar" in LANGUAGES and not is_rtl("ar")


# ---- the language question: all ten, each in its own name, by number --------------------
def _ten_options() -> list[dict]:
    return [{"label": LANGUAGES[c], "payload": f"lang:{c}"} for c in LANGUAGES]


@pytest.mark.parametrize("typed, chosen", [("1", "nl"), ("10", "ro"), ("9", "pl"), ("١٠", "ro"), ("4", "ar"),
                                           ("11", None), ("0", None), ("Polski", "pl"), ("العربية", "ar")])
def test_typed_numbers_pick_the_language_at_that_place(ten_languages, typed, chosen):
    answer = resolve(Inbound("sms", "+32470000001", typed), _ten_options())
    assert answer.payload == (f"lang:{chosen}" if chosen else None)


def test_language_question_and_slash_language_list_all_ten(chat, ten_languages):
    play(chat, [
        Row("amal", "/start", reply=has(options=tuple(f"lang:{c}" for c in TEN))),
        Row("amal", "10", reply=has(T("Which neighbourhood do you live in? Type your postcode (for example 1040), "
                                      "or the invite code you received.", "ro"))),
    ])
    with chat.sessions() as s:
        assert s.scalar(select(ChannelIdentity.language).where(ChannelIdentity.address == "amal")) == "ro"
    chat.join("karim", "Karim", language="nl")
    got = chat.send("karim", "/taal")
    assert [o["payload"] for o in got[-1]["options"]] == [f"lang:{c}" for c in TEN]
    assert [o["label"] for o in got[-1]["options"]] == [LANGUAGES[c] for c in TEN]
    got = chat.send("karim", "4")
    assert "العربية" in got[-1]["text"]
    with chat.sessions() as s:
        assert person(s, "karim").language == "ar"


@pytest.mark.asyncio
async def test_the_language_question_by_number_on_sms_and_whatsapp(world, ten_languages):
    got = await world.say("fatma", "hallo", channel="sms")
    question = got[-1]
    lines = [line for line in question.splitlines() if line[:1].isdigit() or line[:2] == "10"]
    assert lines[0] == "1. Nederlands" and lines[-1] == "10. Română" and len(lines) == 10
    got = await world.say("fatma", "10")
    assert "postcode" in got[-1] or "1040" in got[-1]
    with world.rt.sessions() as s:
        assert s.scalar(select(ChannelIdentity.language).where(ChannelIdentity.channel == "sms")) == "ro"
    got = await world.say("zofia", "/start", channel="whatsapp")
    assert "9. Polski" in got[-1].splitlines() and "4. العربية" in got[-1].splitlines()
    await world.say("zofia", "9")
    with world.rt.sessions() as s:
        assert s.scalar(select(ChannelIdentity.language).where(ChannelIdentity.channel == "whatsapp")) == "pl"


def test_telegram_language_code_is_a_hint_and_the_persons_own_choice_wins(chat, ten_languages):
    """A Portuguese phone gets Portuguese offered first; she chooses French, and French it stays
    whatever her phone says afterwards."""
    got = chat.send("lucia", "/start", locale="pt-BR")
    assert got[-1]["options"][0]["payload"] == "lang:pt"
    for step in ({"payload": "lang:fr"}, {"text": "1040"}, {"payload": "yes"}, {"text": "Lúcia"},
                 {"payload": "role:help"}):
        chat.send("lucia", locale="pt-BR", **step)
    with chat.sessions() as s:
        assert person(s, "lucia").language == "fr"
    got = chat.send("lucia", "/help", locale="en-US")
    assert "/langue" in got[-1]["text"] and "/language " not in got[-1]["text"]
    with chat.sessions() as s:
        assert {row.language for row in outbox_for(s, "lucia")[1:]} == {"fr"}


def test_an_unknown_language_code_gets_the_default_language(chat, ten_languages):
    got = chat.send("li", "hello", locale="zh-hans")
    with chat.sessions() as s:
        assert s.scalar(select(ChannelIdentity.language).where(ChannelIdentity.address == "li")) is None
    assert [o["payload"] for o in got[-1]["options"]][:3] == ["lang:nl", "lang:fr", "lang:en"]


# ---- plurals and dates per language ----------------------------------------------------------
@pytest.mark.parametrize("lang, counts", [
    ("ar", {0: "لا مهام", 1: "مهمة واحدة", 2: "مهمتان", 3: "3 مهام", 10: "10 مهام", 11: "11 مهمة", 99: "99 مهمة",
            100: "100 مهمة", 103: "103 مهام"}),
    ("pl", {1: "1 zadanie", 2: "2 zadania", 4: "4 zadania", 5: "5 zadań", 12: "12 zadań", 22: "22 zadania",
            25: "25 zadań"}),
    ("fr", {0: "0 tâche ", 1: "1 tâche ", 2: "2 tâches", 1000000: "1000000 de tâches"}),
    ("nl", {1: "1 taak", 2: "2 taken"}),
])
def test_plural_forms_per_language(ten_languages, lang, counts):
    for n, expected in counts.items():
        with speaking(lang):
            text = ngettext(*LIMIT, n).replace("\u2068", "").replace("\u2069", "")  # ar: the count is isolated
            assert expected in text, (lang, n, text)


MOMENT = datetime(2026, 11, 26, 23, 30, tzinfo=timezone.utc)  # already Friday 27 November in Brussels


@pytest.mark.parametrize("lang, day, moment", [
    ("nl", "donderdag 26 november", "vrijdag 27 november 00:30"),
    ("fr", "jeudi 26 novembre", "vendredi 27 novembre 00:30"),
    ("ar", "الخميس، 26 نونبر", "الجمعة، 27 نونبر 00:30"),
    ("pl", "czwartek, 26 listopada", "piątek, 27 listopada 00:30"),
    ("tr", "26 Kasım Perşembe", "27 Kasım Cuma 00:30"),
    ("es", "jueves, 26 de noviembre", "viernes, 27 de noviembre 00:30"),
    ("pt", "quinta-feira, 26 de novembro", "sexta-feira, 27 de novembro 00:30"),
])
def test_days_and_times_per_locale_in_brussels(ten_languages, lang, day, moment):
    with speaking(lang):
        assert format_day(date(2026, 11, 26)) == day
        assert format_day(MOMENT) == moment


# ---- the real language files (whatever languages this branch has) -----------------------------
@pytest.mark.parametrize("which", ["this branch", "with the seven new ones"])
def test_every_languages_file_is_usable(request, which):
    """What each translator writes in language.txt: a locale Babel knows (dates must never raise),
    a direction that is rtl or ltr, codes that are tags no other language claims, a short name.
    Arabic, once it is here, must say `direction: rtl`."""
    from babel import Locale

    from handlers.i18n import FORMAT_LOCALES
    if which != "this branch":
        request.getfixturevalue("ten_languages")
    claimed: dict[str, str] = {}
    for code in LANGUAGES:
        Locale.parse(FORMAT_LOCALES[code])
        with speaking(code):
            assert format_day(MOMENT)
        info = dict(lexicon.read_pairs(lexicon.directory() / "lexicon" / code / "language.txt", lists=False))
        assert (info.get("direction") or ["ltr"])[0] in ("ltr", "rtl"), code
        for tag in ", ".join(info.get("codes") or []).split(","):
            tag = tag.strip()
            if tag:
                assert tag == tag.lower().replace("_", "-") and tag not in LANGUAGES, (code, tag)
                assert claimed.setdefault(tag, code) == code, f"{tag} is claimed by {claimed[tag]} and {code}"
        assert len(LANGUAGES[code]) <= 20
    if "ar" in LANGUAGES:
        assert is_rtl("ar"), "locales/lexicon/ar/language.txt needs the line `direction: rtl`"
