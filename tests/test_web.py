"""The ASGI app in-process: health, and the demo chat's JSON API, on a migrated SQLite file
seeded like `buurtbot demo` seeds it."""
from __future__ import annotations

from handlers.lexicon import LANGUAGES

import json
import shutil

import pytest
from starlette.testclient import TestClient

from bot.demo import seed
from bot.runtime import Runtime
from bot.settings import Settings
from bot.web import MAX_BODY, create_app


def build(url: str, demo: bool = True, **settings) -> Runtime:
    settings.setdefault("telegram_bot_token", None)  # whatever the environment says
    return Runtime.build(Settings(database_url=url, _env_file=None, **settings), demo=demo)


@pytest.fixture
def db_url(tmp_path, sqlite_template) -> str:
    path = tmp_path / "web.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def runtime(db_url):
    rt = build(db_url)
    with rt.sessions() as session, session.begin():
        seed(session)
    yield rt
    rt.engine.dispose()


@pytest.fixture
def client(runtime):
    with TestClient(create_app(runtime)) as c:  # runs the lifespan: the scheduler starts
        yield c


def post(client, body, **kwargs):
    return client.post("/api/demo/messages", json=body, **kwargs)


def inbox(client, persona: str, after: int | None = None):
    url = f"/api/demo/inbox/{persona}" + (f"?after={after}" if after is not None else "")
    r = client.get(url)
    assert r.status_code == 200, r.text
    return r.json()


def assert_json_error(r, status: int) -> str:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert isinstance(body.get("error"), str) and body["error"]
    return body["error"]


# ---- health --------------------------------------------------------------------------------

def test_healthz_reports_database_and_scheduler(client):
    r = client.get("/healthz")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["scheduler"]["running"] is True
    assert "last_tick" in body["scheduler"] and "last_sweep" in body["scheduler"]
    assert body["scheduler"]["overdue"] == {"plans": 0, "occurrences": 0, "followups": 0, "timers": 0}
    assert body["channels"] == ["demo"]


def test_healthz_is_503_when_the_scheduler_stopped(client, runtime):
    client.portal.call(runtime.ticks.shutdown)  # on the app's own event loop
    r = client.get("/healthz")
    assert r.status_code == 503
    assert r.json()["status"] == "degraded"
    assert r.json()["database"] == "ok"
    assert r.json()["scheduler"]["running"] is False


def test_healthz_is_503_when_the_database_is_unreachable(tmp_path):
    rt = build(f"sqlite:///{tmp_path / 'no' / 'such' / 'dir' / 'x.db'}")
    with TestClient(create_app(rt, start_scheduler=False)) as c:
        r = c.get("/healthz")
    assert r.status_code == 503
    body = r.json()
    assert body["database"] == "down"
    assert body["status"] == "degraded"
    assert not (tmp_path / "no").exists()


def test_healthz_without_the_scheduler_is_ok(runtime):
    with TestClient(create_app(runtime, start_scheduler=False)) as c:
        r = c.get("/healthz")
    assert r.status_code == 200
    assert r.json()["scheduler"]["running"] is False


# ---- the demo API -------------------------------------------------------------------------

def test_the_page_is_served(client):
    r = client.get("/")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert "charset=utf-8" in r.headers["content-type"]
    assert "<title>buurtbot demo" in r.text
    # Self-contained: nothing is loaded from elsewhere.
    assert "http://" not in r.text and "https://" not in r.text and "//cdn" not in r.text
    assert ".innerHTML" not in r.text


def test_post_text_then_payload_and_read_the_inbox_in_order(client):
    r = post(client, {"from": "maria", "text": "hello"})
    assert r.status_code == 202 and r.json() == {"result": "ok"}
    first = inbox(client, "maria")
    assert len(first) == 1
    msg = first[0]
    assert set(msg) == {"id", "text", "options"}
    assert isinstance(msg["id"], int) and msg["text"]
    assert [o["payload"] for o in msg["options"]] == [f"lang:{code}" for code in LANGUAGES]
    assert all(set(o) == {"label", "payload"} and o["label"] for o in msg["options"])

    assert post(client, {"from": "maria", "payload": "lang:en"}).json() == {"result": "ok"}
    assert post(client, {"from": "maria", "text": "1040"}).json() == {"result": "ok"}
    everything = inbox(client, "maria")
    assert [m["id"] for m in everything] == sorted(m["id"] for m in everything)
    assert len({m["id"] for m in everything}) == len(everything) == 3
    assert everything[0] == msg  # reading again gives the same messages
    assert everything[1]["options"] == []  # the postcode question: typed, no buttons
    assert [o["payload"] for o in everything[2]["options"]] == ["yes", "no"]  # consent

    after = inbox(client, "maria", after=everything[0]["id"])
    assert after == everything[1:]
    assert inbox(client, "maria", after=everything[-1]["id"]) == []
    assert inbox(client, "nobody") == []


