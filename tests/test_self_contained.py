"""A fresh clone passes on its own: nothing the tests read lies outside the repository."""
from __future__ import annotations

import re
from pathlib import Path

from tests import telegram_fake, twilio_edge

ROOT = Path(__file__).resolve().parent.parent


def test_the_platform_specs_are_vendored_inside_the_repository():
    for spec in (Path(telegram_fake.SPEC_PATH), twilio_edge.SPEC):
        assert spec.resolve().is_relative_to(ROOT), spec
        assert spec.is_file() and spec.stat().st_size > 10_000
        licence = spec.parent / (spec.name.split("_")[0].split(".")[0] + ".LICENSE")
        assert any(p.suffix == ".LICENSE" for p in spec.parent.iterdir()), licence


def test_no_test_or_script_reaches_beside_the_repository():
    pattern = re.compile(r"""parents\[2\]|\.\./shared|ROOT\.parent|"shared"\s*/""")
    offenders = [
        str(p.relative_to(ROOT))
        for folder in ("tests", "bench", "scripts")
        for p in (ROOT / folder).rglob("*")
        if p.is_file()
        and p.suffix in (".py", "")
        and "node_modules" not in p.parts
        and p.name != Path(__file__).name
        and pattern.search(p.read_text(errors="replace"))
    ]
    assert offenders == []
