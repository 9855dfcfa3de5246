"""Results a process keeps by a key that names everything they are computed from (the latest ``size`` keys): a
started campaign's audience (:func:`weixi.campaigns.measures.audience`), a month's incentive result
(:func:`weixi.incentives.reports.recompute`). Safe from any thread; a value is computed outside the lock, so two
threads missing at once may both compute it (the same value)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class Kept(Generic[T]):
    def __init__(self, size: int) -> None:
        self.size = size
        self._values: OrderedDict[Hashable, T] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, make: Callable[[], T]) -> T:
        """The value kept under ``key``, else ``make()`` kept under it (the least recently used one dropped)."""
        with self._lock:
            if key in self._values:
                self._values.move_to_end(key)
                return self._values[key]
        value = make()
        with self._lock:
            self._values[key] = value
            while len(self._values) > self.size:
                self._values.popitem(last=False)
        return value


__all__ = ["Kept"]
