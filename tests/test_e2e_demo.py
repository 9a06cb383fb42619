"""End to end in a real browser: `buurtbot demo` as a subprocess on a fresh SQLite file, the
demo page in headless Chromium, and three neighbours who only click and type.

Nothing here sleeps to assert: every wait is a Playwright auto-wait with a generous timeout.
"""
from __future__ import annotations

from handlers.lexicon import LANGUAGES

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect, sync_playwright

from tests.processes import stop

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
WAIT_MS = 20_000
# Settings that would turn the subprocess into something other than a fresh demo.
SCRUB = {"DATABASE_URL", "TELEGRAM_BOT_TOKEN", "TELEGRAM_BOT_USERNAME", "HOST", "PORT"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def buurtbot_command() -> list[str]:
    script = Path(sys.executable).with_name("buurtbot")
    return [str(script)] if script.exists() else [sys.executable, "-m", "bot.cli"]


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k.upper() not in SCRUB}
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env["LOG_LEVEL"] = "WARNING"
    return env


def wait_healthy(proc: subprocess.Popen, url: str, log: Path, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"buurtbot demo exited with {proc.returncode}:\n{log.read_text(errors='replace')}")
        try:
            r = httpx.get(url + "/healthz", timeout=2)
            if r.status_code == 200:
                return r.json()
            last = f"{r.status_code} {r.text}"
        except httpx.HTTPError as exc:
            last = repr(exc)
        time.sleep(0.2)  # polling for start-up, not an assertion
    pytest.fail(f"buurtbot demo not healthy after {timeout}s ({last}):\n{log.read_text(errors='replace')}")



