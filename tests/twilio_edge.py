"""Twilio's REST API as the tests reach it: Prism, checking every request against Twilio's own
OpenAPI spec, behind a small recording proxy.

Prism (``tests/prism``, installed by scripts/test with ``npm ci``) answers like Twilio would
and refuses, with 422, any request that does not match the spec. The proxy in front of it
records what buurtbot sent, gives each created message a sid of its own (Prism always answers
with the spec's one example) and can answer a request with Twilio's 429/20429 or another error
-- after Prism has validated that request all the same.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, parse_qsl, urlencode, urlparse

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "tests" / "specs" / "twilio_api_v2010.json"  # vendored with its licence
PRISM = ROOT / "tests" / "prism" / "node_modules" / ".bin" / "prism"
ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "test-auth-token-0123456789abcdef"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Prism:
    """``prism mock`` on Twilio's spec, on a port of its own, for the whole test session."""

    def __init__(self) -> None:
        if not PRISM.exists():
            raise RuntimeError(f"{PRISM} is missing: run `bash scripts/test` (it runs npm ci in tests/prism)")
        if not SPEC.exists():
            raise RuntimeError(f"Twilio's OpenAPI spec is missing at {SPEC}")
        if shutil.which("node") is None:
            raise RuntimeError("node is missing: run `bash scripts/test` (it installs Node.js)")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(os.environ.get("PRISM_LOG", os.devnull), "w")
        self.proc = subprocess.Popen([str(PRISM), "mock", "-h", "127.0.0.1", "-p", str(self.port), str(SPEC)],
                                     stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"prism exited with {self.proc.returncode}")
            try:
                httpx.get(self.url + "/2010-04-01/Accounts.json", timeout=1, auth=(ACCOUNT_SID, AUTH_TOKEN))
                return
            except httpx.HTTPError:
                time.sleep(0.3)
        self.close()
        raise RuntimeError("prism did not start within 120 s")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()


def array_fields(path_pattern: str = "/2010-04-01/Accounts/{AccountSid}/Messages.json") -> dict[str, dict]:
    """The form fields the spec types as arrays, with their item schemas."""
    spec = json.loads(SPEC.read_text())
    schema = spec["paths"][path_pattern]["post"]["requestBody"]["content"]["application/x-www-form-urlencoded"][
        "schema"
    ]
    return {name: prop["items"] for name, prop in schema["properties"].items() if prop.get("type") == "array"}


def split_arrays(body: bytes, arrays: dict[str, dict]) -> tuple[bytes, list[str]]:
    """A form body as Prism can validate it, and what Prism cannot check, checked here.

    Twilio reads repeated keys (``MediaUrl=a&MediaUrl=b``, or one ``MediaUrl=a``) as a list --
    that is what the twilio client sends -- but Prism's form parser sees a string and refuses
    every such request ("must be array"). So array fields are taken out for Prism and their
    items checked here against the spec's item schema (a string; "uri": absolute http(s))."""
    pairs = parse_qsl(body.decode(), keep_blank_values=True)
    errors = []
    for key, value in pairs:
        items = arrays.get(key)
        if items is None:
            continue
        if items.get("format") == "uri":
            url = urlparse(value)
            if url.scheme not in ("http", "https") or not url.netloc:
                errors.append(f"{key} item {value!r} is not an absolute URI")
    kept = [(k, v) for k, v in pairs if k not in arrays]
    return (urlencode(kept).encode() if len(kept) != len(pairs) else body), errors


