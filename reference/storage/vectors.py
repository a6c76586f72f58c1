"""Persistence of vector collections in the data dir: a metadata file plus an append-only log.

Layout: `<data-dir>/vectors/c<id>/meta.json` (schema, partitions, indexes, load state) and
`log/<seq>.ins.npz` (one insert batch) / `log/<seq>.del.npy` (row positions deleted).
Every file is written to a temporary name, fsynced and renamed, so an acknowledged write
survives a crash and a torn write is never read back. Object columns (VarChar, JSON) are
stored as JSON text, never pickled.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

_OBJECT_PREFIX = "json:"


@dataclass(frozen=True)
class LogEntry:
    seq: int
    kind: str  # "ins" | "del"
    payload: Any  # ins: (partition_id, num_rows, columns); del: row positions


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _atomic_write(path: Path, write: Any, durable: bool) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        write(fh)
        fh.flush()
        if durable:
            os.fsync(fh.fileno())
    os.replace(tmp, path)
    if durable:
        _fsync_dir(path.parent)


class VectorStorage:
    """Reads and writes collection directories under `<data_dir>/vectors`."""

    def __init__(self, data_dir: Path | str, *, durable: bool = True) -> None:
        self.root = Path(data_dir) / "vectors"
        self.root.mkdir(parents=True, exist_ok=True)
        self.durable = durable

    def _dir(self, collection_id: int) -> Path:
        return self.root / f"c{collection_id}"

    def write_meta(self, collection_id: int, meta: dict[str, Any]) -> None:
        directory = self._dir(collection_id)
        (directory / "log").mkdir(parents=True, exist_ok=True)
        text = json.dumps(meta, sort_keys=True).encode()
        _atomic_write(directory / "meta.json", lambda fh: fh.write(text), self.durable)

    def append_insert(
        self, collection_id: int, seq: int, partition_id: int, columns: dict[str, np.ndarray]
    ) -> None:
        arrays: dict[str, np.ndarray] = {
            "__partition__": np.array([partition_id], np.int64),
        }
        for name, values in columns.items():
            if values.dtype == object:
                text = json.dumps(values.tolist(), ensure_ascii=False).encode()
                arrays[_OBJECT_PREFIX + name] = np.frombuffer(text, np.uint8)
            else:
                arrays[name] = values
        path = self._dir(collection_id) / "log" / f"{seq:012d}.ins.npz"
        _atomic_write(path, lambda fh: np.savez(fh, **arrays), self.durable)

    def append_delete(self, collection_id: int, seq: int, rows: np.ndarray) -> None:
        path = self._dir(collection_id) / "log" / f"{seq:012d}.del.npy"
        data = np.asarray(rows, np.int64)
        _atomic_write(path, lambda fh: np.save(fh, data, allow_pickle=False), self.durable)

    def drop(self, collection_id: int) -> None:
        directory = self._dir(collection_id)
        if directory.exists():
            # rename first so a crash mid-delete never leaves a half collection behind
            trash = self.root / f".trash-{collection_id}"
            os.replace(directory, trash)
            shutil.rmtree(trash, ignore_errors=True)

    def collections(self) -> Iterator[tuple[dict[str, Any], Iterator[LogEntry]]]:
        """Each stored collection's metadata and its log entries in sequence order.

        Entries are read lazily, one file at a time, so a restart holds one batch beside the
        rebuilt columns rather than a second copy of the whole collection.
        """
        for leftover in self.root.glob(".trash-*"):
            shutil.rmtree(leftover, ignore_errors=True)
        for directory in sorted(self.root.glob("c*")):
            meta_path = directory / "meta.json"
            if not meta_path.exists():
                continue
            meta = json.loads(meta_path.read_text())
            yield meta, self._log(directory / "log")

    def _log(self, log_dir: Path) -> Iterator[LogEntry]:
        paths = [*log_dir.glob("*.ins.npz"), *log_dir.glob("*.del.npy")]
        for path in sorted(paths, key=lambda p: int(p.name.split(".")[0])):
            seq_text, kind = path.name.split(".")[:2]
            if kind == "del":
                yield LogEntry(int(seq_text), kind, np.load(path, allow_pickle=False))
                continue
            with np.load(path, allow_pickle=False) as npz:
                columns: dict[str, np.ndarray] = {}
                partition_id = int(npz["__partition__"][0])
                num_rows = 0
                for key in npz.files:
                    if key == "__partition__":
                        continue
                    if key.startswith(_OBJECT_PREFIX):
                        values = json.loads(npz[key].tobytes().decode())
                        arr = np.empty(len(values), dtype=object)
                        for i, value in enumerate(values):
                            arr[i] = value
                        columns[key[len(_OBJECT_PREFIX) :]] = arr
                    else:
                        columns[key] = npz[key]
                    num_rows = len(next(iter(columns.values())))
            yield LogEntry(int(seq_text), kind, (partition_id, num_rows, columns))
