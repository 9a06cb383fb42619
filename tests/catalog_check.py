"""Translation QA for every catalog (run by ``scripts/i18n.py --check`` and tests/test_catalogs.py).

- complete: every msgid of the template translated, no fuzzy entry or header;
- placeholders: the same {names} on both sides (a missing {name} would crash a reply);
- plurals: the header's nplurals/plural are Babel's CLDR rule for the language (ar 6, pl 3, tr 2)
  and every plural entry has exactly that many non-empty forms, each with the msgid's
  placeholders (a form may leave out the count itself: Arabic says "two tasks" in one word);
- length: button labels fit a WhatsApp quick-reply button (20 characters) in every language.

Which msgids are button labels is read from the code: the literal first argument of every
``Option(_("..."), ...)`` (handlers/ and bot/), plus the label tables shown as buttons
(BUTTON_TABLES). A label with a placeholder is measured with a typical value in its place.
"""
from __future__ import annotations

import ast
import gettext
import re
from functools import lru_cache
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import PoFileError, read_po

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ROOT / "locales"
FIELD = re.compile(r"(?<!\{)\{([a-z_]+)\}(?!\})")
#: Characters WhatsApp shows on a quick-reply button (bot/channels/twilio/sender.py BUTTON_TITLE).
BUTTON_MAX = 20
#: What a placeholder in a button label stands for when it is measured ("Take #{id}" -> "Take #12345").
TYPICAL = {"id": "12345", "n": "12"}
TYPICAL_OTHER = "Fatima"
#: Tables of labels (N_ strings) that are shown as buttons, with the characters added in front
#: (handlers.labels.category puts an icon and a space before a category's label).
BUTTON_TABLES = {"CATEGORY_LABELS": 2, "WHEN_LABELS": 0, "BUTTON_LABELS": 0}
CODE_DIRS = ("handlers", "bot")


def fields(text: str) -> set[str]:
    return set(FIELD.findall(text or ""))


def cldr_plural(lang: str) -> tuple[int, str]:
    """Babel's plural rule for a language, as ``pybabel init`` writes it into a catalog header."""
    cat = Catalog(locale=lang)
    return cat.num_plurals, cat.plural_expr


def same_rule(expr: str, wanted: str) -> bool:
    """Two C plural expressions pick the same form for every count that matters."""
    if " ".join(expr.split()) == " ".join(wanted.split()):
        return True
    try:
        a, b = gettext.c2py(expr), gettext.c2py(wanted)
    except (ValueError, SyntaxError):
        return False
    return all(a(n) == b(n) for n in [*range(0, 1200), 10**6, 2 * 10**6])


def measured(label: str) -> int:
    """A label's length with typical values for its placeholders."""
    return len(FIELD.sub(lambda m: TYPICAL.get(m.group(1), TYPICAL_OTHER), label))


def _literal(node: ast.AST) -> str | tuple[str, str] | None:
    """The msgid of ``_("...")``, ``N_("...")`` or ``ngettext("...", "...", n)``."""
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
        return None
    strings = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
    if node.func.id in ("_", "N_") and len(strings) >= 1:
        return strings[0]
    if node.func.id == "ngettext" and len(strings) >= 2:
        return strings[0], strings[1]
    return None


def _tables(tree: ast.AST) -> dict[str, list[str]]:
    """Module-level ``NAME = {"code": N_("label"), ...}`` tables."""
    found = {}
    for node in getattr(tree, "body", []):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict) and len(node.targets) == 1 \
                and isinstance(node.targets[0], ast.Name) and node.targets[0].id in BUTTON_TABLES:
            found[node.targets[0].id] = [m for m in map(_literal, node.value.values) if isinstance(m, str)]
    return found


@lru_cache(maxsize=4)
def button_labels(root: Path = ROOT) -> dict[str | tuple[str, str], int]:
    """msgid -> the characters added in front of it on a button, for every label the code shows."""
    labels: dict[str | tuple[str, str], int] = {}
    for folder in CODE_DIRS:
        for path in sorted((root / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for table, values in _tables(tree).items():
                for mid in values:
                    labels[mid] = max(labels.get(mid, 0), BUTTON_TABLES[table])
            for node in ast.walk(tree):
                if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) == "Option" \
                        and node.args:
                    mid = _literal(node.args[0])
                    if mid is not None:
                        labels.setdefault(mid, 0)
    return labels


def problems(locales_dir: Path = LOCALES, buttons: dict | None = None) -> list[str]:
    with (locales_dir / "messages.pot").open("rb") as fp:
        template = read_po(fp)
    buttons = button_labels() if buttons is None else buttons
    wanted = {m.id for m in template if m.id}
    found: list[str] = []
    for po in sorted(locales_dir.glob("*/LC_MESSAGES/messages.po")):
        lang = po.parts[-3]
        with po.open("rb") as fp:
            cat = read_po(fp, locale=lang)
        found += _extra_forms(po, lang)
        if cat.fuzzy:
            found.append(f"{lang}: the catalog header is marked fuzzy (pybabel compile would skip it)")
        nplurals, rule = cldr_plural(lang)
        if cat.num_plurals != nplurals or not same_rule(cat.plural_expr, rule):
            found.append(f"{lang}: Plural-Forms is 'nplurals={cat.num_plurals}; plural={cat.plural_expr}', "
                         f"Babel's rule for {lang} is 'nplurals={nplurals}; plural={rule}'")
        have = {m.id: m for m in cat if m.id}
        for mid in sorted(wanted, key=str):
            msg = have.get(mid)
            first = mid if isinstance(mid, str) else mid[0]
            if msg is None:
                found.append(f"{lang}: missing {first[:60]!r}")
                continue
            found += _entry_problems(lang, mid, msg, nplurals, buttons)
    return found


def _extra_forms(po: Path, lang: str) -> list[str]:
    """More forms than the header's nplurals: read_po drops them silently unless asked to abort."""
    try:
        with po.open("rb") as fp:
            read_po(fp, locale=lang, abort_invalid=True)
    except PoFileError as exc:
        return [f"{lang}: {exc}"]
    return []


def _entry_problems(lang: str, mid, msg, nplurals: int, buttons: dict) -> list[str]:
    first = mid if isinstance(mid, str) else mid[0]
    plural = isinstance(mid, tuple)
    strings = tuple(msg.string) if isinstance(msg.string, (tuple, list)) else (msg.string,)
    if plural and not msg.fuzzy and any(strings) and (len(strings) != nplurals or not all(strings)):
        # read_po pads missing forms with "" (and drops extra ones: see _extra_forms)
        return [f"{lang}: {first[:60]!r} has {sum(map(bool, strings))} plural forms, {lang} has {nplurals}"]
    if msg.fuzzy or not all(strings):
        return [f"{lang}: untranslated {first[:60]!r}"]
    out = []
    expected = set().union(*(fields(i) for i in (mid if plural else (mid,))))
    needed = expected - {"n"} if plural else expected  # a plural form may say the count in words
    for s in strings:
        if fields(s) - expected or not needed <= fields(s):
            out.append(f"{lang}: placeholders differ in {first[:60]!r}: {sorted(fields(s))} vs {sorted(expected)}")
    if mid in buttons:
        for s in strings:
            if measured(s) + buttons[mid] > BUTTON_MAX:
                out.append(f"{lang}: button label longer than {BUTTON_MAX} characters: {s!r} ({first[:40]!r})")
    return out
