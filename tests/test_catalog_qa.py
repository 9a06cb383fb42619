"""Translation QA for every catalog (tests/catalog_check.py): each check catches its own fault in
a deliberately broken catalog; the real catalogs, and what ``pybabel init`` writes for the new
languages, pass. And the channels' limits: button labels (WhatsApp quick replies, 20
characters) and every payload builder (Telegram callback_data, 64 bytes)."""
from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import write_po

from handlers import payloads
from handlers.i18n import LANGUAGES
from handlers.labels import CATEGORY_LABELS, SPOKEN, WHEN_LABELS
from models.people import CATEGORIES
from tests.catalog_check import BUTTON_MAX, ROOT, _literal, button_labels, cldr_plural, measured, problems
from tests.langkit import LIMIT, NEW, ten_languages, ten_languages_dir  # noqa: F401  (fixtures)

PLURAL = ("{name} has {n} task", "{name} has {n} tasks")
BUTTON = "Yes, delete it all"
CAT_BUTTON = "Papers & digital"


def _po(path: Path, lang: str, header: str, entries: str) -> None:
    """A catalog written by hand, as a translator's editor could leave it."""
    path.mkdir(parents=True, exist_ok=True)
    (path / "messages.po").write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n'
        f'"Language: {lang}\\n"\n"Plural-Forms: {header}\\n"\n\n' + entries, encoding="utf-8")


def _locales(tmp: Path) -> Path:
    template = Catalog(locale=None)
    template.add(PLURAL)
    template.add(BUTTON)
    template.add(CAT_BUTTON)
    with (tmp / "messages.pot").open("wb") as fp:
        write_po(fp, template)
    return tmp


def _plural_entry(*forms: str) -> str:
    return (f'msgid "{PLURAL[0]}"\nmsgid_plural "{PLURAL[1]}"\n'
            + "".join(f'msgstr[{i}] "{f}"\n' for i, f in enumerate(forms)) + "\n")


def _plain(mid: str, text: str) -> str:
    return f'msgid "{mid}"\nmsgstr "{text}"\n\n'


AR = "nplurals=6; plural=(n == 0 ? 0 : n == 1 ? 1 : n == 2 ? 2 : n % 100 >= 3 && n % 100 <= 10 ? 3 : " \
     "n % 100 >= 11 && n % 100 <= 99 ? 4 : 5);"
PL = "nplurals=3; plural=(n == 1 ? 0 : n % 10 >= 2 && n % 10 <= 4 && (n % 100 < 12 || n % 100 > 14) ? 1 : 2);"
BUTTONS = {BUTTON: 0, CAT_BUTTON: 2}
GOOD_REST = _plain(BUTTON, "نعم، احذف كل شيء") + _plain(CAT_BUTTON, "أوراق ورقمي")


def test_a_correct_arabic_catalog_with_six_forms_passes(tmp_path):
    root = _locales(tmp_path)
    # the forms for one and two say the count in words: {n} may be left out, {name} may not
    _po(root / "ar" / "LC_MESSAGES", "ar", AR,
        _plural_entry("{name} ليس لديه مهام", "{name} لديه مهمة واحدة", "{name} لديه مهمتان", "{name} لديه {n} مهام",
                      "{name} لديه {n} مهمة", "{name} لديه {n} مهمة") + GOOD_REST)
    assert problems(root, BUTTONS) == []


def test_a_plural_forms_header_that_is_not_cldrs_is_reported(tmp_path):
    root = _locales(tmp_path)
    _po(root / "ar" / "LC_MESSAGES", "ar", "nplurals=2; plural=(n != 1);",
        _plural_entry("{name}: {n} مهمة", "{name}: {n} مهام") + GOOD_REST)
    _po(root / "pl" / "LC_MESSAGES", "pl", "nplurals=3; plural=(n == 1 ? 0 : n < 5 ? 1 : 2);",  # 22 is wrong
        _plural_entry("{name}: {n} zadanie", "{name}: {n} zadania", "{name}: {n} zadań")
        + _plain(BUTTON, "Tak, usuń wszystko") + _plain(CAT_BUTTON, "Pisma i cyfrowe"))
    found = problems(root, BUTTONS)
    assert found[0].startswith("ar: Plural-Forms is 'nplurals=2;") and "Babel's rule for ar is 'nplurals=6" in found[0]
    assert found[1] == "ar: '{name} has {n} task' has 2 plural forms, ar has 6"  # and its entries need six
    assert found[2].startswith("pl: Plural-Forms is 'nplurals=3; plural=(n == 1 ? 0 : n < 5 ? 1 : 2)'")
    assert len(found) == 3, found


def test_a_plural_entry_needs_exactly_the_languages_number_of_forms(tmp_path):
    root = _locales(tmp_path)
    _po(root / "pl" / "LC_MESSAGES", "pl", PL,
        _plural_entry("{name}: {n} zadanie", "{name}: {n} zadań")
        + _plain(BUTTON, "Tak, usuń wszystko") + _plain(CAT_BUTTON, "Pisma i cyfrowe"))
    assert problems(root, BUTTONS) == ["pl: '{name} has {n} task' has 2 plural forms, pl has 3"]


