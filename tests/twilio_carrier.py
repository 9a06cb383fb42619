"""Twilio's voice side, played on loopback: what happens after ``calls.create`` was answered.

Twilio itself cannot be reached from here, so this plays its part exactly as its documentation
says, and only that: for each call the (Prism-checked) edge accepted it posts the status
callbacks asked for (``StatusCallbackEvent``: initiated, ringing, answered, completed), fetches
the TwiML from the call's ``Url`` (or reads ``Twiml``), follows ``<Gather>``'s ``action`` with
the digits the test scripted for that number, ``<Redirect>``, and a ``<Gather>`` without input
falls through to the next verb -- every request signed with the account's auth token
(``X-Twilio-Signature``), as form posts with Twilio's parameters. What each number does is
scripted: ``human`` with digits, ``machine`` (answering machine detection), ``busy``,
``no-answer``, ``failed``. ``calls`` records what was said on each call.
"""
from __future__ import annotations

import threading
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

import httpx
from twilio.request_validator import RequestValidator


@dataclass
class Script:
    answer: str = "human"  # human | machine | busy | no-answer | failed
    digits: list[str] = field(default_factory=list)


@dataclass
class Call:
    sid: str
    to: str
    form: dict
    said: list[dict] = field(default_factory=list)  # {"text", "language", "voice"}
    gathers: list[dict] = field(default_factory=list)  # the attributes of every <Gather>
    statuses: list[tuple[str, int]] = field(default_factory=list)  # (CallStatus, HTTP status of our post)
    fetches: list[int] = field(default_factory=list)  # HTTP status of each TwiML fetch
    done: threading.Event = field(default_factory=threading.Event)


class Carrier:
    def __init__(self, account_sid: str, auth_token: str) -> None:
        self.account_sid, self.validator = account_sid, RequestValidator(auth_token)
        self.scripts: dict[str, Script] = {}
        self.calls: list[Call] = []
        self.http = httpx.Client(timeout=30)
        self.lock = threading.Lock()

    def script(self, to: str, answer: str = "human", digits: list[str] | None = None) -> None:
        self.scripts[to] = Script(answer, list(digits or []))

    # ---- the call ----------------------------------------------------------------------------
    def place(self, form: dict) -> str:
        """A call Twilio accepted: plays it in a thread of its own; returns its CallSid."""
        call = Call("CA" + uuid.uuid4().hex, form.get("To", ""), form)
        with self.lock:
            self.calls.append(call)
        # As on the real network, the callbacks come a moment after calls.create has returned.
        timer = threading.Timer(0.2, self._play, args=(call,))
        timer.daemon = True
        timer.start()
        return call.sid

    def _params(self, call: Call, status: str, **extra) -> dict:
        params = {"AccountSid": self.account_sid, "CallSid": call.sid, "From": call.form.get("From", ""),
                  "To": call.to, "Called": call.to, "Caller": call.form.get("From", ""), "CallStatus": status,
                  "Direction": "outbound-api", "ApiVersion": "2010-04-01"}
        params.update({k: v for k, v in extra.items() if v is not None})
        return params

    def post(self, url: str, params: dict) -> httpx.Response:
        signature = self.validator.compute_signature(url, params)
        return self.http.post(url, data=params, headers={"X-Twilio-Signature": signature})

    def _status(self, call: Call, event: str, status: str, sequence: int, **extra) -> None:
        url = call.form.get("StatusCallback")
        events = call.form.get("StatusCallbackEvent") or ["completed"]
        events = [events] if isinstance(events, str) else events
        if not url or (event not in events and event != "completed"):
            return
        params = self._params(call, status, CallbackSource="call-progress-events", SequenceNumber=str(sequence),
                              **extra)
        call.statuses.append((status, self.post(url, params).status_code))

    def _play(self, call: Call) -> None:
        try:
            script = self.scripts.get(call.to, Script())
            self._status(call, "initiated", "initiated", 0)
            self._status(call, "ringing", "ringing", 1)
            if script.answer in ("busy", "no-answer", "failed"):
                self._status(call, "completed", script.answer, 2, CallDuration="0")
                return
            answered_by = "machine_end_beep" if script.answer == "machine" else "human"
            amd = answered_by if call.form.get("MachineDetection") else None
            self._status(call, "answered", "in-progress", 2, AnsweredBy=amd)
            digits = list(script.digits)
            if call.form.get("Twiml"):
                twiml = call.form["Twiml"]
            else:
                twiml = self._fetch(call, call.form["Url"], self._params(call, "in-progress", AnsweredBy=amd))
            hops = 0
            while twiml is not None and hops < 20:
                hops += 1
                twiml = self._run(call, twiml, digits, amd)
            self._status(call, "completed", "completed", 3, CallDuration=str(10 * hops), AnsweredBy=amd)
        finally:
            call.done.set()

    def _fetch(self, call: Call, url: str, params: dict) -> str | None:
        response = self.post(url, params)
        call.fetches.append(response.status_code)
        return response.text if response.status_code == 200 else None

    def _run(self, call: Call, twiml: str, digits: list[str], amd: str | None) -> str | None:
        """Runs one TwiML document; returns the next document to run (a Gather's action, a
        Redirect), or None when the call ends."""
        root = ET.fromstring(twiml)
        assert root.tag == "Response", twiml
        for verb in root:
            if verb.tag == "Say":
                call.said.append({"text": verb.text or "", **verb.attrib})
            elif verb.tag == "Gather":
                call.gathers.append(dict(verb.attrib))
                for inner in verb:
                    if inner.tag == "Say":
                        call.said.append({"text": inner.text or "", **inner.attrib})
                if digits:
                    pressed = digits.pop(0)
                    action = verb.attrib.get("action")
                    assert action, "a Gather without action posts to the document's own URL -- not used here"
                    return self._fetch(call, action, self._params(call, "in-progress", Digits=pressed, AnsweredBy=amd,
                                                                  FinishedOnKey=""))
                # no input: Twilio goes on with the next verb
            elif verb.tag == "Redirect":
                return self._fetch(call, (verb.text or "").strip(), self._params(call, "in-progress", AnsweredBy=amd))
            elif verb.tag in ("Hangup", "Reject"):
                return None
        return None

    def wait(self, timeout: float = 30.0) -> None:
        for call in list(self.calls):
            assert call.done.wait(timeout), f"call {call.sid} did not end"

    def close(self) -> None:
        self.http.close()
