"""A coordinator's volunteers: pending list with approve / decline / pause, a private note,
each volunteer's load this week against their cap, who has not been active for a month."""
from __future__ import annotations
