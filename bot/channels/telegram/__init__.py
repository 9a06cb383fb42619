"""Telegram through python-telegram-bot: intake (polling or webhook), rendering and the sender."""
