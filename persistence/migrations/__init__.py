"""Versioned SQL files, applied in order by persistence.migrator (a package so they ship)."""
