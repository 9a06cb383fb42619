"""Catalog completeness: every msgid of the template translated in every language, no fuzzy
entries, and the same {placeholders} on both sides (a missing {name} would crash a reply)."""
from __future__ import annotations

import re
from pathlib import Path

from babel.messages.pofile import read_po

LOCALES = Path(__file__).resolve().parent.parent / "locales"
FIELD = re.compile(r"(?<!\{)\{([a-z_]+)\}(?!\})")


def fields(text: str) -> set[str]:
    return set(FIELD.findall(text or ""))


def problems(locales_dir: Path = LOCALES) -> list[str]:
    with (locales_dir / "messages.pot").open("rb") as fp:
        template = read_po(fp)
    wanted = {m.id for m in template if m.id}
    found: list[str] = []
    for po in sorted(locales_dir.glob("*/LC_MESSAGES/messages.po")):
        lang = po.parts[-3]
        with po.open("rb") as fp:
            cat = read_po(fp, locale=lang)
        if cat.fuzzy:
            found.append(f"{lang}: the catalog header is marked fuzzy (pybabel compile would skip it)")
        have = {m.id: m for m in cat if m.id}
        for mid in sorted(wanted, key=str):
            msg = have.get(mid)
            first = mid if isinstance(mid, str) else mid[0]
            if msg is None:
                found.append(f"{lang}: missing {first[:60]!r}")
                continue
            strings = msg.string if isinstance(msg.string, tuple) else (msg.string,)
            if msg.fuzzy or not all(strings):
                found.append(f"{lang}: untranslated {first[:60]!r}")
                continue
            ids = mid if isinstance(mid, tuple) else (mid,)
            expected = set().union(*(fields(i) for i in ids))
            for s in strings:
                if fields(s) - expected or (isinstance(mid, str) and fields(s) != expected):
                    found.append(
                        f"{lang}: placeholders differ in {first[:60]!r}: {sorted(fields(s))} vs {sorted(expected)}"
                    )
    return found
