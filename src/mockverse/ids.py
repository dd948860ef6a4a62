"""Entity refs ("user:123") and stable hashing.

Every generated value is a pure function of (seed, entity ref, field path, user state).
Hashing uses blake2b, never Python's salted ``hash()`` nor a global ``random``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass

_REF = re.compile(r"^([a-z][a-z0-9_]*):([A-Za-z0-9._~-]+)$")


@dataclass(frozen=True, slots=True)
class EntityRef:
    """A typed reference to one entity of the world, written ``type:id``."""

    type: str
    id: str

    def __str__(self) -> str:
        return f"{self.type}:{self.id}"

    @classmethod
    def parse(cls, text: str) -> EntityRef:
        """Parse ``user:123``; raises ValueError naming the expected form."""
        match = _REF.match(text or "")
        if not match:
            raise ValueError(f"'{text}' is not an entity ref; expected 'type:id', e.g. 'user:123'")
        return cls(match.group(1), match.group(2))


def stable_hash(*parts: object) -> int:
    """A 64-bit integer that depends only on ``parts`` (same on every process and machine)."""
    text = "".join([f"{part}\x1f" for part in parts])   # each part followed by the separator
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "big")


def unit_draw(*parts: object) -> float:
    """A uniform number in [0, 1) that depends only on ``parts``."""
    return stable_hash(*parts) / 2.0**64


def unit_drawer(*prefix: object) -> Callable[[bytes], float]:
    """``unit_draw(*prefix, *rest)`` as a function of ``rest`` written out as UTF-8 ``part\\x1f`` per
    part (``b"3\\x1fgap\\x1f"`` for ``3, "gap"``): the prefix is hashed once, so a timeline drawing
    thousands of values under one ref pays only for what differs."""
    head = hashlib.blake2b(digest_size=8)
    for part in prefix:
        head.update(str(part).encode("utf-8"))
        head.update(b"\x1f")
    copy, big = head.copy, int.from_bytes

    def draw(rest: bytes) -> float:
        h = copy()
        h.update(rest)
        return big(h.digest(), "big") / 2.0**64
    return draw
