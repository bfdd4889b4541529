"""Order emails: what they say (rules), the outbox (store), the background sender."""
