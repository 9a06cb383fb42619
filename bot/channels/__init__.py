"""Channel adapters: each turns platform updates into Inbound messages for the dispatcher and
delivers outbox rows back. The handlers never see a platform object."""
