"""Live auctions: pure rules, the bid book (memory or Redis), the service, closing and the
winner's order, the room events and tick section, REST routes (see docs/commerce.md)."""
