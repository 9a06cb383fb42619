"""Phone calls through Twilio Programmable Voice (check-ins by keypress)."""
