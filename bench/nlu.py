"""Free-text understanding (handlers/understand.py): accuracy per language and field on a labelled
set, messages per second of the understanding step on one core, start-up of `buurtbot nlu`, peak RSS.

    .venv/bin/python bench/nlu.py                         # tests/testdata/nlu_eval.tsv, else nlu_dev.tsv
    .venv/bin/python bench/nlu.py --data FILE.tsv --errors    # and list every message it got wrong
    .venv/bin/python bench/nlu.py --profile nlu.prof          # cProfile the timed loop (pstats format)
    .venv/bin/python bench/nlu.py --dateparser                # how fast dateparser's search_dates is here
    .venv/bin/python bench/nlu.py --locales /tmp/locales-copy  # lexicon edits tried out in a copy

The set is a TSV with a header line ``text language kind category when urgent referral``; ``when`` is
an ISO date read relative to a ``# today: YYYY-MM-DD`` line; an empty cell is "nothing" (None), and
a message in a language the bot does not speak has language ``other`` (or its own code: el, ru...).

Figures are printed, never asserted (tests/test_understand.py checks behaviour). Speed: every
message of the set understood again and again for --seconds, after one warm-up pass (the lexicons
and lingua's models load once, at start), in this one process, so that it is one core's rate.
Start-up: `buurtbot nlu "..."` as a fresh subprocess, the median of three.
"""
from __future__ import annotations

import argparse
import csv
import resource
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATA = ROOT / "tests" / "testdata"
FIELDS = ("language", "kind", "category", "when", "urgent", "referral")
OTHERS = {"other", "el", "bg", "ru", "uk", "ln", "ber"}


def default_data() -> Path:
    evaluation = DATA / "nlu_eval.tsv"
    return evaluation if evaluation.exists() else DATA / "nlu_dev.tsv"


def read_set(path: Path) -> tuple[date, list[dict[str, str]]]:
    today, lines = date.today(), []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            key, _sep, value = line.lstrip("# ").partition(":")
            if key.strip().lower() == "today":
                today = date.fromisoformat(value.strip())
            continue
        if line.strip():
            lines.append(line)
    rows = list(csv.DictReader(lines, delimiter="\t", quoting=csv.QUOTE_NONE))
    return today, [{k.strip().lower(): (v or "").strip() for k, v in row.items() if k} for row in rows]


def expected_language(row: dict[str, str]) -> str:
    lang = row.get("language", "").lower()
    return "other" if lang in OTHERS else lang


def got(field: str, answer) -> str:
    value = answer.as_json()[field] if field != "language" else answer.language
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def truth(field: str, row: dict[str, str]) -> str | None:
    """The label, normalised; None when the set leaves the field out."""
    if field not in row:
        return None
    value = row[field].lower()
    if field == "language":
        return expected_language(row)
    if field in ("urgent", "referral"):
        return "true" if value in ("true", "1", "yes", "y") else "false"
    return "" if value in ("", "none", "null", "-") else value


def accuracy(rows: list[dict[str, str]], today: date, show_errors: bool) -> None:
    from handlers.understand import understand

    right: dict[tuple[str, str], int] = defaultdict(int)
    total: dict[tuple[str, str], int] = defaultdict(int)
    urgent_missed = urgent_total = confused = requests_offers = 0
    for row in rows:
        answer = understand(row["text"], today=today)
        lang = expected_language(row)
        for field in FIELDS:
            want = truth(field, row)
            if want is None or (lang == "other" and field in ("kind", "category", "when")):
                continue  # what an unspoken language asks is for a person to read
            ok = got(field, answer) == want
            for key in ((lang, field), ("all", field)):
                total[key] += 1
                right[key] += ok
            if not ok and show_errors:
                print(f"  {lang} {field}: want {want!r} got {got(field, answer)!r}: {row['text'][:90]}")
        if truth("urgent", row) == "true":
            urgent_total += 1
            urgent_missed += not answer.urgent
        if truth("kind", row) in ("request", "offer"):
            requests_offers += 1
            confused += {truth("kind", row), answer.kind} == {"request", "offer"}
    langs = sorted({k[0] for k in total if k[0] != "all"}) + ["all"]
    print(f"{'':6}" + "".join(f"{f:>10}" for f in FIELDS) + f"{'n':>6}")
    for lang in langs:
        cells = "".join(f"{100 * right[lang, f] / total[lang, f]:9.0f}%" if total[lang, f] else f"{'-':>10}"
                        for f in FIELDS)
        print(f"{lang:6}{cells}{max(total[lang, f] for f in FIELDS):6}")
    print(f"emergency recall: {urgent_total - urgent_missed}/{urgent_total}; offer/request confusion: "
          f"{confused}/{requests_offers} ({100 * confused / max(requests_offers, 1):.1f} %)")


