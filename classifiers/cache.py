"""An in-process LRU of embeddings keyed by the sha256 of the passage text.

Why: the same passage comes back often — a title repeated on every comment of a thread, a
quoted sentence, a post re-read after an edit elsewhere in it — and the encoder is the only
expensive step. Keying by a hash of the exact text (not by post id) means identical text is
embedded once whatever post it came from. The database keeps a persistent per-post cache
on top of this (owned by ``monitor``); this one only lives as long as the process.

Thread-safe: the crawler may classify from several worker threads.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from classifiers.base import Encoder

__all__ = ["CachedEncoder", "EmbeddingCache", "text_key"]


def text_key(text: str) -> str:
    """The cache key of a passage: sha256 of its UTF-8 text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class EmbeddingCache:
    """A bounded least-recently-used map from text key to embedding."""

    def __init__(self, maxsize: int = 8192) -> None:
        self.maxsize = maxsize
        self._items: OrderedDict[str, NDArray[np.float32]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: str) -> NDArray[np.float32] | None:
        with self._lock:
            value = self._items.get(key)
            if value is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return value

    def put(self, key: str, value: NDArray[np.float32]) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.maxsize:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        """Whether ``key`` is cached (no hit or miss counted, no change of order)."""
        with self._lock:
            return key in self._items


class CachedEncoder:
    """Wraps an :class:`~classifiers.base.Encoder`; each distinct text is embedded once."""

    def __init__(self, encoder: Encoder, cache: EmbeddingCache | None = None) -> None:
        self.inner = encoder
        self.cache = cache if cache is not None else EmbeddingCache()

    @property
    def encoder_id(self) -> str:
        return self.inner.encoder_id

    @property
    def dim(self) -> int:
        return self.inner.dim

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        keys = [text_key(t) for t in texts]
        found = {k: v for k in set(keys) if (v := self.cache.get(k)) is not None}
        todo = {k: t for k, t in zip(keys, texts, strict=True) if k not in found}
        if todo:
            fresh = self.inner.embed(list(todo.values()))
            for key, row in zip(todo, fresh, strict=True):
                self.cache.put(key, row)
                found[key] = row
        if not keys:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([found[k] for k in keys]).astype(np.float32, copy=False)