class Edge:
    """The recording proxy. ``requests``: every request as
    {"method", "path", "form", "prism_status", "status"}; ``messages()``: the Messages created."""

    def __init__(self, prism_url: str) -> None:
        self.prism_url = prism_url
        self.arrays = array_fields()
        self.call_arrays = array_fields("/2010-04-01/Accounts/{AccountSid}/Calls.json")
        self.requests: list[dict] = []
        self.clock = time.monotonic  # stamps arrivals ("at"); a pacing test gives the sender's (tests/fakeclock.py)
        self.failures: list[tuple[int, int]] = []  # (HTTP status, Twilio code), answered in turn
        self.on_call = None  # form -> CallSid: what answers a created call (tests/twilio_carrier.Carrier.place)
        self.lock = threading.Lock()
        self.client = httpx.Client(base_url=prism_url, timeout=30)
        edge = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def _any(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                status, payload = edge.handle(self.command, self.path, dict(self.headers), body)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_DELETE = _any

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def handle(self, method: str, path: str, headers: dict, body: bytes) -> tuple[int, dict]:
        arrived = self.clock()
        forward = {k: v for k, v in headers.items() if k.lower() in ("authorization", "content-type", "accept")}
        arrays = self.arrays if path.endswith("/Messages.json") else \
            self.call_arrays if path.endswith("/Calls.json") else None
        body_for_prism, errors = split_arrays(body, arrays) if arrays else (body, [])
        answer = self.client.request(method, path, headers=forward, content=body_for_prism)
        try:
            payload = answer.json()
        except ValueError:
            payload = {"raw": answer.text}
        if errors and answer.is_success:  # refused as Prism would have
            answer = httpx.Response(422)
            payload = {"status": 422, "title": "Invalid request", "validation": errors}
        record = {
            "method": method,
            "path": path,
            "form": {k: v if len(v) > 1 else v[0] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()},
            "prism_status": answer.status_code,
            "prism_body": payload,
            "at": arrived,
        }
        status = answer.status_code
        with self.lock:
            failure = self.failures.pop(0) if self.failures and answer.is_success else None
            if failure:
                status, code = failure
                payload = {"code": code, "message": f"injected error {code}",
                           "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status}
            elif answer.is_success and path.endswith("/Calls.json") and method == "POST":
                # A call Twilio accepted: the carrier (tests/twilio_carrier.py), if any, plays it.
                payload["sid"] = self.on_call(record["form"]) if self.on_call else "CA" + uuid.uuid4().hex
                record["sid"] = payload["sid"]
            elif answer.is_success and isinstance(payload, dict) and str(payload.get("sid", "")).startswith("SM"):
                payload["sid"] = "SM" + uuid.uuid4().hex
                record["sid"] = payload["sid"]
            record["status"] = status
            self.requests.append(record)
        return status, payload

    def fail_next(self, count: int, status: int = 429, code: int = 20429) -> None:
        with self.lock:
            self.failures += [(status, code)] * count

    def messages(self, to: str | None = None) -> list[dict]:
        """Forms of the Messages that were created (answered 201), optionally to one address."""
        return [r["form"] for r in self.requests
                if r["path"].endswith("/Messages.json") and r["method"] == "POST" and r["status"] == 201
                and (to is None or r["form"].get("To") == to)]

    def calls(self, to: str | None = None) -> list[dict]:
        """Forms of the Calls that were created (answered 201), each with its ``sid``, optionally to one number."""
        return [{**r["form"], "sid": r.get("sid")} for r in self.requests
                if r["path"].endswith("/Calls.json") and r["method"] == "POST" and r["status"] == 201
                and (to is None or r["form"].get("To") == to)]

    def refused_by_spec(self) -> list[dict]:
        """Requests Prism refused: each one a request that Twilio would refuse too."""
        return [r for r in self.requests if not 200 <= r["prism_status"] < 300]

    def reset(self) -> None:
        with self.lock:
            self.requests.clear()
            self.failures.clear()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.client.close()


@pytest.fixture(scope="session")
def prism():
    server = Prism()
    yield server
    server.close()


@pytest.fixture
def twilio_edge(prism):
    edge = Edge(prism.url)
    yield edge
    edge.close()
    refused = edge.refused_by_spec()
    assert not refused, f"requests that Twilio's spec refuses: {refused[:3]}"
