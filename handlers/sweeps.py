"""The sweeps the scheduler runs, registered by the flow modules that own them, and the one
way a sweep claims its due rows.

A sweep is ``fn(session, now) -> int``: it handles at most ``BATCH`` due rows in the
transaction it is given (the runner opens one per call, and calls again while a sweep
returns ``BATCH``, so 5,000 due rows are 10 short transactions, not one long lock) and returns
how many it handled. ``now`` is the tick's time -- the real time, or ``buurtbot tick --at``'s:
every due time a sweep writes (the next step, a deadline, a reminder) is relative to it, while
the outbox rows it writes go out at once (``Notifier`` sends at the earlier of ``now`` and
the real time).

``claim`` is how a sweep takes due rows so that two instances on one database never take the
same row: ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (another instance's rows are skipped, not
waited for), and on SQLite -- where a write transaction already holds the one write lock from
BEGIN IMMEDIATE -- a lease written in the same transaction (``lease_until``/``leased_by``),
so a row is never taken again before its lease runs out, even by a sweep that splits its work.
"""
from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy import Select, or_, update
from sqlalchemy.orm import Session

Sweep = Callable[[Session, datetime], int]
#: name -> sweep, in the order they run in a tick (registration order).
SWEEPS: dict[str, Sweep] = {}
BATCH = 500
LEASE = timedelta(minutes=2)
#: This process, in the rows it leases (host and pid, as the outbox senders name themselves).
OWNER = f"{socket.gethostname()[:40]}:{os.getpid()}"


def sweep(name: str) -> Callable[[Sweep], Sweep]:
    def register(fn: Sweep) -> Sweep:
        assert name not in SWEEPS, f"sweep {name!r} is taken"
        SWEEPS[name] = fn
        return fn
    return register


def claim(session: Session, query: Select, model, now: datetime, limit: int = BATCH) -> list:
    """The due rows ``query`` selects (it names the due condition and the order), at most
    ``limit``, taken for this transaction: rows another instance holds are skipped. ``model``
    has ``lease_until`` and ``leased_by`` columns."""
    query = query.where(or_(model.lease_until.is_(None), model.lease_until < now)).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=model)
    rows = list(session.scalars(query))
    if rows:
        session.execute(update(model).where(model.id.in_([r.id for r in rows]))
                        .values(lease_until=now + LEASE, leased_by=OWNER)
                        .execution_options(synchronize_session=False))
    return rows
