"""Append-only columnar storage: growable scalar columns and chunked vector matrices."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from reference.domain.vector.allocator import MMAP_THRESHOLD_BYTES

# A vector chunk holds at most this many bytes: one allocation never exceeds it.
CHUNK_BYTES = 64 * 1024 * 1024
MAX_CHUNK_ROWS = 65536


class GrowableColumn:
    """A 1-D numpy array with amortised O(1) appends (capacity doubling)."""

    def __init__(self, dtype: np.dtype | type) -> None:
        self._buf = np.empty(16, dtype=dtype)
        self._n = 0

    def __len__(self) -> int:
        return self._n

    def append(self, values: np.ndarray) -> None:
        m = len(values)
        need = self._n + m
        if need > len(self._buf):
            cap = max(need, 2 * len(self._buf))
            grown = np.empty(cap, dtype=self._buf.dtype)
            grown[: self._n] = self._buf[: self._n]
            self._buf = grown
        self._buf[self._n : need] = values
        self._n = need

    def view(self) -> np.ndarray:
        return self._buf[: self._n]


class VectorColumn:
    """Float vectors stored in chunks of shape (rows, dim + 1), float32.

    The extra last column holds each vector's squared norm, so one matrix product yields
    L2 distances (query row [-2q, 1]), inner products (query row [-q, 0]) or, scaled by the
    inverse norms, cosine similarity, without a second pass over the data.
    """

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self.chunk_rows = max(1, min(MAX_CHUNK_ROWS, CHUNK_BYTES // ((dim + 1) * 4)))
        self._chunks: list[np.ndarray] = []
        self._fill: list[int] = []

    def __len__(self) -> int:
        return sum(self._fill)

    def append(self, vectors: np.ndarray) -> None:
        done = 0
        m = len(vectors)
        while done < m:
            if not self._chunks or self._fill[-1] == self.chunk_rows:
                self._chunks.append(np.empty((min(16, self.chunk_rows), self.dim + 1), np.float32))
                self._fill.append(0)
            chunk, fill = self._chunks[-1], self._fill[-1]
            take = min(m - done, self.chunk_rows - fill)
            if fill + take > len(chunk):
                cap = min(self.chunk_rows, max(fill + take, 2 * len(chunk)))
                if cap * (self.dim + 1) * 4 >= MMAP_THRESHOLD_BYTES:
                    # A buffer this large is its own mapping (allocator.py): pages never
                    # written stay unallocated, so the full chunk costs nothing extra and
                    # spares the copies of repeated doubling.
                    cap = self.chunk_rows
                grown = np.empty((cap, self.dim + 1), np.float32)
                grown[:fill] = chunk[:fill]
                self._chunks[-1] = chunk = grown
            block = vectors[done : done + take]
            chunk[fill : fill + take, : self.dim] = block
            np.einsum("ij,ij->i", block, block, out=chunk[fill : fill + take, self.dim])
            self._fill[-1] = fill + take
            done += take

    def chunks(self) -> Iterator[tuple[int, np.ndarray]]:
        """(first global row, augmented matrix view) for each chunk."""
        start = 0
        for chunk, fill in zip(self._chunks, self._fill, strict=True):
            yield start, chunk[:fill]
            start += fill

    def rows(self, index: np.ndarray) -> np.ndarray:
        """The stored vectors at global row positions `index`, shape (len(index), dim)."""
        out = np.empty((len(index), self.dim), np.float32)
        chunk_no = index // self.chunk_rows
        for c in np.unique(chunk_no):
            sel = chunk_no == c
            out[sel] = self._chunks[c][index[sel] - c * self.chunk_rows, : self.dim]
        return out

    def all_vectors(self) -> np.ndarray:
        if not self._chunks:
            return np.empty((0, self.dim), np.float32)
        return np.concatenate(
            [c[:f, : self.dim] for c, f in zip(self._chunks, self._fill, strict=True)]
        )
