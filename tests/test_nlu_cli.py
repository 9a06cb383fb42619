"""`buurtbot nlu`: the contract of NLU.md, run as an operator runs it -- the installed command, from
a directory that is not the repository, without a database or any credentials."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

#: Variables that would give the command a database or a channel: none of them may be needed.
SCRUB = {"DATABASE_URL", "TELEGRAM_BOT_TOKEN", "TELEGRAM_BOT_USERNAME", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN",
         "TWILIO_WHATSAPP_FROM", "TWILIO_SMS_FROM", "PYTHONPATH"}
KEYS = {"language", "kind", "category", "when", "urgent", "referral"}


def nlu(*args: str, cwd: Path, stdin: str | None = None) -> list[dict]:
    script = Path(sys.executable).with_name("buurtbot")
    env = {k: v for k, v in os.environ.items() if k.upper() not in SCRUB}
    done = subprocess.run([str(script), "nlu", *args], cwd=cwd, env=env, input=stdin, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_one_message_prints_one_object(tmp_path):
    out = nlu("Kan iemand morgen mijn boodschappen doen?", "--today", "2026-12-07", cwd=tmp_path)
    assert len(out) == 1
    assert KEYS <= set(out[0])
    assert out[0]["language"] == "nl" and out[0]["kind"] == "request" and out[0]["category"] == "shopping"
    assert out[0]["when"] == "2026-12-08" and out[0]["urgent"] is False and out[0]["referral"] is False
    assert list(tmp_path.iterdir()) == []  # no database file, nothing written


def test_batch_prints_one_line_per_input_line_in_order_an_empty_line_too(tmp_path):
    batch = tmp_path / "messages.txt"
    batch.write_text("J'ai besoin d'aide pour mes courses jeudi\n\nMijn buurman ligt op de grond en ademt niet\n"
                     "I'm going to the shop anyway, can I bring something for someone?\n", encoding="utf-8")
    out = nlu("--batch", str(batch), "--today", "2026-12-07", cwd=tmp_path)
    assert [o["language"] for o in out] == ["fr", out[1]["language"], "nl", "en"]
    assert out[0]["when"] == "2026-12-10" and out[0]["category"] == "shopping"
    assert out[1]["kind"] == "other" and out[1]["category"] is None and out[1]["urgent"] is False
    assert out[2]["urgent"] is True
    assert out[3]["kind"] == "offer" and out[3]["category"] == "shopping"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["messages.txt"]


def test_batch_reads_any_bytes_and_windows_line_ends(tmp_path):
    batch = tmp_path / "messages.txt"
    batch.write_bytes(b"Kan iemand helpen?\r\n\xff\xfe broken \x00 bytes\r\n" + "é".encode("latin-1") + b"\n")
    out = nlu("--batch", str(batch), cwd=tmp_path)
    assert len(out) == 3 and out[0]["kind"] == "request"


def test_batch_from_stdin_with_a_language_hint(tmp_path):
    out = nlu("--batch", "-", "--language", "fr", cwd=tmp_path, stdin="ok\nmerci\n")
    assert [o["language"] for o in out] == ["fr", "fr"]


@pytest.mark.parametrize("args", [[], ["text", "--batch", "-"], ["--today", "tomorrow", "x"],
                                  ["--batch", "missing.txt"]])
def test_wrong_use_is_refused_with_a_usage_line(tmp_path, args):
    script = Path(sys.executable).with_name("buurtbot")
    done = subprocess.run([str(script), "nlu", *args], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "usage: buurtbot nlu" in done.stderr


def test_a_lone_carriage_return_is_no_line_end_and_undecodable_bytes_no_traceback(tmp_path):
    batch = tmp_path / "messages.txt"
    batch.write_bytes(b"boodschappen\rmorgen\nc\n\n")
    assert len(nlu("--batch", str(batch), cwd=tmp_path)) == 3
    done = subprocess.run([str(Path(sys.executable).with_name("buurtbot")), "nlu", "--batch", "-"], cwd=tmp_path,
                          input=b"ok\n\xff x boodschappen\n", capture_output=True, timeout=120)
    assert done.returncode == 0 and done.stderr == b"" and len(done.stdout.splitlines()) == 2
