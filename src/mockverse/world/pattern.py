"""Strings that match a regular expression, drawn deterministically (for ``pattern`` in schemas).

The pattern is parsed with the standard library's own regex parser and walked: literals
are copied, character classes and alternatives are chosen by the caller's draw function,
repeats take a count near their minimum. Look-arounds and back-references beyond a group
copy are not supported; the caller checks the result with ``re.search`` and falls back.
"""

from __future__ import annotations

import functools
import importlib
import re
import string
from collections.abc import Callable
from typing import Any

from mockverse.openapi.jsonschema import matches

_c: Any = importlib.import_module("re._constants")   # the standard library's own regex parser (3.11+)
_parser: Any = importlib.import_module("re._parser")

Draw = Callable[[int], float]
_PRINTABLE = [chr(c) for c in range(0x20, 0x7F)]
_CATEGORIES = {
    _c.CATEGORY_DIGIT: string.digits,
    _c.CATEGORY_NOT_DIGIT: string.ascii_letters,
    _c.CATEGORY_SPACE: " ",
    _c.CATEGORY_NOT_SPACE: string.ascii_letters + string.digits,
    _c.CATEGORY_WORD: string.ascii_letters + string.digits + "_",
    _c.CATEGORY_NOT_WORD: "-.,;: ",
}
_SOFT_REPEAT = 8


# Unicode property escapes (ECMA-262 with the ``u`` flag) as classes Python's parser reads, each a subset of
# the property, so that what the walker writes from them the property accepts.
_PROPERTIES = {"L": "A-Za-z", "Letter": "A-Za-z", "Lu": "A-Z", "Ll": "a-z", "N": "0-9", "Nd": "0-9",
               "P": ".,;:!?'-", "Zs": " "}
_PROPERTY = re.compile(r"\\([pP])\{([A-Za-z_=]+)\}")


def python_pattern(pattern: str) -> str:
    """``pattern`` with ``\\p{L}``-style escapes spelled as ASCII classes (``[A-Za-z]``), inside a class or not."""
    def spell(match: re.Match) -> str:
        chars = _PROPERTIES.get(match.group(2).split("=")[-1])
        if chars is None:
            return match.group(0)
        return chars if match.group(1) == "p" else f"^{chars}"

    out, inside, i = [], False, 0
    while i < len(pattern):
        found = _PROPERTY.match(pattern, i)
        if found and (not inside or found.group(1) == "p"):
            out.append(spell(found) if inside else f"[{spell(found)}]")
            i = found.end()
            continue
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            out.append(pattern[i:i + 2])
            i += 2
            continue
        inside = (inside and ch != "]") or (not inside and ch == "[")
        out.append(ch)
        i += 1
    return "".join(out)


@functools.lru_cache(maxsize=4096)
def _parsed(pattern: str) -> Any:
    """The parse tree of ``pattern`` (walked, never changed: one parse per pattern), or None if it has none."""
    try:
        return _parser.parse(python_pattern(pattern))
    except (re.error, RecursionError, OverflowError):
        return None


def matching_string(pattern: str, draw: Draw, min_length: int = 0, max_length: int | None = None) -> str | None:
    """A string that ``pattern`` (read as ECMA-262 reads it) accepts and whose length fits, or None."""
    parsed = _parsed(pattern)
    if parsed is None:
        return None
    for attempt in range(6):
        stretch = attempt // 2
        walker = _Walker(draw, attempt * 1000, stretch)
        try:
            text = walker.walk(parsed)
        except (_Unsupported, RecursionError):
            return None
        if len(text) < min_length and attempt % 2 == 0:
            continue
        if (max_length is None or len(text) <= max_length) and len(text) >= min_length:
            if matches(pattern, text):
                return text
    return None


class _Unsupported(Exception):
    """A construct the walker cannot produce (look-around, conditional)."""


class _Walker:
    def __init__(self, draw: Draw, salt: int, stretch: int) -> None:
        self.draw = draw
        self.counter = salt
        self.stretch = stretch
        self.groups: dict[int, str] = {}

    def _u(self) -> float:
        self.counter += 1
        return self.draw(self.counter)

    def _pick(self, options: list | str) -> Any:
        return options[min(len(options) - 1, int(self._u() * len(options)))]

    def walk(self, items: Any) -> str:
        return "".join(self._node(op, av) for op, av in items)

    def _node(self, op: object, av: Any) -> str:
        if op is _c.LITERAL:
            return chr(av)
        if op is _c.NOT_LITERAL:
            return next(c for c in "aZ0_" if ord(c) != av)
        if op is _c.ANY:
            return self._pick(string.ascii_letters + string.digits)
        if op is _c.IN:
            return self._charset(av)
        if op is _c.BRANCH:
            return self.walk(self._pick(av[1]))
        if op is _c.SUBPATTERN:
            group, _, _, sub = av
            text = self.walk(sub)
            if group:
                self.groups[group] = text
            return text
        if op in (_c.MAX_REPEAT, _c.MIN_REPEAT, getattr(_c, "POSSESSIVE_REPEAT", None)):
            low, high, sub = av
            high = low + _SOFT_REPEAT if high is _c.MAXREPEAT or high > low + _SOFT_REPEAT else high
            span = min(high - low, 2 + self.stretch * 3)
            count = low + int(self._u() * (span + 1)) if span > 0 else low
            return "".join(self.walk(sub) for _ in range(count))
        if op is _c.AT:
            return ""
        if op is _c.GROUPREF:
            return self.groups.get(av, "")
        if op is getattr(_c, "ATOMIC_GROUP", None):
            return self.walk(av)
        raise _Unsupported(str(op))

    def _charset(self, items: list) -> str:
        return self._pick(_class_choices(items))


_CLASSES: dict[int, tuple[list, list[str]]] = {}   # id(class items) -> (the items, the characters drawn from)
_CLASSES_MOST = 10_000


def _class_choices(items: list) -> list[str]:
    """The characters a character class is drawn from (alphanumeric ones first choice), worked out once per
    class of a parsed pattern (parse trees are never changed; the memo holds each, so its id names it alone)."""
    hit = _CLASSES.get(id(items))
    if hit is not None and hit[0] is items:
        return hit[1]
    negate = any(op is _c.NEGATE for op, _ in items)
    allowed: list[str] = []
    for op, av in items:
        if op is _c.LITERAL:
            allowed.append(chr(av))
        elif op is _c.RANGE:
            low, high = av
            allowed.extend(chr(c) for c in range(low, min(high, low + 200) + 1))
        elif op is _c.CATEGORY:
            allowed.extend(_CATEGORIES.get(av, string.ascii_letters))
    if negate:
        excluded = set(allowed)
        allowed = [c for c in string.ascii_letters + string.digits + _PRINTABLE_EXTRA if c not in excluded]
    allowed = [c for c in allowed if c.isprintable()] or allowed
    if not allowed:
        raise _Unsupported("empty class")
    preferred = [c for c in allowed if c.isalnum()] or allowed
    if len(_CLASSES) >= _CLASSES_MOST:
        _CLASSES.clear()
    _CLASSES[id(items)] = (items, preferred)
    return preferred


_PRINTABLE_EXTRA = "-_. "
