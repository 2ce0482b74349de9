"""Socket.IO rooms: how they are named and how committed events reach them (ADR 0007)."""
