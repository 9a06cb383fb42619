"""/broadcast in the coordinator's chat: text, audience, other languages, preview, send now or
at a set time, cancel (the engine is handlers/broadcasts.py)."""
from __future__ import annotations
