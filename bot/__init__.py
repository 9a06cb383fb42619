"""Runtime: settings, the web app, channel adapters, outbox senders and the CLI."""
