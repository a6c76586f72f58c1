"""The data directory's SQLite database: WAL, synchronous=FULL, one transaction per change.

A single connection guarded by a lock keeps writes serialised and acknowledged changes durable.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

DATABASE_FILE = "reference.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY,          -- BINARY collation: bytewise UTF-8 order
    password_hash TEXT NOT NULL     -- salted slow hash, never plaintext
) WITHOUT ROWID;
"""


class Database:
    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / DATABASE_FILE
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.execute("PRAGMA foreign_keys=ON")
        with self.transaction() as conn:
            conn.execute(_SCHEMA)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; committed (and fsynced) before the block's caller returns."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    @contextmanager
    def reader(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            yield self._conn

    def close(self) -> None:
        with self._lock:
            self._conn.close()
