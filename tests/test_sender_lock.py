"""The one active sender's advisory lock lives on a session whose server side notices a dead host
within seconds (TCP keepalives), not after the operating system's two hours."""
from __future__ import annotations

from sqlalchemy import text

from bot.channels.outbox_sender import KEEPALIVES, ChannelLock


def test_the_lock_session_probes_a_silent_client_within_seconds(pg_migrated):
    engine = pg_migrated
    lock = ChannelLock("telegram")
    try:
        assert lock.hold(engine)
        for setting, seconds in KEEPALIVES:
            assert lock.conn.execute(text(f"SHOW {setting}")).scalar() == str(seconds)
        idle, interval, count = (seconds for _setting, seconds in KEEPALIVES)
        assert idle + interval * count <= 30
        other = ChannelLock("telegram")
        assert not other.hold(engine), "one active sender per channel"
        other.release()
    finally:
        lock.release()
