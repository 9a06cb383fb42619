"""WhatsApp and SMS through Twilio: signed webhooks in, the outbox out with the real client."""
