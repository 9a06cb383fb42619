"""The demo page in Chromium at desktop (1280x800) and phone (390x844) widths: the newest
message stays in view after load, after a reload and while messages arrive; what a persona typed
survives a reload; the page has an icon; its own words come from the catalogs (nl/fr/en).

Screenshots go to a temporary directory (printed), or to $BUURTBOT_SCREENSHOTS.
Every wait is a Playwright auto-wait: nothing sleeps to assert.
"""
from __future__ import annotations

from handlers.lexicon import LANGUAGES

import itertools
import os
import time
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from bot.demo import PAGE_TEXT
from handlers.i18n import catalog
from tests.test_e2e_demo import WAIT_MS, browser, column, demo_server, say  # noqa: F401  (fixtures)

SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
NEWEST_IN_VIEW = """list => {
  const last = list.lastElementChild;
  if (!last) return false;
  const a = last.getBoundingClientRect(), b = list.getBoundingClientRect();
  return a.bottom <= b.bottom + 1 && a.bottom > b.top;
}"""
_names = itertools.count(1)


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    """BUURTBOT_SCREENSHOTS names a directory to keep them in; else pytest's temporary one."""
    kept = os.environ.get("BUURTBOT_SCREENSHOTS")
    path = Path(kept) if kept else tmp_path_factory.mktemp("demo-screenshots")
    path.mkdir(parents=True, exist_ok=True)
    print(f"\nscreenshots: {path}")
    return path


