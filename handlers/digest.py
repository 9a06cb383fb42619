"""The weekly digest to coordinators and the figures behind `buurtbot report`: aggregates only,
groups smaller than five shown as "< 5"."""
from __future__ import annotations
