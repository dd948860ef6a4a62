"""A bounded least-recently-used mapping, for the caches of the world and the reality layer."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any


class LRU(OrderedDict):
    """A small bounded cache (least recently used entries leave first). Safe to share between the
    event loop and the worker threads that compute reads: each lookup and insertion holds a lock."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size
        self.lock = threading.Lock()

    def get(self, key: Any, default: Any = None) -> Any:
        with self.lock:
            if key in self:
                self.move_to_end(key)
                return self[key]
            return default

    def put(self, key: Any, value: Any) -> Any:
        with self.lock:
            self[key] = value
            self.move_to_end(key)
            if len(self) > self.size:
                self.popitem(last=False)
            return value