@pytest.fixture
def open_page(browser, demo_server):
    """open_page(size, locale="en-US", query="") -> a page of its own (own localStorage)."""
    contexts, failures = [], []

    def opener(size: str, locale: str = "en-US", query: str = "") -> Page:
        expect.set_options(timeout=WAIT_MS)
        context = browser.new_context(viewport=SIZES[size], locale=locale)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(WAIT_MS)
        page.on("pageerror", lambda exc: failures.append(str(exc)))
        page.on("response", lambda r: failures.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        page.goto(f"{demo_server}/{query}")
        expect(page.locator("body")).to_have_attribute("data-ready", "true")
        return page

    yield opener
    for context in contexts:
        context.close()
    assert not failures, failures


def post(url: str, persona: str, text: str) -> None:
    r = httpx.post(f"{url}/api/demo/messages", json={"from": persona, "text": text}, timeout=10)
    assert r.status_code == 202 and r.json()["result"] == "ok", r.text


def bot_count(url: str, persona: str) -> int:
    return len(httpx.get(f"{url}/api/demo/inbox/{persona}?after=0", timeout=10).json())


def add_persona(page: Page, name: str):
    page.locator("#new-persona").fill(name)
    page.locator("#add-persona").click()
    return column(page, name)


def expect_newest_in_view(page: Page, col, count: int, shot) -> None:
    """All ``count`` bot messages are there and the newest is visible in its list -- and, once
    the column is scrolled into the window, in the window too."""
    expect(col.locator(".msg-bot")).to_have_count(count)
    page.wait_for_function(NEWEST_IN_VIEW, arg=col.locator(".messages").element_handle(), timeout=5000)
    col.evaluate("col => col.scrollIntoView({block: 'end'})")  # the page, not the list, scrolls
    expect(col.locator(".messages > li").last).to_be_in_viewport(ratio=1)
    page.screenshot(path=str(shot))


@pytest.mark.parametrize("size", SIZES)
def test_the_newest_message_is_in_view_after_load_reload_and_live(open_page, demo_server, shots, size):
    name = f"Lotte{next(_names)}"
    for _ in range(9):  # a long history: nine times the (tall) language question
        post(demo_server, name, "hello")
    page = open_page(size)
    col = add_persona(page, name)
    expect_newest_in_view(page, col, bot_count(demo_server, name), shots / f"{size}-1-load.png")

    page.reload()
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    col = column(page, name)
    expect_newest_in_view(page, col, bot_count(demo_server, name), shots / f"{size}-2-reload.png")

    for _ in range(3):  # live: several arrive within one poll
        post(demo_server, name, "hello")
    expect_newest_in_view(page, col, bot_count(demo_server, name), shots / f"{size}-3-live.png")

    # someone who scrolled up to read is not pulled down by a new message
    col.locator(".messages").evaluate("list => { list.scrollTop = 0; }")
    page.wait_for_function("list => list.scrollTop === 0", arg=col.locator(".messages").element_handle())
    post(demo_server, name, "hello")
    expect(col.locator(".msg-bot")).to_have_count(bot_count(demo_server, name))
    assert col.locator(".messages").evaluate("list => list.scrollTop") == 0


@pytest.mark.parametrize("size", SIZES)
def test_own_messages_survive_a_reload_in_their_place(open_page, demo_server, shots, size):
    page = open_page(size)
    name = f"Omar{next(_names)}"
    col = add_persona(page, name)
    choose = say(col, "hello")
    choose.locator('button.option[data-payload="lang:fr"]').click()
    expect(col.locator(".msg-bot")).to_have_count(2)
    say(col, "1040")
    expect(col.locator(".msg-bot")).to_have_count(bot_count(demo_server, name))

    def shown():
        return col.locator(".messages > li").evaluate_all(
            "items => items.map(li => [li.className, li.querySelector('.msg-text').textContent])")

    before = shown()
    assert [kind for kind, _text in before][:4] == ["msg msg-me", "msg msg-bot", "msg msg-me msg-choice",
                                                    "msg msg-bot"]
    assert before[0][1] == "hello" and before[2][1] == "Français" and before[4][1] == "1040"
    page.reload()
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    col = column(page, name)
    expect(col.locator(".messages > li")).to_have_count(len(before))
    assert shown() == before
    col.evaluate("col => col.scrollIntoView({block: 'end'})")
    page.screenshot(path=str(shots / f"{size}-own-after-reload.png"))


def test_the_page_has_an_icon(demo_server, open_page):
    for path in ("/favicon.ico", "/favicon.svg"):
        r = httpx.get(demo_server + path, timeout=10)
        assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml")
        assert b"<svg" in r.content
    page = open_page("desktop")  # the fixture fails on any 4xx/5xx the page caused (favicon included)
    icon = page.locator('link[rel="icon"]').get_attribute("href")
    assert httpx.get(f"{demo_server}/{icon}", timeout=10).status_code == 200


def expect_language(page: Page, lang: str) -> None:
    words = catalog(lang)
    expect(page.locator("html")).to_have_attribute("lang", lang)
    expect(page.locator("html")).to_have_attribute("dir", "ltr")
    for key in ("heading", "intro", "add_label", "add_button"):
        expect(page.locator(f'[data-t="{key}"]')).to_have_text(words.gettext(PAGE_TEXT[key]))
    assert page.title() == words.gettext(PAGE_TEXT["title"])
    expect(page.locator("#new-persona")).to_have_attribute("placeholder", words.gettext(PAGE_TEXT["add_placeholder"]))
    resident = column(page, "resident")
    expect(resident.locator(".role")).to_have_text(words.gettext(PAGE_TEXT["role_resident"]))
    expect(resident.locator("textarea")).to_have_attribute("placeholder", words.gettext(PAGE_TEXT["placeholder"]))
    expect(resident.locator("button.send")).to_have_text(words.gettext(PAGE_TEXT["send"]))
    name = words.gettext(PAGE_TEXT["send_as"]).format(name="resident")
    expect(resident.locator("button.send")).to_have_attribute("aria-label", name)


@pytest.mark.parametrize("locale, query, lang", [("nl-BE", "", "nl"), ("fr-BE", "", "fr"), ("nl-BE", "?lang=fr", "fr"),
                                                 ("de-DE", "", "en"), ("en-GB", "?lang=nl", "nl")])
def test_the_page_speaks_the_browsers_language_or_the_one_asked(open_page, shots, locale, query, lang):
    page = open_page("phone", locale=locale, query=query)
    expect_language(page, lang)
    if lang != "en":  # the words really changed
        assert catalog(lang).gettext(PAGE_TEXT["add_button"]) != PAGE_TEXT["add_button"]
    page.screenshot(path=str(shots / f"lang-{locale}-{lang}.png"))


def test_switching_language_and_a_new_persona_is_offered_the_pages_language_first(open_page):
    page = open_page("desktop", locale="en-US")
    expect_language(page, "en")
    page.locator('#page-languages a[hreflang="nl"]').click()
    expect_language(page, "nl")
    col = add_persona(page, f"Els{next(_names)}")
    choose = say(col, "hallo")
    expect(choose.locator("button.option").first).to_have_attribute("data-payload", "lang:nl")


def test_the_page_text_api_picks_a_language_we_speak(demo_server):
    def lang(wanted: str) -> str:
        r = httpx.get(f"{demo_server}/api/demo/page", params={"lang": wanted}, timeout=10)
        assert r.status_code == 200
        return r.json()["lang"]

    assert [lang(w) for w in ("fr-BE,nl;q=0.8", "de,nl-NL", "de", "", "x" * 500, "en-GB")] == \
        ["fr", "nl", "en", "en", "en", "en"]
    data = httpx.get(f"{demo_server}/api/demo/page?lang=nl", timeout=10).json()
    assert set(data["text"]) == set(PAGE_TEXT) and data["languages"] == LANGUAGES
    assert data["text"]["message_from"] == catalog("nl").gettext(PAGE_TEXT["message_from"])


def test_the_demo_answers_where_can_i_go_from_the_sample_social_map(demo_server):
    """`buurtbot demo` starts with the sample Brussels services (docs/directory/), so /services
    shows real places; a restart does not import them twice (bot.demo.seed_directory)."""
    sent = httpx.post(f"{demo_server}/api/demo/messages", json={"from": "coordinator", "text": "/services"}, timeout=10)
    assert sent.status_code in (200, 202), sent.text
    texts = []
    for _ in range(100):
        texts = [m["text"] for m in httpx.get(f"{demo_server}/api/demo/inbox/coordinator", timeout=10).json()]
        if texts:
            break
        time.sleep(0.1)
    assert texts and catalog("en").gettext("What are you looking for? Choose, or say it in a few words.") in texts[-1]


def test_the_sample_social_map_is_imported_once(sessions):
    from bot.demo import seed, seed_directory
    from models import Service

    with sessions() as s, s.begin():
        nb = seed(s)
        added = seed_directory(s, nb)
        assert added >= 10 and seed_directory(s, nb) == 0
        names = set(s.scalars(select(Service.name_nl).where(Service.neighbourhood_id == nb.id)))
    assert "CAW Brussel" in names and len(names) == added