def test_more_forms_than_the_language_has_are_reported(tmp_path):
    root = _locales(tmp_path)
    _po(root / "pl" / "LC_MESSAGES", "pl", PL,
        _plural_entry("{name}: {n} zadanie", "{name}: {n} zadania", "{name}: {n} zadań", "{name}: {n} zadania")
        + _plain(BUTTON, "Tak, usuń wszystko") + _plain(CAT_BUTTON, "Pisma i cyfrowe"))
    found = problems(root, BUTTONS)
    assert len(found) == 1 and found[0].startswith("pl: ") and "num_plurals" in found[0], found


def test_an_empty_plural_form_is_reported(tmp_path):
    root = _locales(tmp_path)
    _po(root / "pl" / "LC_MESSAGES", "pl", PL,
        _plural_entry("{name}: {n} zadanie", "", "{name}: {n} zadań")
        + _plain(BUTTON, "Tak, usuń wszystko") + _plain(CAT_BUTTON, "Pisma i cyfrowe"))
    assert problems(root, BUTTONS) == ["pl: '{name} has {n} task' has 2 plural forms, pl has 3"]
    _po(root / "pl" / "LC_MESSAGES", "pl", PL,
        _plural_entry("", "", "") + _plain(BUTTON, "Tak, usuń wszystko") + _plain(CAT_BUTTON, "Pisma i cyfrowe"))
    assert problems(root, BUTTONS) == ["pl: untranslated '{name} has {n} task'"]


def test_every_plural_form_keeps_the_placeholders(tmp_path):
    root = _locales(tmp_path)
    _po(root / "pl" / "LC_MESSAGES", "pl", PL,
        _plural_entry("{name}: {n} zadanie", "{n} zadania", "{name}: {n} zadań {extra}")  # {name} lost; {extra}
        + _plain(BUTTON, "Tak, usuń wszystko") + _plain(CAT_BUTTON, "Pisma i cyfrowe"))
    found = problems(root, BUTTONS)
    assert len(found) == 2 and all(p.startswith("pl: placeholders differ in '{name} has {n} task'") for p in found)


def test_a_button_label_longer_than_a_whatsapp_button_is_reported(tmp_path):
    root = _locales(tmp_path)
    _po(root / "pl" / "LC_MESSAGES", "pl", PL,
        _plural_entry("{name}: {n} zadanie", "{name}: {n} zadania", "{name}: {n} zadań")
        + _plain(BUTTON, "Tak, proszę usunąć wszystko")        # 27 characters
        + _plain(CAT_BUTTON, "Pisma i pomoc cyfr."))              # 19, and the icon in front: 21
    found = problems(root, BUTTONS)
    assert len(found) == 2 and all(f"button label longer than {BUTTON_MAX}" in p for p in found), found
    assert "Tak, proszę usunąć wszystko" in found[1] and "Pisma i pomoc cyfr." in found[0]


def test_placeholders_in_button_labels_count_as_typical_values():
    assert measured("Take #{id}") == len("Take #12345")
    assert measured("Message {name}") == len("Message Fatima")


def test_the_real_catalogs_pass_every_check():
    assert problems() == []


def test_what_pybabel_init_writes_has_cldrs_plural_forms(ten_languages_dir):
    found = problems(ten_languages_dir)
    assert not [p for p in found if "Plural-Forms" in p or "plural forms" in p or "placeholders" in p], found[:5]
    assert cldr_plural("ar")[0] == 6 and cldr_plural("pl")[0] == 3 and cldr_plural("tr")[0] == 2
    # the fixture's Arabic and Polish plural entries are complete: no "untranslated" line for them
    assert not [p for p in found if p.startswith(("ar:", "pl:")) and LIMIT[0][:40] in p]
    assert {p.split(":")[0] for p in found} == set(NEW)  # nl, fr, en complete; the stubs are not


# ---- which msgids are button labels -------------------------------------------------------
def test_button_labels_are_read_from_the_code():
    labels = button_labels()
    assert labels[BUTTON] == 0 and labels["Take #{id}"] == 0 and labels["Talk to a person"] == 0
    assert all(labels[m] == 2 for m in CATEGORY_LABELS.values())  # an icon and a space in front
    assert all(labels[m] == 0 for m in WHEN_LABELS.values())
    assert "Which one is yours?" not in labels  # a question, not a button


