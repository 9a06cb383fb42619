"""The social map in the chat: "Where can I go for ...?" and the professional-need path answer
from the directory (open now? which language?) and offer a warm hand-off to the coordinator."""
from __future__ import annotations
