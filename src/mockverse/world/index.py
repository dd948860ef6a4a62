"""Counts and pages of a child type (``/orders``) without scanning every parent's timeline.

A ``ChildIndex`` holds prefix sums of how many children the generator gives each parent
position, for the world nobody changed (a pure function of the seed and the clock, so it is
built once per clock position and shared by every workspace). A workspace's own changes touch
few parents; ``Touched`` holds their exact counts, as differences from the index. Where the
k-th child sits is then a binary search: O(log N) once the index exists, plus the page itself.
"""

from __future__ import annotations

import logging
import time
from array import array
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger("mockverse.world")

PROGRESS_EVERY = 1.0   # seconds between the progress lines of a long index build


@dataclass(frozen=True)
class ChildIndex:
    """``prefix[j]``: how many generated children parent positions 1..j hold in the unchanged world."""

    prefix: array

    @property
    def parents(self) -> int:
        return len(self.prefix) - 1

    def generated(self, position: int) -> int:
        """How many children the parent at ``position`` (1-based) has in the unchanged world."""
        return self.prefix[position] - self.prefix[position - 1]


def build_index(parents: int, count: Callable[[int], int], name: str) -> ChildIndex:
    """Sum ``count(position)`` over parent positions 1..``parents``, saying how far it is when slow."""
    prefix = array("q", [0]) * (parents + 1)
    started = last = time.monotonic()
    total = 0
    for position in range(1, parents + 1):
        total += count(position)
        prefix[position] = total
        if position % 1024 == 0 and time.monotonic() - last > PROGRESS_EVERY:
            last = time.monotonic()
            log.info("indexing %s: %d of %d parents (%.0f s)", name, position, parents, last - started,
                     extra={"indexed": position, "parents": parents})
    return ChildIndex(prefix)


class Touched:
    """The parent positions a workspace's changes touched, with their exact counts minus the index's
    (``deltas``), summed by a Fenwick tree kept in a dict (only touched positions and their O(log N)
    ancestors are held). Setting one position's difference costs O(log N), not a recount. ``deps``:
    the change tags of what the counts were read from (a count or a page made from them depends on them)."""

    def __init__(self, parents: int) -> None:
        self.parents = parents
        self.deltas: dict[int, int] = {}
        self.tree: dict[int, int] = {}
        self.deps: set[str] = set()

    @classmethod
    def of(cls, parents: int, deltas: dict[int, int]) -> Touched:
        """A ``Touched`` holding ``deltas`` (position -> difference from the index)."""
        touched = cls(parents)
        for position, delta in deltas.items():
            touched.set(position, delta)
        return touched

    def set(self, position: int, delta: int) -> None:
        """Make the difference of ``position`` from the index ``delta`` (0: as the index says)."""
        change = delta - self.deltas.get(position, 0)
        if delta:
            self.deltas[position] = delta
        else:
            self.deltas.pop(position, None)
        while change and position <= self.parents:
            self.tree[position] = self.tree.get(position, 0) + change
            position += position & -position

    def shift(self, position: int) -> int:
        """The sum of the differences of touched positions up to and including ``position``."""
        total = 0
        while position > 0:
            total += self.tree.get(position, 0)
            position -= position & -position
        return total

    def count(self, index: ChildIndex, position: int) -> int:
        """The exact number of children of the parent at ``position``."""
        return index.generated(position) + self.deltas.get(position, 0)

    def end(self, index: ChildIndex, position: int) -> int:
        """How many children the parents at positions 1..``position`` hold, exactly."""
        return index.prefix[position] + self.shift(position)

    def locate(self, index: ChildIndex, k: int) -> tuple[int, int]:
        """(parent position, offset among its children) of the child at 0-based ``k``; a position past
        the last parent when ``k`` lies beyond the generated parents' children."""
        low, high = 1, index.parents
        if index.parents == 0 or self.end(index, high) <= k:
            return index.parents + 1, k - (self.end(index, high) if index.parents else 0)
        while low < high:
            middle = (low + high) // 2
            if self.end(index, middle) > k:
                high = middle
            else:
                low = middle + 1
        return low, k - self.end(index, low - 1)