#: Option labels that are no msgid, and why the quick-reply limit is kept without the catalog check.
DYNAMIC_LABELS = {
    "category(c)": "CATEGORY_LABELS, checked through BUTTON_TABLES",
    "service_label(c)": "the social map's CATEGORY_LABELS (handlers/socialmap.py), checked through BUTTON_TABLES",
    "_(label)": "WHEN_LABELS, checked through BUTTON_TABLES",
    "('✓ ' if c in chosen else '') + label(c)": "multiple choice lists of 7+ options: numbered lines, never buttons",
    "str(n)": "the weekly cap: 1, 2, 3, 5",
    "LANGUAGES[c]": "each language's own name: test_languages checks it fits",
    "nb.name": "a neighbourhood's name: data, and the sender falls back to numbered lines when long",
    "f\"{o['label']}: {o['topic']}\"": "which waiting question: numbered lines, the sender falls back when long",
    "p.first_name or '?'": "a person's first name (a phone round's person): data, as nb.name",
    "v.first_name or '?'": "a volunteer's first name (a phone round's caller): data, as nb.name",
    "person.first_name or '?'": "a person's first name (/week): data, as nb.name",
    "('✓ ' if d in days else '') + weekday_name(d)": "a weekday's name from CLDR (at most 13 letters), ticked",
    "_first_upper(day_words(d, today))": "a visit day (reminders): Today, Tomorrow or a date as format_day says it",
    "o.label": "the reminders' parts of the day: the literal _() labels of the Options just above it",
    "v.first_name": "a volunteer's first name (the coordinator's volunteers list): data, as nb.name",
    "_(BUTTON_LABELS[kind])": "a broadcast's answer buttons: BUTTON_TABLES (catalog_check.py)",
}



def test_every_option_label_is_a_checked_msgid_or_a_known_dynamic_one():
    unknown = []
    for folder in ("handlers", "bot"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) == "Option" \
                        and node.args and _literal(node.args[0]) is None \
                        and ast.unparse(node.args[0]) not in DYNAMIC_LABELS:
                    unknown.append(f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node.args[0])}")
    assert unknown == [], "a new kind of button label: make it a literal _() or add it to DYNAMIC_LABELS"


def test_language_names_fit_a_button(ten_languages):
    assert all(len(name) <= BUTTON_MAX for name in LANGUAGES.values())


# ---- Telegram callback_data: every builder, the largest values -----------------------------
BIGGEST_ID = 2**63 - 1  # a BIGINT: no id a database hands out is longer
PLAUSIBLE_ID = 10**11 - 1  # the longest id Payload.record_id accepts


def _values(name: str, ids: int, languages: list[str]) -> list:
    coord_actions = ["pending", "open", "volunteers", "proxy", "invite", "invite:volunteer", "invite:coordinator",
                     "invite:partner", "invite:keyfigure"]
    table = {
        "request_id": [ids], "person_id": [ids], "alert_id": [ids], "nb_id": [ids], "n": [ids],
        "code": [*languages, *CATEGORIES, *SPOKEN, "done", "other"],
        "which": ["help", "give", "both"], "kind": [*WHEN_LABELS, "date"], "prefix": ["offercat", "offerlang"],
        "decision": list(payloads.DECISIONS), "action": [*coord_actions, *payloads.ALERT_ACTIONS],
        "choice": list(payloads.PROFESSIONAL_CHOICES),
    }
    assert name in table, f"a payload builder with a new parameter {name!r}: give it its largest values here"
    return table[name]


def _builders():
    return [(n, f) for n, f in inspect.getmembers(payloads, inspect.isfunction)
            if f.__module__ == payloads.__name__ and not n.startswith("_") and n not in ("parse", "arg")]


def _calls(fn, ids: int, languages: list[str]):
    params = list(inspect.signature(fn).parameters)
    combos = [[]]
    for name in params:
        combos = [c + [v] for c in combos for v in _values(name, ids, languages)]
    for args in combos:
        try:
            yield args, fn(*args)
        except AssertionError:  # a builder that refuses a value (volunteer("ok") only takes DECISIONS)
            continue


def test_every_payload_fits_telegrams_callback_data_with_the_largest_values(ten_languages):
    longest_code = max([*LANGUAGES, "zh-hant-tw"], key=len)  # a language code as long as a tag may get
    built = 0
    for name, fn in _builders():
        for args, payload in _calls(fn, BIGGEST_ID, [*LANGUAGES, longest_code]):
            assert 0 < len(payload.encode()) <= payloads.MAX_BYTES, (name, args, payload)
            assert str(payloads.parse(payload)) == payload  # the one parser reads it back whole
            built += 1
    assert built > 50 and {n for n, _f in _builders()} >= {"claim", "lang", "volunteer", "alert", "coord", "pick"}


def test_payloads_with_the_largest_plausible_ids_name_their_record():
    for name, fn in _builders():
        params = list(inspect.signature(fn).parameters)
        if params and params[-1] in ("request_id", "person_id", "alert_id"):
            for args, payload in _calls(fn, PLAUSIBLE_ID, []):
                assert payloads.parse(payload).record_id == PLAUSIBLE_ID, (name, payload)


@pytest.mark.parametrize("payload", ["x" * 65, "claim:" + "9" * 80])
def test_the_builders_refuse_what_would_not_fit(payload):
    kind, _sep, rest = payload.partition(":")
    with pytest.raises(AssertionError):
        payloads._build(kind, rest) if rest else payloads._build(kind)
