"""Id shapes for worlds built from a spec: a reversible, O(1) map between serials and ids.

Every generated entity has a *serial*: a top-level entity's is its 1-based index, a
child's is ``parent serial * multiplier + k`` (the built-in world's integer scheme). An
``IdCodec`` renders a serial as the id a real API would show and reads it back, so a
child id still encodes its parent and the parent is computed, never searched for:

* ``integer``: the serial itself (``order 701`` is the first order of pet ``7``).
* ``digits``: the serial as a decimal string, offset to the example's length and with
  its prefix (``"12345"`` -> ``"10001"``; ``"co_12345"`` -> ``"co_10001"``).
* ``uuid``: a version-4 UUID whose 122 free bits are a keyed permutation of the serial.
* ``opaque``: a fixed-length string over the example's alphabet (Spotify's 22 base-62
  characters, PayPal's ``P-`` plus upper-case letters and digits): a keyed permutation
  of the serial over every string of that length, so ids look random and reveal nothing.
* ``slug``: a word and the serial (``amber12``), for ids that are names (``username``); after an example of
  words joined by ``-`` or ``_`` (``unique-app-identifier``) joined so too (``amber-12``).

The permutation is a four-round Feistel network keyed by the type name (blake2b round
function), with cycle walking so that it covers exactly the codec's domain. A random
string decodes to an astronomically large serial, so it is never mistaken for a
generated id.
"""

from __future__ import annotations

import hashlib
import re
import string
import uuid
from dataclasses import dataclass, field

_DIGITS = string.digits
_LOWER = string.ascii_lowercase
_UPPER = string.ascii_uppercase
_BASE62 = _DIGITS + _UPPER + _LOWER
_UUID_TEXT = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{3,4}-[0-9a-fA-F]{12}$")
_PREFIXED = re.compile(r"^([A-Za-z]{1,12}[-_])?(.*)$")
_PLACEHOLDER_LENGTH = 24   # a prefixed example with a placeholder body (``asst_abc123``): the body's real length
_SIMPLE_PATTERN = re.compile(r"^\^([A-Za-z_-]*)(?:\[([A-Za-z]+)\])?\[([0-9A-Za-z-]+)\](?:\{(\d+)(?:,(\d*))?\}|[+*])\$$")
_DIGIT_GROUP = re.compile(r"(?:\\d|\[0-9\])\{([1-9][0-9]?)\}")   # \d{10}, [0-9]{4}
_GROUPED_PATTERN = re.compile(r"^\^((?:[A-Za-z]|\\?[.:_/-])*)((?:\\d|\[0-9\])\{[1-9][0-9]?\}"
                              r"(?:\\?[.:_/-](?:\\d|\[0-9\])\{[1-9][0-9]?\})+)\$$")
_WORDS = re.compile(r"^[a-z]+([-_])[a-z]+(?:\1[a-z]+)*$")   # lower-case words joined by one separator
_LETTERED = re.compile(r"^([A-Z]{1,6})([0-9]{3,12})$")   # upper-case letters, then digits
_SNOWFLAKE = 1_100_000_000_000_000_000   # Discord-style snowflakes: 19 digits, time-ordered by serial
_SLUG_WORDS = (
    "amber", "aspen", "birch", "blue", "cedar", "clay", "coral", "dawn", "delta", "ember", "fern", "flint", "frost",
    "grove", "hazel", "indigo", "iris", "jade", "juniper", "lark", "linen", "maple", "meadow", "mint", "moss",
    "north", "oak", "olive", "onyx", "pearl", "pine", "quartz", "raven", "river", "rowan", "sage", "slate",
    "sparrow", "stone", "summit", "tide", "umber", "willow", "wren",
)


def _round(key: bytes, index: int, half: int, bits: int) -> int:
    digest = hashlib.blake2b(half.to_bytes(32, "big"), key=key, digest_size=16, person=bytes([index]) * 16)
    return int.from_bytes(digest.digest(), "big") & ((1 << bits) - 1)


