"""Catalog upkeep with the real Babel toolchain: extract, update every language, fill English.

    python scripts/i18n.py          # extract + update (+ English msgstr = msgid)
    python scripts/i18n.py --check  # fail if any catalog is incomplete, fuzzy, has other {placeholders},
                                    # plural forms other than CLDR's, or a button label over 20 characters

English is the source language, so its catalog is filled from the msgids; every other
language is translated by a person and checked by tests/test_catalogs.py.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ROOT / "locales"
POT = LOCALES / "messages.pot"
KEYWORDS = ["-k", "_", "-k", "N_", "-k", "ngettext:1,2", "-k", "pgettext:1c,2"]


def pybabel(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", *args], check=True, cwd=ROOT)


def languages() -> list[str]:
    return sorted(p.name for p in LOCALES.iterdir() if (p / "LC_MESSAGES" / "messages.po").exists())


def fill_english() -> None:
    path = LOCALES / "en" / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as fp:
        cat = read_po(fp, locale="en")
    cat.fuzzy = False
    for msg in cat:
        if msg.id and (not msg.string or (isinstance(msg.string, tuple) and not all(msg.string))):
            msg.string = msg.id
        msg.flags.discard("fuzzy")
    with path.open("wb") as fp:
        write_po(fp, cat, omit_header=False, sort_output=True, include_previous=False)


def main(argv: list[str]) -> int:
    if "--check" in argv:
        sys.path.insert(0, str(ROOT))
        from tests.catalog_check import problems

        found = problems()
        for line in found:
            print(line)
        return 1 if found else 0
    pybabel("extract", "-F", "babel.cfg", *KEYWORDS, "--add-comments=TRANSLATORS:", "--no-location",
            "--sort-output", "--project=buurtbot", "--copyright-holder=buurtbot contributors", "-o", str(POT), ".")
    pybabel("update", "-i", str(POT), "-d", str(LOCALES), "-D", "messages", "--no-fuzzy-matching",
            "--ignore-obsolete")
    fill_english()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
