"""Concerns, referrals and neighbourhood problems as cases a coordinator follows up and closes
with an outcome (models/cases.py); partner referrals with consent; open referrals reminded."""
from __future__ import annotations