@pytest.fixture(scope="module")
def demo_server(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("demo")
    port = free_port()
    log = workdir / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(buurtbot_command() + ["demo", "--port", str(port)], cwd=workdir,
                                env=clean_env(), stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        health = wait_healthy(proc, url, log)
        assert health["database"] == "ok" and "demo" in health["channels"]
        assert (workdir / "buurtbot.db").exists(), "the demo must use a fresh SQLite file in its working directory"
        yield url
    finally:
        stop(proc)
        if proc.returncode not in (0, -signal.SIGINT, 130):
            print(log.read_text(errors="replace"))


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser, demo_server):
    expect.set_options(timeout=WAIT_MS)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(WAIT_MS)
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.on("dialog", lambda d: (errors.append(f"dialog: {d.message}"), d.dismiss()))
    pg.goto(demo_server + "/")
    yield pg
    context.close()
    assert not errors, errors


# ---- helpers: what a person sees and does in one column ----------------------------------
# Messages are found by what they do (their option payloads) and by order, not by wording:
# the wording belongs to the translators and may change.

def column(page: Page, persona: str) -> Locator:
    col = page.locator(f'section.chat[data-persona="{persona}"]')
    expect(col).to_be_visible()
    return col


def replies_to(col: Locator, action) -> Locator:
    """Do ``action`` and return the first bot message that arrives after it (waits for it)."""
    bot = col.locator(".msg-bot")
    before = bot.count()
    action()
    reply = bot.nth(before)
    expect(reply).to_be_visible()
    return reply


def say(col: Locator, text: str) -> Locator:
    """Type ``text`` and press Enter; returns the bot's reply."""
    def act():
        box = col.locator("textarea")
        box.fill(text)
        box.press("Enter")
        expect(col.locator(".msg-me .msg-text").last).to_have_text(text)
        expect(box).to_have_value("")
    return replies_to(col, act)


def click(col: Locator, msg: Locator, payload: str) -> Locator:
    """Press the option ``payload`` of the bot message ``msg``; returns the bot's reply."""
    button = msg.locator(f'button.option[data-payload="{payload}"]')
    expect(button).to_be_enabled()
    return replies_to(col, button.click)


def message_with(col: Locator, payload_prefix: str) -> Locator:
    """The newest bot message with an option whose payload starts with ``payload_prefix``."""
    msg = col.locator(".msg-bot").filter(
        has=col.page.locator(f'button.option[data-payload^="{payload_prefix}"]')).last
    expect(msg).to_be_visible()
    return msg


def payload_of(msg: Locator, prefix: str) -> str:
    return msg.locator(f'button.option[data-payload^="{prefix}"]').first.get_attribute("data-payload")


def join(col: Locator, name: str, role_payload: str) -> Locator:
    """Language, postcode, consent, first name, role; returns the reply to the role."""
    choose = say(col, "hello")
    expect(choose.locator('button.option[data-payload^="lang:"]')).to_have_count(len(LANGUAGES))
    area = click(col, choose, "lang:en")
    expect(area).to_contain_text("postcode")
    consent = say(col, "1040")
    expect(consent).to_contain_text("Demo")
    ask_name = click(col, consent, "yes")
    expect(ask_name.locator("button.option")).to_have_count(0)
    roles = say(col, name)
    expect(roles).to_contain_text(name)
    return click(col, roles, role_payload)


# ---- the story ---------------------------------------------------------------------------

def test_volunteer_joins_resident_asks_volunteer_claims_and_finishes(page: Page):
    resident, volunteer, coordinator = (column(page, p) for p in ("resident", "volunteer", "coordinator"))
    for col, name in ((resident, "resident"), (volunteer, "volunteer"), (coordinator, "coordinator")):
        expect(col.locator("h2")).to_have_text(name)

    # A neighbour offers help: categories, languages, a weekly cap, not only in a duo.
    cats = join(volunteer, "Jan", "role:give")
    cats = click(volunteer, cats, "offercat:shopping")
    expect(cats.locator('button[data-payload="offercat:shopping"]')).to_contain_text("✓")
    langs = click(volunteer, cats, "offercat:done")
    langs = click(volunteer, langs, "offerlang:nl")
    expect(langs.locator('button[data-payload="offerlang:nl"]')).to_contain_text("✓")
    expect(langs.locator('button[data-payload="offerlang:en"]')).to_contain_text("✓")
    cap = click(volunteer, langs, "offerlang:done")
    duo = click(volunteer, cap, "cap:3")
    pending = click(volunteer, duo, "no")
    expect(pending).to_contain_text("Fatima")

    # Fatima approves him from her own column.
    proposal = message_with(coordinator, "vol:ok:")
    expect(proposal).to_contain_text("Jan")
    approve = proposal.locator('button.option[data-payload^="vol:ok:"]')
    expect(approve).to_contain_text("Approve")
    approved = replies_to(coordinator, approve.click)
    expect(approved).to_contain_text("Jan")
    welcome = message_with(volunteer, "open")
    expect(welcome).to_contain_text("Jan")

    # A resident joins and asks for shopping tomorrow at Kerkstraat 12.
    kinds = join(resident, "Maria", "role:help")  # "I would like help" starts the request at once (point 18)
    expect(kinds).to_contain_text("Let us write down what you need")
    describe = click(resident, kinds, "cat:shopping")
    expect(describe.locator("button.option")).to_have_count(0)
    when = say(resident, "A pack of water from the Carrefour")
    where = click(resident, when, "when:tomorrow")
    expect(where).to_contain_text("street")
    confirm = say(resident, "Kerkstraat 12")
    expect(confirm).to_contain_text("A pack of water from the Carrefour")
    expect(confirm).to_contain_text("Kerkstraat")
    expect(confirm).not_to_contain_text("Kerkstraat 12")
    sent = click(resident, confirm, "yes")
    expect(sent).to_contain_text("#")

    # The volunteer sees first name and street, not the house number, and claims it.
    notice = message_with(volunteer, "claim:")
    claim_payload = payload_of(notice, "claim:")
    request_id = claim_payload.split(":")[1]
    expect(sent).to_contain_text(f"#{request_id}")
    expect(notice).to_contain_text("Maria")
    expect(notice).to_contain_text("Kerkstraat")
    expect(notice).to_contain_text("A pack of water from the Carrefour")
    expect(notice).not_to_contain_text("Kerkstraat 12")
    expect(notice.locator(f'button.option[data-payload="{claim_payload}"]')).to_have_text("I'll do it")
    mine = click(volunteer, notice, claim_payload)

    # Once it is his, he sees the full address; she hears who is coming.
    expect(mine).to_contain_text("Kerkstraat 12")
    expect(mine).to_contain_text("Maria")
    expect(mine).to_contain_text(f"#{request_id}")
    coming = message_with(resident, f"msg:{request_id}")
    expect(coming).to_contain_text("Jan")

    # Done; she is offered a thank-you, and it reaches him.
    click(volunteer, mine, f"done:{request_id}")
    done = message_with(resident, f"thanks:{request_id}")
    expect(done).to_contain_text("Jan")
    expect(done).to_contain_text(f"#{request_id}")
    expect(done.locator(f'button.option[data-payload="thanks:{request_id}"]')).to_contain_text("thank")
    thanked = replies_to(volunteer, lambda: click(resident, done, f"thanks:{request_id}"))
    expect(thanked).to_contain_text("Maria")
    expect(thanked).to_contain_text(f"#{request_id}")


# ---- the page itself ---------------------------------------------------------------------

def test_new_persona_text_is_shown_literally_and_keyboard_works(page: Page):
    page.get_by_label("Add a neighbour").fill("Nadia")
    page.get_by_role("button", name="Add neighbour").click()
    nadia = column(page, "Nadia")
    expect(nadia.locator("h2")).to_have_text("Nadia")
    expect(nadia.locator("textarea")).to_be_focused()

    # Keyboard only: type, Enter sends; focus an option button, Enter presses it.
    def hello():
        page.keyboard.type("bonjour")
        page.keyboard.press("Enter")
    choose = replies_to(nadia, hello)
    expect(choose.locator(".msg-text")).to_have_attribute("dir", "auto")
    english = choose.locator('button.option[data-payload="lang:en"]')
    english.focus()
    replies_to(nadia, lambda: page.keyboard.press("Enter"))
    expect(nadia.locator(".msg-me").last).to_contain_text("English")
    consent = say(nadia, "1040")
    click(nadia, consent, "yes")

    # Markup in what people type (and in what the bot echoes back) stays text.
    evil = "<img src=x onerror=alert(1)>Nadia"
    greeting = say(nadia, evil)
    expect(greeting).to_contain_text(evil)
    expect(nadia.locator(".messages img")).to_have_count(0)

    # Newlines are kept (Shift+Enter makes one), Arabic is laid out right to left.
    box = nadia.locator("textarea")
    box.fill("")
    box.press_sequentially("سطر أول")
    box.press("Shift+Enter")
    box.press_sequentially("second line")
    box.press("Enter")
    mine = nadia.locator(".msg-me .msg-text").last
    expect(mine).to_have_text("سطر أول\nsecond line")
    assert mine.evaluate("el => el.textContent") == "سطر أول\nsecond line"
    assert mine.evaluate("el => getComputedStyle(el).whiteSpace") == "pre-wrap"
    assert mine.evaluate("el => getComputedStyle(el).direction") == "rtl"


def test_layout_side_by_side_when_wide_and_wrapping_when_narrow(page: Page):
    names = ("resident", "volunteer", "coordinator")
    boxes = [column(page, n).bounding_box() for n in names]
    assert len({round(b["y"]) for b in boxes}) == 1, boxes  # one row at 1280 px
    assert all(b["x"] + b["width"] <= 1280 for b in boxes), boxes
    page.set_viewport_size({"width": 380, "height": 800})
    expect(column(page, "coordinator")).to_be_visible()
    narrow = [column(page, n).bounding_box() for n in names]
    assert narrow[0]["y"] < narrow[1]["y"] < narrow[2]["y"], narrow  # stacked
    assert all(b["width"] <= 380 for b in narrow), narrow
    assert page.evaluate("document.documentElement.scrollWidth") <= 380
    font = page.locator(".msg-text, textarea").first.evaluate("el => parseFloat(getComputedStyle(el).fontSize)")
    assert font >= 16
