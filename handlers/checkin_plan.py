"""/checkin: a weekly hello, always opted into (placeholder while the flow is written)."""
from __future__ import annotations
