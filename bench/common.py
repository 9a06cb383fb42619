"""Helpers the channel benchmarks share (imported as ``bench.common`` with the repo on sys.path)."""
from __future__ import annotations

from pathlib import Path


def pct(sorted_values: list[float], q: float) -> float:
    """The q-quantile of already sorted values (nearest rank)."""
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def fresh_sqlite(path: Path) -> str:
    """A new SQLite file migrated to the newest schema; returns its URL."""
    from models.db import make_engine
    from models.schema import upgrade

    url = f"sqlite:///{path}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url
