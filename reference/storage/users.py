"""User rows: a name and its salted slow hash; plaintext passwords are never stored."""

from __future__ import annotations

import threading
from typing import Literal

from reference.storage.database import Database


class UserRepository:
    def __init__(self, database: Database) -> None:
        self._db = database
        # Sorted names, served from memory: listing is the hot read, and the one connection's
        # lock would serialise it. Every write bumps the generation after it commits; a list
        # read from SQLite is kept only if no write landed meanwhile, so it is never stale.
        self._names: tuple[str, ...] | None = None
        self._generation = 0
        self._names_lock = threading.Lock()

    def get_hash(self, username: str) -> str | None:
        with self._db.reader() as conn:
            row = conn.execute(
                "SELECT password_hash FROM users WHERE name = ?", (username,)
            ).fetchone()
        return None if row is None else row[0]

    def add(
        self, username: str, password_hash: str, limit: int | None
    ) -> Literal["added", "exists", "limit"]:
        """Insert atomically; the cap is checked before the duplicate (observed §4.2)."""
        with self._db.transaction() as conn:
            if limit is not None:
                (count,) = conn.execute("SELECT COUNT(*) FROM users").fetchone()
                if count >= limit:
                    return "limit"
            cursor = conn.execute(
                "INSERT OR IGNORE INTO users (name, password_hash) VALUES (?, ?)",
                (username, password_hash),
            )
            added = cursor.rowcount == 1
        if added:
            self._names_changed()
        return "added" if added else "exists"

    def set_hash(self, username: str, password_hash: str) -> bool:
        with self._db.transaction() as conn:
            cursor = conn.execute(
                "UPDATE users SET password_hash = ? WHERE name = ?", (password_hash, username)
            )
            return cursor.rowcount == 1

    def delete(self, username: str) -> bool:
        with self._db.transaction() as conn:
            deleted = conn.execute("DELETE FROM users WHERE name = ?", (username,)).rowcount == 1
        if deleted:
            self._names_changed()
        return deleted

    def usernames(self) -> list[str]:
        """Every name in bytewise order (SQLite's default BINARY collation)."""
        with self._names_lock:
            names, generation = self._names, self._generation
        if names is None:
            with self._db.reader() as conn:
                names = tuple(n for (n,) in conn.execute("SELECT name FROM users ORDER BY name"))
            with self._names_lock:
                if generation == self._generation:
                    self._names = names
        return list(names)

    def _names_changed(self) -> None:
        with self._names_lock:
            self._generation += 1
            self._names = None
