"""Flood protection: more than 20 messages a minute from one sender earns exactly one "slow
down", the rest is dropped before any database work; other senders are not affected; after
the window the sender is answered again. The clock is injected, nothing waits."""
from __future__ import annotations

import threading

from sqlalchemy import func, select

from handlers.core import Inbound
from handlers.i18n import catalog
from handlers.ratelimit import DROP, OK, WARN, RateLimiter
from models import ChannelIdentity, InboundLog, Outbox
from tests.flowkit import dispatcher, play, resident  # noqa: F401

SLOW_DOWN = (
    "You are sending a lot of messages at once. Please slow down a little; I will read your next message in a minute."
)


class FakeClock:
    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def counts(sessions, ids: list[str]) -> tuple[int, int]:
    with sessions() as s:
        inbound = s.scalar(select(func.count()).select_from(InboundLog).where(InboundLog.platform_message_id.in_(ids)))
        outbox = s.scalar(select(func.count()).select_from(Outbox))
    return inbound, outbox


def last_seen(sessions, who: str):
    with sessions() as s:
        return s.scalar(select(ChannelIdentity.last_inbound_at).where(ChannelIdentity.address == who))


def test_a_flood_gets_one_slow_down_and_the_rest_is_dropped(chat):
    play(chat, resident("maria", "Maria", "nl") + resident("jan", "Jan", "fr"))
    clock = FakeClock()
    chat.dispatcher.limiter = RateLimiter(20, 60.0, clock=clock)

    for n in range(20):  # 20 in 40 seconds: all answered
        got = chat.send("maria", "/menu", message_id=f"ok{n}")
        assert chat.result == "ok" and len(got) == 1, n
        clock.advance(2)

    got = chat.send("maria", "/menu", message_id="warn")
    assert chat.result == "throttled"
    assert [m["text"] for m in got] == [catalog("nl").gettext(SLOW_DOWN)]

    seen_before = last_seen(chat.sessions, "maria")
    dropped = [f"drop{n}" for n in range(15)]
    _, outbox_before = counts(chat.sessions, dropped)
    for mid in dropped:
        assert chat.send("maria", "/menu", message_id=mid) == []
        assert chat.result == "throttled"
        # someone else at the same moment is answered normally
        got = chat.send("jan", "/menu", message_id=f"jan-{mid}")
        assert chat.result == "ok" and len(got) == 1
    inbound, outbox_after = counts(chat.sessions, dropped)
    assert inbound == 0, "dropped messages must not be recorded"
    assert outbox_after == outbox_before + len(dropped), "only Jan's replies were written"
    assert last_seen(chat.sessions, "maria") == seen_before, "a dropped message must not touch the database"

    # still inside the window: still dropped, no second "slow down"
    clock.advance(10)
    assert chat.send("maria", "/menu", message_id="late") == [] and chat.result == "throttled"

    # after the window Maria is answered again, and a message dropped before is not a "duplicate"
    clock.advance(61)
    got = chat.send("maria", "/menu", message_id="drop0")
    assert chat.result == "ok" and len(got) == 1 and got[0]["text"] != catalog("nl").gettext(SLOW_DOWN)
    assert counts(chat.sessions, ["drop0"])[0] == 1, "now it is recorded"


def test_limit_is_per_sender_and_sliding():
    clock = FakeClock()
    rl = RateLimiter(3, 10.0, clock=clock)
    assert [rl.hit("a") for _ in range(3)] == [OK, OK, OK]
    assert rl.hit("a") == WARN
    assert [rl.hit("a") for _ in range(5)] == [DROP] * 5
    assert rl.hit("b") == OK  # someone else is not slowed down
    clock.advance(9.9)
    assert rl.hit("a") == DROP
    clock.advance(0.1)  # the first three hits leave the window together
    assert [rl.hit("a") for _ in range(3)] == [OK, OK, OK]
    # a new flood earns a new (single) warning
    assert rl.hit("a") == WARN and rl.hit("a") == DROP


def test_sliding_window_frees_one_slot_per_expired_hit():
    clock = FakeClock()
    rl = RateLimiter(2, 10.0, clock=clock)
    assert rl.hit("a") == OK
    clock.advance(5)
    assert rl.hit("a") == OK
    assert rl.hit("a") == WARN
    clock.advance(5)  # only the first hit expired
    assert rl.hit("a") == OK
    assert rl.hit("a") == WARN


def test_quiet_senders_are_forgotten():
    clock = FakeClock()
    rl = RateLimiter(2, 60.0, clock=clock)
    for n in range(5000):
        rl.hit(("telegram", str(n)))
    for _ in range(3):
        rl.hit("flooder")
    assert len(rl._hits) == 5001 and "flooder" in rl._warned
    clock.advance(30)
    rl.hit("busy")
    assert len(rl._hits) == 5002  # nobody is forgotten within a window
    clock.advance(31)
    rl.hit("busy")  # > one window since the start: a sweep
    assert set(rl._hits) == {"busy"}, "only the sender active within the window is remembered"
    assert rl._warned == set()
    # and the sweep keeps working: memory stays bounded by the senders of the last window
    for n in range(1000):
        rl.hit(n)
    clock.advance(61)
    rl.hit("x")
    assert set(rl._hits) == {"x"}


def test_threads_never_let_more_than_the_limit_through():
    clock = FakeClock()
    rl = RateLimiter(20, 60.0, clock=clock)
    verdicts: list[str] = []
    lock = threading.Lock()

    def flood():
        for _ in range(50):
            v = rl.hit("same")
            with lock:
                verdicts.append(v)

    threads = [threading.Thread(target=flood) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert verdicts.count(OK) == 20 and verdicts.count(WARN) == 1 and verdicts.count(DROP) == 8 * 50 - 21


def test_dispatcher_default_is_twenty_a_minute(sessions):
    from handlers.dispatch import Dispatcher

    d = Dispatcher(sessions)
    assert (d.limiter.limit, d.limiter.window) == (20, 60.0)
    clock = FakeClock()
    d.limiter = RateLimiter(d.limiter.limit, d.limiter.window, clock=clock)
    results = [d.handle(Inbound("demo", "x", "/menu", platform_message_id=f"x{n}")) for n in range(22)]
    assert results[:20] == ["ok"] * 20 and results[20:] == ["throttled", "throttled"]