def test_personas_are_separate_and_the_coordinator_is_seeded(client):
    post(client, {"from": "maria", "text": "hello"})
    assert inbox(client, "jan") == []
    assert post(client, {"from": "coordinator", "text": "menu"}).status_code == 202
    (menu,) = inbox(client, "coordinator")
    assert "coord" in [o["payload"] for o in menu["options"]]
    assert len(inbox(client, "maria")) == 1


def test_from_is_trimmed_and_locale_orders_the_languages(client):
    post(client, {"from": "  sami ", "text": "salut", "locale": "fr-BE"})
    (msg,) = inbox(client, "sami")
    assert msg["options"][0]["payload"] == "lang:fr"


def test_unicode_persona_names_work(client):
    assert post(client, {"from": "جميلة", "text": "مرحبا"}).status_code == 202
    assert len(inbox(client, "جميلة")) == 1


@pytest.mark.parametrize("raw", [b"{not json", b"", b"\xff\xfe", b"[1, 2]", b'"hello"', b"null"])
def test_bad_json_is_a_400(client, raw):
    r = client.post("/api/demo/messages", content=raw, headers={"content-type": "application/json"})
    assert_json_error(r, 400)


@pytest.mark.parametrize("body", [
    {"text": "hello"},                                   # no from
    {"from": "", "text": "hello"},                       # empty from
    {"from": "   ", "text": "hello"},                    # blank from
    {"from": 7, "text": "hello"},                        # from not a string
    {"from": "x" * 65, "text": "hello"},                 # from too long
    {"from": "a/b", "text": "hello"},                    # could never read its inbox
    {"from": "maria"},                                   # neither text nor payload
    {"from": "maria", "text": "hi", "payload": "ask"},   # both
    {"from": "maria", "text": None, "payload": None},    # both null
    {"from": "maria", "text": 12},                       # text not a string
    {"from": "maria", "payload": ["ask"]},               # payload not a string
    {"from": "maria", "text": ""},                       # empty text
])
def test_malformed_messages_are_a_400_and_change_nothing(client, body):
    error = assert_json_error(post(client, body), 400)
    assert "from" in error or "text" in error
    assert inbox(client, "maria") == []


def test_oversize_body_is_a_413(client):
    r = post(client, {"from": "maria", "text": "x" * (MAX_BODY + 1)})
    assert "large" in assert_json_error(r, 413)
    huge = client.post("/api/demo/messages", content=b"z" * 5_000_000, headers={"content-type": "application/json"})
    assert_json_error(huge, 413)
    assert inbox(client, "maria") == []
    # Just under the limit is accepted (the text itself is trimmed by the handlers).
    body = json.dumps({"from": "maria", "text": "y" * (MAX_BODY - 100)})
    assert len(body) <= MAX_BODY
    r = client.post("/api/demo/messages", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 202


def test_after_must_be_a_number(client):
    assert "after" in assert_json_error(client.get("/api/demo/inbox/maria?after=abc"), 400)


def test_flooding_is_throttled_politely(db_url):
    rt = build(db_url, rate_limit_per_minute=2)
    with rt.sessions() as session, session.begin():
        seed(session)
    with TestClient(create_app(rt, start_scheduler=False)) as c:
        results = [post(c, {"from": "maria", "text": f"hi {i}"}).json()["result"] for i in range(4)]
        assert results == ["ok", "ok", "throttled", "throttled"]
        assert len(inbox(c, "maria")) == 3  # two answers and one "slow down"; nothing for the 4th
    rt.engine.dispose()


def test_no_demo_routes_outside_demo_mode(db_url):
    rt = build(db_url, demo=False)
    with TestClient(create_app(rt, start_scheduler=False)) as c:
        assert c.get("/api/demo/inbox/maria").status_code == 404
        assert c.get("/api/demo/inbox/maria?after=0").status_code == 404
        assert c.post("/api/demo/messages", json={"from": "maria", "text": "hi"}).status_code == 404
        assert c.get("/api/demo/messages").status_code == 404
        assert c.get("/").status_code == 404
        health = c.get("/healthz")
        assert health.status_code == 200
        assert "demo" not in health.json()["channels"]
    rt.engine.dispose()