def speed(texts: list[str], today: date, seconds: float, profile: str | None) -> None:
    from handlers import language_id
    from handlers.understand import understand

    started = time.perf_counter()
    language_id.preload()
    for text in texts:
        understand(text, today=today)
    print(f"warm-up (lexicons, lingua models, one pass): {time.perf_counter() - started:.2f} s")

    def loop() -> tuple[int, float, float]:
        n, t0, c0 = 0, time.perf_counter(), time.process_time()
        while time.perf_counter() - t0 < seconds:
            for text in texts:
                understand(text, today=today)
            n += len(texts)
        return n, time.perf_counter() - t0, time.process_time() - c0

    if profile:
        import cProfile

        prof = cProfile.Profile()
        n, wall, cpu = prof.runcall(loop)
        prof.dump_stats(profile)
    else:
        n, wall, cpu = loop()
    print(f"understanding: {n} msgs in {wall:.1f} s = {n / wall:.0f} msg/s (CPU {1000 * cpu / n:.2f} ms/msg = "
          f"{n / cpu:.0f} msg/s on one core), peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MB")


def startup() -> None:
    script = Path(sys.executable).with_name("buurtbot")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "bot.cli"]
    times, cpu = [], []
    for _ in range(3):
        t0, c0 = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run([*command, "nlu", "Kan iemand morgen mijn boodschappen doen?"], check=True,
                       capture_output=True, cwd="/")
        c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        times.append(time.perf_counter() - t0)
        cpu.append(c1.ru_utime + c1.ru_stime - c0.ru_utime - c0.ru_stime)
    print(f"start-up of `buurtbot nlu \"...\"` (one message, fresh process): median {statistics.median(times):.2f} s "
          f"wall, {statistics.median(cpu):.2f} s CPU (wall includes waiting for a busy machine's cores)")


def dateparser_speed(texts: list[str]) -> None:
    try:
        from dateparser.search import search_dates
    except ImportError:
        print("dateparser is not installed (pip install dateparser to measure it)")
        return
    from handlers.lexicon import LANGUAGES

    languages = list(LANGUAGES)  # restricted to the bot's languages: its fastest use
    t0 = time.perf_counter()
    search_dates(texts[0], languages=languages)
    first = time.perf_counter() - t0
    t0, n = time.perf_counter(), 0
    for text in texts:
        search_dates(text, languages=languages, settings={"PREFER_DATES_FROM": "future"})
        n += 1
    wall = time.perf_counter() - t0
    print(f"dateparser.search_dates ({', '.join(languages)}): first call {first:.2f} s, then {n / wall:.0f} msg/s "
          "(dates alone)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=None, help="labelled TSV (default: nlu_eval.tsv, else nlu_dev.tsv)")
    ap.add_argument("--seconds", type=float, default=5.0, help="how long to measure speed")
    ap.add_argument("--errors", action="store_true", help="print every wrong field")
    ap.add_argument("--profile", metavar="FILE", help="cProfile the timed loop into FILE (pstats format)")
    ap.add_argument("--dateparser", action="store_true", help="also measure dateparser.search_dates on the set")
    ap.add_argument("--locales", type=Path, help="read the words from this copy of locales/ (trying out lexicons)")
    args = ap.parse_args(argv)
    if args.locales:
        from handlers import lexicon

        lexicon.use(args.locales)
    path = args.data or default_data()
    today, rows = read_set(path)
    print(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: {len(rows)} messages, today {today}")
    texts = [row["text"] for row in rows]
    speed(texts, today, args.seconds, args.profile)
    accuracy(rows, today, args.errors)
    startup()
    if args.dateparser:
        dateparser_speed(texts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
