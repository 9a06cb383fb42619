"""Point 28 of issue 9: the tree keeps to its ruff configuration (pyproject.toml: lines of at most
120 characters, pyflakes), and the dead code it named stays gone."""
from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

from sqlalchemy import inspect

import handlers.core
import models
from models.people import Person

ROOT = Path(__file__).resolve().parent.parent


def test_ruff_passes_with_the_repositorys_configuration():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["ruff"]
    assert config["line-length"] == 120
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", str(ROOT)], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_dead_code_issue_9_named_is_gone(engine):
    assert not hasattr(models, "Offer") and "talents" not in inspect(Person).columns
    assert not hasattr(handlers.core.Context, "write_outbox")
    tables = inspect(engine).get_table_names()
    assert "offers" not in tables and "talents" not in {c["name"] for c in inspect(engine).get_columns("people")}
