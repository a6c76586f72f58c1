"""User rows: a name and its salted slow hash; plaintext passwords are never stored."""

from __future__ import annotations

from typing import Literal

from reference.storage.database import Database


class UserRepository:
    def __init__(self, database: Database) -> None:
        self._db = database

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
            return "added" if cursor.rowcount == 1 else "exists"

    def set_hash(self, username: str, password_hash: str) -> bool:
        with self._db.transaction() as conn:
            cursor = conn.execute(
                "UPDATE users SET password_hash = ? WHERE name = ?", (password_hash, username)
            )
            return cursor.rowcount == 1

    def delete(self, username: str) -> bool:
        with self._db.transaction() as conn:
            return conn.execute("DELETE FROM users WHERE name = ?", (username,)).rowcount == 1

    def usernames(self) -> list[str]:
        with self._db.reader() as conn:
            return [name for (name,) in conn.execute("SELECT name FROM users ORDER BY name")]
