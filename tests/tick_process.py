"""One scheduler instance in a process of its own, for the several-instances tests
(tests/test_tick_processes.py): ``python -m tests.tick_process DATABASE_URL AT [HOLD_AT_BATCH]``.

Prints "ready", waits for a line on stdin (so that two instances start together), runs every
sweep once as if at AT (ISO, aware) -- exactly what a tick of `buurtbot run` does -- and prints
its counts as JSON. With HOLD_AT_BATCH=n it stops inside its n-th batch of occurrences, after
writing them and before its transaction commits, prints "holding" and waits to be killed."""
from __future__ import annotations

import json
import sys
import time
from datetime import datetime

from sqlalchemy import event

from models.db import make_engine, make_sessionmaker
from scheduler.runner import run_sweeps


def main(url: str, at: str, hold_at: int | None) -> None:
    engine = make_engine(url)
    if hold_at is not None:
        seen = [0]

        @event.listens_for(engine, "after_cursor_execute")
        def hold(_conn, _cursor, statement, *_args):
            if statement.lstrip().upper().startswith("INSERT INTO CHECKIN_OCCURRENCES"):
                seen[0] += 1
                if seen[0] == hold_at:
                    print("holding", flush=True)
                    while True:  # until the test kills this process (kill -9)
                        time.sleep(60)

    print("ready", flush=True)
    sys.stdin.readline()
    counts, failed = run_sweeps(make_sessionmaker(engine), datetime.fromisoformat(at))
    print(json.dumps({"sweeps": counts, "failed": failed}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else None)
