"""Ten languages in a test, before their translators' branches are merged: a copy of locales/
with ar, tr, es, pt, it, pl and ro added the way a translator adds one -- the real
``pybabel init`` (which writes the CLDR Plural-Forms header: ar 6, pl 3), a few entries
translated, and a ``language.txt``. Built once per session; tests read it with
``lexicon.using(ten_languages)`` and never change it.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po, write_po

from handlers import lexicon

LOCALES = Path(lexicon.DEFAULT_DIRECTORY)

#: language.txt of each new language (what cat-a/b/c write on their branches).
NEW = {
    "ar": {"name": "العربية", "locale": "ar_MA", "order": "4", "direction": "rtl",
           "codes": "ar-ma, ar-be, ar-eg, ar-dz, ar-tn, ar-sa, ary", "words": "arabic, arabe, arabisch, darija"},
    "tr": {"name": "Türkçe", "locale": "tr_TR", "order": "5", "codes": "tr-tr, tr-be, tr-cy",
           "words": "turkce, turkish, turks, turc"},
    "es": {"name": "Español", "locale": "es_ES", "order": "6", "codes": "es-es, es-419, es-mx, es-ar",
           "words": "espanol, spanish, spaans, espagnol"},
    "pt": {"name": "Português", "locale": "pt_PT", "order": "7", "codes": "pt-pt, pt-br, gl",
           "words": "portugues, portuguese, portugees, portugais"},
    "it": {"name": "Italiano", "locale": "it_IT", "order": "8", "codes": "it-it, it-ch",
           "words": "italiano, italian, italiaans, italien"},
    "pl": {"name": "Polski", "locale": "pl_PL", "order": "9", "codes": "pl-pl",
           "words": "polski, polish, pools, polonais"},
    "ro": {"name": "Română", "locale": "ro_RO", "order": "10", "codes": "ro-ro, ro-md, mo",
           "words": "romana, romanian, roemeens, roumain"},
}

LIMIT = ("You already reached your limit of {n} task this week. Thank you for all you do! You can change the "
         "limit with the coordinator.",
         "You already reached your limit of {n} tasks this week. Thank you for all you do! You can change the "
         "limit with the coordinator.")
CLAIMED = "Thank you! Request #{id} is yours.\n{category}: “{description}”\nWho: {name}\nAddress: {address}\n{reach}"
STOPPED = ("You will not get any more messages from us. Your data is kept; delete it with {delete}. Type /start to "
           "start again.")

#: The entries each new language gets in the fixture (plural entries: one string per CLDR form).
ENTRIES = {
    "ar": {
        "From now on I will write to you in {language}.": "من الآن سأكتب لكم باللغة {language}.",
        "Phone: {phone}": "الهاتف: {phone}",
        CLAIMED: "شكرًا! الطلب #{id} لكم.\n{category}: “{description}”\nمن: {name}\nالعنوان: {address}\n{reach}",
        STOPPED: "لن تصلكم رسائل منا بعد الآن. بياناتكم محفوظة؛ احذفوها بـ {delete}. اكتبوا /start للبدء من جديد.",
        "Yes, delete it all": "نعم، احذف كل شيء",
        "No, keep it": "لا، احتفظ بها",
        LIMIT: ("بلغتم حدكم هذا الأسبوع: لا مهام ({n}).", "بلغتم حدكم هذا الأسبوع: مهمة واحدة.",
                "بلغتم حدكم هذا الأسبوع: مهمتان.", "بلغتم حدكم هذا الأسبوع: {n} مهام.",
                "بلغتم حدكم هذا الأسبوع: {n} مهمة.", "بلغتم حدكم هذا الأسبوع: {n} مهمة."),
    },
    "pl": {
        "From now on I will write to you in {language}.": "Od teraz będę pisać do Pana/Pani po {language}.",
        LIMIT: ("Limit na ten tydzień osiągnięty: {n} zadanie.", "Limit na ten tydzień osiągnięty: {n} zadania.",
                "Limit na ten tydzień osiągnięty: {n} zadań."),
    },
    "tr": {
        "From now on I will write to you in {language}.": "Bundan sonra size {language} yazacağım.",
    },
}


def _init(target: Path, lang: str) -> None:
    """What a translator runs: ``pybabel init -i locales/messages.pot -d locales -D messages -l <lang>``."""
    CommandLineInterface().run(["pybabel", "-q", "init", "-i", str(target / "messages.pot"), "-d", str(target),
                                "-D", "messages", "-l", lang])


def fill(target: Path, lang: str, entries: dict) -> None:
    path = target / lang / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as fp:
        cat = read_po(fp, locale=lang)
    for mid, text in entries.items():
        message = cat.get(mid)
        assert message is not None, f"{mid!r} is no msgid of the template any more"
        message.string = text
    cat.fuzzy = False
    with path.open("wb") as fp:
        write_po(fp, cat, omit_header=False)


def build(root: Path) -> Path:
    target = root / "locales"
    shutil.copytree(LOCALES, target, ignore=shutil.ignore_patterns("__pycache__", "*.py", "*.mo"))
    for lang, info in NEW.items():
        _init(target, lang)
        fill(target, lang, ENTRIES.get(lang, {}))
        words = target / "lexicon" / lang
        words.mkdir(exist_ok=True)
        (words / "language.txt").write_text("".join(f"{k}: {v}\n" for k, v in info.items()), encoding="utf-8")
    return target


@pytest.fixture(scope="session")
def ten_languages_dir(tmp_path_factory) -> Path:
    return build(tmp_path_factory.mktemp("ten"))


@pytest.fixture
def ten_languages(ten_languages_dir):
    """The lexicon and catalogs read from the ten-language copy for one test."""
    with lexicon.using(ten_languages_dir) as lex:
        yield lex
    assert "ar" not in lexicon.LANGUAGES or (LOCALES / "ar").exists()
