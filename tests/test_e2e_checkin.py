"""End to end, as an operator and Twilio see it: `buurtbot checkin add` on a fresh database in
an empty directory, `buurtbot run` with voice and SMS configured, `buurtbot tick --at` as a
rehearsal, and Twilio's voice side (tests/twilio_carrier.py) behind a Prism-checked edge: the
call is placed by the running process, its TwiML fetched from our URL, the digit posted to the
Gather action, status callbacks signed -- and forged ones refused."""
from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest

from tests.processes import stop
from tests.twilio_carrier import Carrier
from tests.twilio_edge import ACCOUNT_SID, AUTH_TOKEN, free_port, prism, twilio_edge  # noqa: F401  (fixtures)

VOICE_FROM, SMS_FROM = "+3224000002", "+3224000001"
MARIA = "+3225551234"
WAIT = 40.0


def cli() -> list[str]:
    script = Path(sys.executable).with_name("buurtbot")
    return [str(script)] if script.exists() else [sys.executable, "-m", "bot.cli"]


class Operator:
    """A fresh directory, a fresh database, and the commands an operator types."""

    def __init__(self, tmp_path: Path, edge_url: str) -> None:
        self.dir, self.port = tmp_path, free_port()
        self.public = f"http://127.0.0.1:{self.port}"
        self.db = tmp_path / "bot.db"
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("TELEGRAM_", "TWILIO_", "DATABASE_URL", "PUBLIC_BASE_URL"))}
        self.env.update(DATABASE_URL=f"sqlite:///{self.db}", PORT=str(self.port), LOG_LEVEL="INFO",
                        PUBLIC_BASE_URL=self.public, TWILIO_ACCOUNT_SID=ACCOUNT_SID, TWILIO_AUTH_TOKEN=AUTH_TOKEN,
                        TWILIO_VOICE_FROM=VOICE_FROM, TWILIO_SMS_FROM=SMS_FROM, TWILIO_API_BASE_URL=edge_url,
                        SCHEDULER_TICK_SECONDS="3600")  # only `tick --at` moves time here
        self.proc: subprocess.Popen | None = None

    def run(self, *args: str) -> subprocess.CompletedProcess:
        done = subprocess.run([*cli(), *args], env=self.env, cwd=self.dir, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "Traceback" not in done.stderr
        return done

    def start(self) -> None:
        self.proc = subprocess.Popen([*cli(), "run"], env=self.env, cwd=self.dir, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.public}/healthz", timeout=1).status_code in (200, 503):
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise AssertionError("buurtbot run did not start")

    def stop(self) -> str:
        assert self.proc is not None
        stop(self.proc)
        out, _ = self.proc.communicate(timeout=20)
        return out

    def query(self, sql: str, *args) -> list[tuple]:
        with sqlite3.connect(self.db) as db:
            return db.execute(sql, args).fetchall()


def wait_for(predicate, what: str) -> None:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"waited in vain for {what}")


@pytest.fixture
def world(tmp_path, twilio_edge):
    op = Operator(tmp_path, twilio_edge.url)
    carrier = Carrier(ACCOUNT_SID, AUTH_TOKEN)
    twilio_edge.on_call = carrier.place
    op.run("db", "upgrade")
    op.run("neighbourhood", "add", "--name", "Etterbeek", "--slug", "etterbeek", "--postcodes", "1040")
    yield op, carrier, twilio_edge
    if op.proc is not None and op.proc.poll() is None:
        op.stop()
    carrier.close()


def _enrol(op: Operator, days: str = "mon,tue,wed,thu,fri,sat,sun") -> None:
    op.run("checkin", "add", "--neighbourhood", "etterbeek", "--name", "Maria", "--phone", MARIA, "--language", "nl",
           "--channel", "voice", "--days", days, "--time", "10:00", "--street", "Oudergemselaan 12",
           "--sender", "Fatima van het wijkhuis", "--consent", "by phone with Fatima")


def _next_ten(op: Operator) -> str:
    """The plan's next due time as `checkin list` prints it is not parsed: tomorrow 10:00 is due for a daily plan."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    tomorrow = datetime.now(ZoneInfo("Europe/Brussels")).date() + timedelta(days=1)
    return f"{tomorrow.isoformat()}T10:00"


def test_a_voice_check_in_is_called_and_answered_with_one(world):
    op, carrier, edge = world
    _enrol(op)
    listed = op.run("checkin", "list", "--neighbourhood", "etterbeek").stdout
    assert "Maria" in listed and MARIA not in listed  # no phone numbers in a list by default
    carrier.script(MARIA, "human", ["1"])
    op.start()
    at = _next_ten(op)
    first = op.run("tick", "--at", at)
    summary = json.loads(first.stdout.strip().splitlines()[-1])
    assert summary["sweeps"]["checkins"] == 1
    wait_for(lambda: carrier.calls and carrier.calls[0].done.is_set(), "the call to end")
    (call,) = carrier.calls
    assert not edge.refused_by_spec()
    (form,) = edge.calls(MARIA)
    assert form["From"] == VOICE_FROM and form["MachineDetection"] in ("Enable", "DetectMessageEnd")
    assert form["Url"].startswith(op.public + "/") and form["StatusCallback"].startswith(op.public + "/")
    spoken = " ".join(s["text"] for s in call.said)
    assert "Maria" in spoken and "Fatima" in spoken
    assert all(s.get("language", "").startswith("nl") for s in call.said)
    assert call.gathers and call.gathers[0]["input"] == "dtmf" and call.gathers[0]["numDigits"] == "1"
    assert all(code == 200 for code in call.fetches) and all(code in (200, 204) for _s, code in call.statuses)
    wait_for(lambda: op.query("select answer from checkin_occurrences") == [("ok",)], "the answer to be stored")
    # The same rehearsal time again does nothing; no second call.
    again = json.loads(op.run("tick", "--at", at).stdout.strip().splitlines()[-1])
    assert sum(again["sweeps"].values()) == 0
    assert len(edge.calls(MARIA)) == 1
    # A forged status callback is refused and changes nothing.
    params = {"AccountSid": ACCOUNT_SID, "CallSid": call.sid, "CallStatus": "busy", "To": MARIA, "From": VOICE_FROM}
    forged = httpx.post(form["StatusCallback"], content=urlencode(params),
                        headers={"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": "Zm9yZ2Vk"})
    assert forged.status_code == 403
    assert op.query("select answer, status from checkin_occurrences") == [("ok", "answered")]
    out = op.stop()
    assert "Traceback" not in out
    for secret in ("Maria", "555 12 34", "5551234", AUTH_TOKEN):
        assert secret not in out, out


def test_no_answer_is_called_again_ten_minutes_later_then_the_coordinator_hears(world):
    op, carrier, edge = world
    _enrol(op)
    carrier.script(MARIA, "no-answer")
    op.start()
    at = _next_ten(op)
    op.run("tick", "--at", at)
    wait_for(lambda: len(carrier.calls) == 1 and carrier.calls[0].done.is_set(), "the first call")
    wait_for(lambda: ("call", "no-answer") in op.query("select step, outcome from checkin_attempts"),
             "the no-answer to be logged")
    op.run("tick", "--at", at[:-5] + "10:05")
    assert len(edge.calls(MARIA)) == 1  # not yet: the retry is ten minutes after
    op.run("tick", "--at", at[:-5] + "10:11")
    wait_for(lambda: len(carrier.calls) == 2 and carrier.calls[1].done.is_set(), "the second call")
    assert len(edge.calls(MARIA)) == 2
    op.stop()
