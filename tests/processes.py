"""Subprocess helpers shared by the tests that start `buurtbot` like an operator does."""
from __future__ import annotations

import signal
import subprocess


def stop(proc: subprocess.Popen) -> None:
    """Ctrl-C first (a clean shutdown is part of what is tested), then kill."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
