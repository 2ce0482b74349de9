"""Plain storage errors: no HTTP status, no wire code. The application layer translates them."""


class DuplicateKey(Exception):
    """A unique constraint refused the row (for example an e-mail address already registered)."""
