"""Persistence in the data directory (SQLite)."""
