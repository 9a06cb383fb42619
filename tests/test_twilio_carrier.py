"""The voice carrier the end-to-end tests rely on is itself checked: the real twilio client's
``calls.create`` passes Prism (Twilio's spec), and then every request the carrier makes is
signed as Twilio signs (RequestValidator accepts it), carries Twilio's parameters, and follows
the TwiML it is given: Gather's action with the digit, and on to the next verb without one."""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

from twilio.request_validator import RequestValidator
from twilio.rest import Client

from tests.twilio_carrier import Carrier
from tests.twilio_edge import ACCOUNT_SID, AUTH_TOKEN, prism, twilio_edge  # noqa: F401  (fixtures)

MENU = ('<?xml version="1.0" encoding="UTF-8"?><Response><Gather input="dtmf" numDigits="1" action="{base}/gather">'
        '<Say language="nl-BE" voice="Polly.Lisa-Neural">Druk op 1.</Say></Gather>'
        '<Say language="nl-BE">Ik hoorde niets.</Say><Hangup/></Response>')
THANKS = '<?xml version="1.0" encoding="UTF-8"?><Response><Say>Dank u.</Say><Hangup/></Response>'


class Site:
    """A stand-in for buurtbot's voice routes: it only checks signatures and answers TwiML."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, dict, bool]] = []
        site, validator = self, RequestValidator(AUTH_TOKEN)

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                form = dict(parse_qsl(body, keep_blank_values=True))
                url = site.base + self.path
                valid = validator.validate(url, form, self.headers.get("X-Twilio-Signature", ""))
                site.posts.append((self.path, form, valid))
                text = {"/twiml": MENU.format(base=site.base), "/gather": THANKS}.get(self.path, "")
                data = text.encode()
                self.send_response(200 if valid else 403)
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def _call(twilio_edge, carrier: Carrier, site: Site, to: str):
    client = Client(ACCOUNT_SID, AUTH_TOKEN)
    client.api.base_url = twilio_edge.url
    twilio_edge.on_call = carrier.place
    return client.calls.create(to=to, from_="+3224000002", url=site.base + "/twiml",
                               status_callback=site.base + "/status",
                               status_callback_event=["initiated", "ringing", "answered", "completed"],
                               machine_detection="Enable", timeout=20)


def test_a_call_answered_with_a_digit_is_played_as_twilio_would(twilio_edge):
    carrier, site = Carrier(ACCOUNT_SID, AUTH_TOKEN), Site()
    carrier.script("+3225551234", "human", ["1"])
    call = _call(twilio_edge, carrier, site, "+3225551234")
    carrier.wait()
    assert not twilio_edge.refused_by_spec()
    (played,) = carrier.calls
    assert call.sid == played.sid and call.sid.startswith("CA")
    assert all(valid for _path, _form, valid in site.posts)
    paths = [path for path, _form, _valid in site.posts]
    assert paths == ["/status", "/status", "/status", "/twiml", "/gather", "/status"]
    assert [f["CallStatus"] for p, f, _v in site.posts if p == "/status"] == [
        "initiated", "ringing", "in-progress", "completed"]
    gather = next(f for p, f, _v in site.posts if p == "/gather")
    assert gather["Digits"] == "1" and gather["CallSid"] == call.sid and gather["AccountSid"] == ACCOUNT_SID
    assert [s["text"] for s in played.said] == ["Druk op 1.", "Dank u."]
    assert played.gathers == [{"input": "dtmf", "numDigits": "1", "action": site.base + "/gather"}]


def test_silence_falls_through_a_gather_and_busy_never_fetches_twiml(twilio_edge):
    carrier, site = Carrier(ACCOUNT_SID, AUTH_TOKEN), Site()
    carrier.script("+3225550001", "human", [])
    carrier.script("+3225550002", "busy")
    _call(twilio_edge, carrier, site, "+3225550001")
    _call(twilio_edge, carrier, site, "+3225550002")
    carrier.wait()
    silent, busy = carrier.calls
    assert [s["text"] for s in silent.said] == ["Druk op 1.", "Ik hoorde niets."]
    assert busy.said == [] and busy.fetches == [] and busy.statuses[-1][0] == "busy"
    twiml_posts = [f for p, f, _v in site.posts if p == "/twiml"]
    assert [f["To"] for f in twiml_posts] == ["+3225550001"] and twiml_posts[0]["AnsweredBy"] == "human"
