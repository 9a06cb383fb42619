"""Broadcasts: the audience and its preview, materialising recipients in batches (the
``broadcasts`` sweep), answer buttons and the author's progress and summary. The chat flow is
handlers/broadcast_chat.py, the command line bot/cli_broadcast.py."""
from __future__ import annotations