@dataclass(frozen=True)
class Permutation:
    """A keyed bijection of ``range(size)``: Feistel over an even number of bits, cycle-walked."""

    key: bytes
    size: int
    half_bits: int = field(init=False)

    def __post_init__(self) -> None:
        bits = max(2, (self.size - 1).bit_length())
        object.__setattr__(self, "half_bits", (bits + 1) // 2)

    def _feistel(self, value: int, inverse: bool) -> int:
        h = self.half_bits
        mask = (1 << h) - 1
        left, right = value >> h, value & mask
        rounds = range(3, -1, -1) if inverse else range(4)
        for index in rounds:
            if inverse:
                left, right = right ^ _round(self.key, index, left, h), left
            else:
                left, right = right, left ^ _round(self.key, index, right, h)
        return (left << h) | right

    def forward(self, value: int) -> int:
        if not 0 <= value < self.size:   # cycle walking only returns into the domain from inside it
            raise ValueError(f"{value} is outside the permutation's domain of {self.size}")
        value = self._feistel(value, False)
        while value >= self.size:
            value = self._feistel(value, False)
        return value

    def backward(self, value: int) -> int:
        value = self._feistel(value, True)
        while value >= self.size:
            value = self._feistel(value, True)
        return value


class IdCodec:
    """Serial <-> id for one entity type. ``decode`` returns None for anything it never makes."""

    kind = "integer"
    python_type: type = int

    def encode(self, serial: int) -> int | str:
        return serial

    def decode(self, id: object) -> int | None:
        if isinstance(id, bool) or not isinstance(id, int):
            return None
        return id

    def describe(self) -> str:
        return "integer: the serial itself (a child is parent * multiplier + k)"


class DigitsCodec(IdCodec):
    """A decimal string, optionally prefixed: ``prefix + str(offset + serial)``."""

    kind = "digits"
    python_type = str

    def __init__(self, prefix: str = "", offset: int = 0) -> None:
        self.prefix, self.offset = prefix, offset

    def encode(self, serial: int) -> str:
        return f"{self.prefix}{self.offset + serial}"

    def decode(self, id: object) -> int | None:
        text = str(id) if isinstance(id, (str, int)) and not isinstance(id, bool) else ""
        if not text.startswith(self.prefix):
            return None
        digits = text[len(self.prefix):]
        if not digits.isascii() or not digits.isdigit() or len(digits) > 30 or (len(digits) > 1 and digits[0] == "0"):
            return None
        serial = int(digits) - self.offset
        return serial if serial >= 1 else None

    def describe(self) -> str:
        example = self.encode(1)
        return f"digits: '{example}', '{self.encode(2)}', ... (prefix '{self.prefix}', offset {self.offset})"


class GroupedDigitsCodec(IdCodec):
    """Decimal digits in fixed groups between literal separators, after an optional prefix
    (``1000000000.000201`` for ``^\\d{10}\\.\\d{6}$``): the serial offset to the groups' total width, split
    into them from the right (a serial too large for the width widens the first group)."""

    kind = "grouped"
    python_type = str

    def __init__(self, prefix: str, groups: tuple[int, ...], separators: tuple[str, ...]) -> None:
        self.prefix, self.groups, self.separators = prefix, groups, separators
        self.offset = 10 ** (sum(groups) - 1)

    def encode(self, serial: int) -> str:
        text = str(self.offset + serial)
        parts: list[str] = []
        for width in reversed(self.groups[1:]):
            text, tail = text[:-width], text[-width:]
            parts.insert(0, tail)
        out = self.prefix + text
        for separator, part in zip(self.separators, parts, strict=True):
            out += separator + part
        return out

    def decode(self, id: object) -> int | None:
        if not isinstance(id, str) or not id.startswith(self.prefix):
            return None
        rest, parts = id[len(self.prefix):], []
        for separator in self.separators:
            head, found, rest = rest.partition(separator)
            if not found:
                return None
            parts.append(head)
        parts.append(rest)
        sized = len(parts[0]) >= self.groups[0] and all(len(p) == w for p, w in zip(parts[1:], self.groups[1:],
                                                                                 strict=True))
        digits = "".join(parts)
        if not sized or not digits.isascii() or not digits.isdigit() or len(digits) > 30 or digits[0] == "0":
            return None
        serial = int(digits) - self.offset
        return serial if serial >= 1 else None

    def describe(self) -> str:
        return f"grouped digits: '{self.encode(1)}', '{self.encode(2)}', ..."


class UuidCodec(IdCodec):
    """A version-4 UUID whose random bits are a keyed permutation of the serial."""

    kind = "uuid"
    python_type = str

    def __init__(self, key: bytes) -> None:
        self.permutation = Permutation(key, 1 << 122)

    def encode(self, serial: int) -> str:
        bits = self.permutation.forward(serial)
        high, mid, low = bits >> 74, (bits >> 62) & 0xFFF, bits & ((1 << 62) - 1)
        value = (high << 80) | (4 << 76) | (mid << 64) | (0b10 << 62) | low
        return str(uuid.UUID(int=value))

    def decode(self, id: object) -> int | None:
        if not isinstance(id, str) or not _UUID_TEXT.match(id):
            return None
        try:
            value = uuid.UUID(id).int
        except ValueError:
            return None
        if (value >> 76) & 0xF != 4 or (value >> 62) & 0b11 != 0b10:
            return None
        bits = ((value >> 80) << 74) | (((value >> 64) & 0xFFF) << 62) | (value & ((1 << 62) - 1))
        return self.permutation.backward(bits)

    def describe(self) -> str:
        return "uuid: version-4 UUIDs, a keyed permutation of (parent, k)"


class OpaqueCodec(IdCodec):
    """``prefix`` + ``length`` characters of ``alphabet``, a keyed permutation of the serial."""

    kind = "opaque"
    python_type = str

    def __init__(self, key: bytes, alphabet: str, length: int, prefix: str = "") -> None:
        self.alphabet, self.length, self.prefix = alphabet, length, prefix
        self.index = {c: i for i, c in enumerate(alphabet)}
        self.permutation = Permutation(key, len(alphabet) ** length)

    def encode(self, serial: int) -> str:
        value = self.permutation.forward(serial)
        base = len(self.alphabet)
        chars = []
        for _ in range(self.length):
            value, digit = divmod(value, base)
            chars.append(self.alphabet[digit])
        return self.prefix + "".join(reversed(chars))

    def decode(self, id: object) -> int | None:
        if not isinstance(id, str) or not id.startswith(self.prefix) or len(id) != len(self.prefix) + self.length:
            return None
        value = 0
        base = len(self.alphabet)
        for char in id[len(self.prefix):]:
            digit = self.index.get(char)
            if digit is None:
                return None
            value = value * base + digit
        return self.permutation.backward(value)

    def describe(self) -> str:
        return f"opaque: '{self.encode(1)}' ({self.length} characters after '{self.prefix}', keyed permutation)"


class SlugCodec(IdCodec):
    """A word and the serial (``maple12``, ``maple-12`` after a hyphenated example): for ids that are names
    such as a username or a client-chosen identifier."""

    kind = "slug"
    python_type = str

    def __init__(self, key: bytes, separator: str = "") -> None:
        self.key, self.separator = key, separator
        self._shape = re.compile(rf"^([a-z]+){re.escape(separator)}([1-9][0-9]{{0,29}})$")

    def _word(self, serial: int) -> str:
        digest = hashlib.blake2b(str(serial).encode(), key=self.key, digest_size=8).digest()
        return _SLUG_WORDS[int.from_bytes(digest, "big") % len(_SLUG_WORDS)]

    def encode(self, serial: int) -> str:
        return f"{self._word(serial)}{self.separator}{serial}"

    def decode(self, id: object) -> int | None:
        match = self._shape.match(id) if isinstance(id, str) else None
        if match is None:
            return None
        serial = int(match.group(2))
        return serial if self._word(serial) == match.group(1) else None

    def describe(self) -> str:
        return f"slug: a word and the serial ('{self.encode(1)}', '{self.encode(2)}')"


def codec_for(type_name: str, id_type: str, evidence: list[dict], id_field: str | None) -> IdCodec:
    """The codec that best fits what the spec says about a type's ids.

    ``evidence`` holds the schemas that carry the id (the id property, the path parameter,
    foreign keys pointing at the type), most authoritative first: their ``format``,
    first ``example`` and length bounds choose the shape; a ``pattern`` any of them has
    must accept the ids, else the next shape that does is taken. When the patterns
    disagree (a key that holds only some kinds of the type: direct-message ids among
    channel ids), the shape that honours the most authoritative of them wins.
    """
    if id_type == "integer":
        return IdCodec()
    key = hashlib.blake2b(f"mockverse-id/{type_name}".encode(), digest_size=16).digest()
    low = max([int(s["minLength"]) for s in evidence if isinstance(s.get("minLength"), int)] or [1])
    high = min([int(s["maxLength"]) for s in evidence if isinstance(s.get("maxLength"), int)] or [64])
    patterns = list(dict.fromkeys(s["pattern"] for s in evidence if isinstance(s.get("pattern"), str)))
    formats = [str(s.get("format", "")).lower() for s in evidence]
    examples = [s["example"] for s in evidence if isinstance(s.get("example"), (str, int)) and str(s["example"])]
    candidates: list[IdCodec] = []
    if "uuid" in formats or "guid" in formats or any(isinstance(e, str) and _UUID_TEXT.match(e) for e in examples):
        candidates.append(UuidCodec(key))
    if "snowflake" in formats:
        candidates.append(DigitsCodec(offset=_SNOWFLAKE))
    for example in examples[:1]:
        candidates.extend(_from_example(str(example), key, low, high))
    for pattern in patterns[:1]:
        candidates.extend(_from_pattern(pattern, key))
    if id_field and id_field != "id" and not re.search(r"(id|uuid|key)$", id_field.lower()):
        candidates.append(SlugCodec(key))
    candidates.append(OpaqueCodec(key, _BASE62, max(low, min(22, high))))
    candidates.append(DigitsCodec(offset=10 ** max(0, min(low, 6) - 1) if low > 1 else 0))
    for codec in candidates:
        if _fits(codec, low, high, patterns):
            return codec
    best = max(candidates, key=lambda codec: _honoured(codec, low, high, patterns))
    return best if any(_honoured(best, low, high, patterns)) else candidates[-1]


def _honoured(codec: IdCodec, low: int, high: int, patterns: list[str]) -> tuple[bool, ...]:
    """Which patterns the codec's ids meet, most authoritative first (candidates compare by it)."""
    return tuple(_fits(codec, low, high, patterns[:i]) for i in range(len(patterns), 0, -1)) + \
        tuple(_fits(codec, low, high, [p]) for p in patterns)


def _from_pattern(pattern: str, key: bytes) -> list[IdCodec]:
    """A codec shaped like a simple id pattern: a literal (or one-of) prefix, then one character class
    repeated (``^CH[0-9a-fA-F]{32}$``, ``^[UW][A-Z0-9]{2,}$``, ``^(0|[1-9][0-9]*)$``)."""
    match = _SIMPLE_PATTERN.match(pattern)
    if match is None:
        return _grouped(pattern)
    prefix, choice, chars, low, high = match.groups()
    prefix = (prefix or "") + (choice[0] if choice else "")
    alphabet = _expand(chars)
    if not alphabet:
        return []
    if low and high is None:
        length = int(low)                                    # {n}
    elif low and high:
        length = min(max(int(low), 10), int(high))           # {n,m}
    else:
        length = max(int(low or 1), 10)                      # {n,}, +, *
    if alphabet == _DIGITS:
        return [DigitsCodec(prefix, 10 ** (length - 1) if length > 1 else 0)]
    return [OpaqueCodec(key, alphabet, length, prefix)]


def _grouped(pattern: str) -> list[IdCodec]:
    """A codec for digit groups between literal separators (``^\\d{10}\\.\\d{6}$``, ``^T-[0-9]{4}-[0-9]{4}$``)."""
    match = _GROUPED_PATTERN.match(pattern)
    if match is None:
        return []
    prefix, body = match.groups()
    pieces = _DIGIT_GROUP.split(body)   # ['', '10', '\\.', '6', '']
    groups = tuple(int(n) for n in pieces[1::2])
    separators = tuple(s.replace("\\", "") for s in pieces[2:-1:2])
    return [GroupedDigitsCodec(prefix.replace("\\", ""), groups, separators)]


def _expand(chars: str) -> str:
    """The characters of a regex character class body (``0-9a-fA-F``), in a stable order."""
    out: list[str] = []
    index = 0
    while index < len(chars):
        if index + 2 < len(chars) and chars[index + 1] == "-":
            out += [chr(c) for c in range(ord(chars[index]), ord(chars[index + 2]) + 1)]
            index += 3
        else:
            out.append(chars[index])
            index += 1
    chars = "".join(c for c in dict.fromkeys(out) if c.isascii() and c.isalnum())
    letters = {c for c in chars if c.isalpha()}
    if letters and {c.lower() for c in letters} | {c.upper() for c in letters} == letters:
        return "".join(c for c in chars if not c.isupper())   # a-fA-F: case does not matter, write lowercase
    return chars


def _from_example(example: str, key: bytes, low: int, high: int) -> list[IdCodec]:
    """Codecs shaped like one example id."""
    words = _WORDS.match(example)
    if words is not None:   # ``unique-app-identifier``: a name a person chose, the words' separator kept
        return [SlugCodec(key, words.group(1))]
    match = _PREFIXED.match(example)
    if match is None:   # a line break in the example: no shape to learn from it
        return []
    prefix, body = match.groups()
    prefix = prefix or ""
    if not body:
        return []
    lettered = _LETTERED.match(body)
    if lettered is not None:   # ``TRK0042``: the letters kept, then the digits' width
        prefix, body = prefix + lettered.group(1), lettered.group(2)
    if body.isascii() and body.isdigit():
        return [DigitsCodec(prefix, 10 ** (len(body) - 1) if len(body) > 1 else 0)]
    if (
        body.isascii()
        and body.isalpha()
        and body.lower() == body
        or re.fullmatch(r"[A-Za-z]+", body)
        and len(body) < 10
    ):
        return []  # a word ("dinner", "theUser"): a slug fits better than an opaque string
    if prefix and re.fullmatch(r"[A-Za-z0-9]+", body) and len(body) < 8:
        length = max(low - len(prefix), min(_PLACEHOLDER_LENGTH, high - len(prefix)))
        return [OpaqueCodec(key, _BASE62, length, prefix)] if length > 0 else []
    if not re.fullmatch(r"[A-Za-z0-9]+", body) or len(body) < 8:
        return []
    has = {kind for kind, chars in (("d", _DIGITS), ("l", _LOWER), ("u", _UPPER)) if any(c in chars for c in body)}
    if has <= {"d", "u"}:
        alphabet = _DIGITS + _UPPER
    elif has <= {"d", "l"}:
        alphabet = _DIGITS + "abcdef" if set(body) <= set(_DIGITS + "abcdef") else _DIGITS + _LOWER
    else:
        alphabet = _BASE62
    return [OpaqueCodec(key, alphabet, len(body), prefix)]


def _fits(codec: IdCodec, low: int, high: int, patterns: list[str]) -> bool:
    """Whether the codec's ids (small and large serials) meet the length bounds and patterns."""
    for serial in (1, 7, 10_000_099, 5_099_999_999):
        try:
            text = str(codec.encode(serial))
        except ValueError:   # more serials than the shape has ids (8 hex digits): the world never makes them
            continue
        if not low <= len(text) <= high:
            return False
        for pattern in patterns:
            try:
                if re.search(pattern, text) is None:
                    return False
            except re.error:
                continue
    return True
