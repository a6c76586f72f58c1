"""UserRepository's in-memory name list: served from memory, never stale after a write."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from reference.storage.database import Database
from reference.storage.users import UserRepository


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    db = Database(tmp_path)
    yield db
    db.close()


def test_list_follows_every_write(database: Database) -> None:
    users = UserRepository(database)
    assert users.usernames() == []
    assert users.add("b", "h", None) == "added"
    assert users.usernames() == ["b"]
    assert users.add("a", "h", None) == "added"
    assert users.add("a", "h", None) == "exists"
    assert users.usernames() == ["a", "b"]
    assert users.delete("b")
    assert not users.delete("b")
    assert users.usernames() == ["a"]
    # Bytewise UTF-8 order, as SQLite's BINARY collation gives.
    users.add("Z", "h", None)
    users.add("é", "h", None)
    assert users.usernames() == ["Z", "a", "é"]


def test_callers_cannot_corrupt_the_cached_list(database: Database) -> None:
    users = UserRepository(database)
    users.add("a", "h", None)
    users.usernames().append("intruder")
    assert users.usernames() == ["a"]


class _PausingDatabase(Database):
    """Holds the next reader open until told to go on, so a write can land in between."""

    def __init__(self, data_dir: Path) -> None:
        super().__init__(data_dir)
        self.reading = threading.Event()
        self.resume = threading.Event()
        self.pause_next_read = False

    @contextmanager
    def reader(self) -> Iterator[object]:
        with super().reader() as conn:
            rows = list(conn.execute("SELECT name FROM users ORDER BY name"))
        if self.pause_next_read:
            self.pause_next_read = False
            self.reading.set()
            self.resume.wait(5)

        class _Snapshot:
            @staticmethod
            def execute(sql: str, *args: object) -> list[tuple[str]]:
                return rows

        yield _Snapshot()


def test_a_list_read_before_a_write_is_not_cached(tmp_path: Path) -> None:
    database = _PausingDatabase(tmp_path)
    try:
        users = UserRepository(database)
        users.add("old", "h", None)
        database.pause_next_read = True
        results: list[list[str]] = []
        reader = threading.Thread(target=lambda: results.append(users.usernames()))
        reader.start()
        assert database.reading.wait(5)
        users.add("new", "h", None)  # commits while the reader holds the old rows
        database.resume.set()
        reader.join(5)
        assert results == [["old"]]  # the old read may answer its own caller...
        assert users.usernames() == ["new", "old"]  # ...but is never served afterwards
    finally:
        database.close()
