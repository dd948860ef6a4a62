"""English word forms of API names: snake_case, singular nouns, camelCase, schema base names.

Paths, schemas and fields name the same thing in many spellings (``OrderItems``, ``order_items``,
``orderItem``, ``SimplifiedOrderItemObject``); inference compares them in one normal form, the
singular ``snake_case`` noun, made here.
"""

from __future__ import annotations

import functools
import re

_SCHEMA_SUFFIXES = frozenset({"object", "dto", "model", "entity", "resource", "base"})
_SCHEMA_PREFIXES = frozenset(
    {
        "simplified", "public", "private", "full", "detailed", "basic", "linked", "compact", "minimal", "partial",
        "expanded", "extended",
    }
)

_IRREGULAR = {
    "people": "person", "men": "man", "women": "woman", "children": "child", "teeth": "tooth", "feet": "foot",
    "mice": "mouse", "geese": "goose", "oxen": "ox", "dice": "die", "criteria": "criterion",
    "phenomena": "phenomenon", "indices": "index", "matrices": "matrix", "vertices": "vertex",
    "appendices": "appendix", "analyses": "analysis", "crises": "crisis", "theses": "thesis",
    "diagnoses": "diagnosis", "hypotheses": "hypothesis", "parentheses": "parenthesis", "syntheses": "synthesis",
    "ellipses": "ellipsis", "axes": "axis", "quizzes": "quiz", "knives": "knife", "wives": "wife", "lives": "life",
    "leaves": "leaf", "halves": "half", "shelves": "shelf", "wolves": "wolf", "thieves": "thief", "loaves": "loaf",
    "calves": "calf", "selves": "self", "elves": "elf", "heroes": "hero", "potatoes": "potato",
    "tomatoes": "tomato", "echoes": "echo", "vetoes": "veto", "torpedoes": "torpedo", "volcanoes": "volcano",
    "aliases": "alias", "biases": "bias", "gases": "gas", "canvases": "canvas", "lenses": "lens",
    "atlases": "atlas", "caches": "cache", "niches": "niche", "avalanches": "avalanche", "headaches": "headache",
    "cliches": "cliche", "movies": "movie", "cookies": "cookie", "zombies": "zombie", "calories": "calorie",
    "pies": "pie", "ties": "tie", "lies": "lie", "rookies": "rookie", "selfies": "selfie", "hoodies": "hoodie",
    "brownies": "brownie", "goalies": "goalie", "freebies": "freebie", "genies": "genie", "sorties": "sortie",
    "smoothies": "smoothie", "aunties": "auntie",
}
# Words ending in "s" that are already singular (or uncountable).
_SAME = frozenset(
    {
        "news", "series", "species", "means", "alias", "bias", "canvas", "atlas", "gas", "lens", "yes", "this",
        "its", "his", "chaos", "kudos", "ethos", "analytics", "physics", "economics", "mathematics", "politics",
        "ethics", "logistics", "diagnostics", "dns", "sms", "mms", "cms", "gps", "aws", "ios", "macos", "os", "pos",
        "sos", "rss", "tls", "bios", "redis", "tennis", "chassis", "iris", "trellis", "metropolis", "axis",
        "christmas", "pancreas", "headquarters", "thanks", "billiards", "plus",
    }
)
# Singular words ending in "us" whose plural is "-uses"; other "-uses" drop only the "s" (house).
_US_WORDS = ("status", "bus", "campus", "virus", "bonus", "census", "consensus", "surplus", "prospectus",
             "apparatus", "nexus", "syllabus", "corpus", "focus", "radius", "cactus", "fungus", "stimulus")
# Singular words ending in "u" (so "menus", "skus" are plural).
_U_WORDS = frozenset(
    {"menu", "emu", "gnu", "guru", "haiku", "tofu", "bayou", "tutu", "sudoku", "sku", "cpu", "gpu", "apu", "snafu"}
)


_IDS = re.compile(r"IDs$")
_ACRONYM = re.compile(r"([A-Z]+)([A-Z][a-z])")
_HUMP = re.compile(r"([a-z0-9])([A-Z])")
_SEPARATORS = re.compile(r"[^0-9A-Za-z]+")


@functools.lru_cache(maxsize=65536)
def snake(text: str) -> str:
    """``snake_case`` of a path segment, camelCase or PascalCase name (``OrderItems`` -> ``order_items``);
    cached, as inference asks for the same names many times."""
    text = _IDS.sub("Ids", text)
    text = _ACRONYM.sub(r"\1_\2", text)
    text = _HUMP.sub(r"\1_\2", text)
    text = _SEPARATORS.sub("_", text)
    return text.strip("_").lower()


def singular(word: str) -> str:
    """The singular ``snake_case`` form of a noun or compound (``order_items`` -> ``order_item``).

    Only the last word of a compound changes; uncountable and already-singular words
    (``time``, ``status``, ``news``) are left alone.
    """
    words = snake(word).split("_")
    words[-1] = singular_word(words[-1])
    return "_".join(words)


def singular_word(word: str) -> str:
    """Singular of one lowercase word by table, then by suffix rules."""
    if len(word) <= 2 or word in _SAME:
        return word
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    if word.endswith(("ss", "sis", "itis")):
        return word
    if word.endswith("us"):
        return word[:-1] if word[:-1] in _U_WORDS else word
    if word.endswith("uses"):
        return word[:-2] if word[:-2].endswith(_US_WORDS) else word[:-1]
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "xes", "ches", "shes", "zzes")):
        return word[:-2]
    if word.endswith("s"):
        return word[:-1]
    return word


def is_plural(segment: str) -> bool:
    """Whether a path segment reads as a plural noun."""
    return singular(segment) != snake(segment)


def camel(name: str) -> str:
    """``time_entry`` -> ``timeEntry``."""
    head, *rest = name.split("_")
    return head + "".join(w.capitalize() for w in rest)


def key_names(name: str) -> tuple[str, str, str]:
    """The names a key to one entity of type ``name`` goes by, in a parameter or another entity's fields:
    ``user``, ``user_id``, ``userId``."""
    return name, f"{name}_id", f"{camel(name)}Id"


def schema_base_name(name: str) -> str:
    """The entity a component name suggests: ``SimplifiedAlbumObject`` -> ``album``."""
    words = snake(name).split("_")
    while len(words) > 1 and words[-1] in _SCHEMA_SUFFIXES:
        words.pop()
    while len(words) > 1 and words[0] in _SCHEMA_PREFIXES:
        words.pop(0)
    return "_".join(words)


def words_equal(a: str, b: str) -> bool:
    """Whether two compounds are the same words once each word is singular."""
    return [singular_word(w) for w in a.split("_")] == [singular_word(w) for w in b.split("_")]


def loose(name: str) -> str:
    """A name compared without case or separators (``Sid`` ~ ``sid``, ``user_id`` ~ ``userId``)."""
    return re.sub(r"[^a-z0-9]", "", name.lower())
