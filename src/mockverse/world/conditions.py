"""Conditions: the tiny expression language of lifecycle rules' ``when``, parsed once and
evaluated many times against a persona's facts:

    login_count >= 1 and not (plan == 'free' or metadata.blocked == true)

- values: numbers (``3``, ``-1.5``), strings in single or double quotes, ``true``,
  ``false``, ``null``, and names; keywords are case-insensitive;
- a name resolves in the facts (a persona's metadata plus facts such as
  ``days_in_state``); ``metadata.x`` walks into nested mappings, never into attributes;
- a missing name is ``null``, and any comparison with ``null`` is false (so
  ``missing != 1`` is false too), except ``x == null`` / ``x != null``, which test
  whether ``x`` is missing;
- ``<``, ``<=``, ``>``, ``>=`` compare two numbers or two strings, anything else is false;
  ``true`` never equals ``1``;
- there are no calls, attributes, indexing or arithmetic: ``__import__('os')`` is a
  syntax error, reported with its position (counting characters from 1).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class ConditionError(ValueError):
    """A condition that cannot be parsed; ``field`` names it, ``message`` says what and where."""

    def __init__(self, field: str, message: str) -> None:
        self.field, self.message = field, message
        super().__init__(f"{field}: {message}" if field else message)


# -- tokens -----------------------------------------------------------------------------------

_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
  | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
  | (?P<name>[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)
  | (?P<op>==|!=|<=|>=|<|>)
  | (?P<punct>[()\-])
""", re.VERBOSE)
_KEYWORDS = {"and", "or", "not", "true", "false", "null"}
_MAX_DEPTH = 32


@dataclass(frozen=True)
class _Token:
    kind: str      # number | string | name | keyword | op | punct | end
    text: str
    pos: int       # index in the source text, from 0


def _syntax_error(text: str, pos: int, problem: str, field: str = "condition") -> ConditionError:
    """A syntax error that says what is wrong and where (position counts from 1)."""
    return ConditionError(field, f"at position {pos + 1} in {text!r}: {problem}")


def _tokenize(text: str, field: str = "condition") -> list[_Token]:
    """Split ``text`` into tokens; any character outside the language is an error."""
    tokens, pos = [], 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            char = text[pos]
            hint = "; use '==' to compare" if char == "=" else ""
            if char in "'\"":
                raise _syntax_error(text, pos, "unterminated string", field)
            raise _syntax_error(text, pos, f"unexpected character {char!r}{hint}", field)
        kind = match.lastgroup or ""
        if kind != "space":
            value = match.group()
            if kind == "name" and value.lower() in _KEYWORDS:
                kind, value = "keyword", value.lower()
            tokens.append(_Token(kind, value, pos))
        pos = match.end()
    tokens.append(_Token("end", "", len(text)))
    return tokens


def _string_value(token: str) -> str:
    """The value of a quoted string token: quotes removed, ``\\x`` means ``x``."""
    return re.sub(r"\\(.)", r"\1", token[1:-1])


# -- syntax tree ------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Literal:
    value: Any


@dataclass(frozen=True)
class _Name:
    path: tuple[str, ...]


@dataclass(frozen=True)
class _Not:
    operand: _Node


@dataclass(frozen=True)
class _BoolOp:
    op: str                       # "and" | "or"
    operands: tuple[_Node, ...]


@dataclass(frozen=True)
class _Compare:
    op: str
    left: _Node
    right: _Node


_Node = _Literal | _Name | _Not | _BoolOp | _Compare
_NULL = _Literal(None)


class _Parser:
    """Recursive descent over the tokens: or > and > not > comparison > value."""

    def __init__(self, text: str, field: str = "condition") -> None:
        self.text, self.field = text, field
        self.tokens = _tokenize(text, field)
        self.i = 0

    def error(self, token: _Token, problem: str) -> ConditionError:
        return _syntax_error(self.text, token.pos, problem, self.field)

    def peek(self) -> _Token:
        return self.tokens[self.i]

    def take(self) -> _Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def at_keyword(self, word: str) -> bool:
        return self.peek().kind == "keyword" and self.peek().text == word

    def parse(self) -> _Node:
        if self.peek().kind == "end":
            raise ConditionError(self.field, "is empty; write a comparison such as 'login_count >= 1'")
        node = self.or_expr(0)
        token = self.peek()
        if token.kind != "end":
            raise self.error(token, self.trailing_problem(token))
        return node

    def trailing_problem(self, token: _Token) -> str:
        """Why a token cannot follow a complete expression (calls and chains get their own words)."""
        if token.text == "(":
            return "unexpected '(': conditions cannot call anything"
        if token.kind == "op":
            return f"unexpected '{token.text}': comparisons cannot be chained, join them with 'and'"
        return f"expected 'and', 'or' or the end, got {token.text!r}"

    def or_expr(self, depth: int) -> _Node:
        return self.bool_op("or", self.and_expr, depth)

    def and_expr(self, depth: int) -> _Node:
        return self.bool_op("and", self.not_expr, depth)

    def bool_op(self, word: str, operand: Any, depth: int) -> _Node:
        nodes = [operand(depth)]
        while self.at_keyword(word):
            self.take()
            nodes.append(operand(depth))
        return nodes[0] if len(nodes) == 1 else _BoolOp(word, tuple(nodes))

    def not_expr(self, depth: int) -> _Node:
        if self.at_keyword("not"):
            self.take()
            return _Not(self.not_expr(depth))
        return self.comparison(depth)

    def comparison(self, depth: int) -> _Node:
        left = self.value(depth)
        if self.peek().kind != "op":
            return left
        op = self.take().text
        return _Compare(op, left, self.value(depth))

    def value(self, depth: int) -> _Node:
        token = self.take()
        if token.kind == "number":
            return _Literal(_number(token.text))
        if token.kind == "string":
            return _Literal(_string_value(token.text))
        if token.kind == "keyword" and token.text in ("true", "false", "null"):
            return _Literal({"true": True, "false": False, "null": None}[token.text])
        if token.kind == "name":
            return self.name(token)
        if token.text == "-" and self.peek().kind == "number":
            return _Literal(-_number(self.take().text))
        if token.text == "(":
            return self.group(token, depth)
        if token.kind == "end":
            raise self.error(token, "expected a value, got the end of the condition")
        raise self.error(token, f"expected a value, got {token.text!r}")

    def name(self, token: _Token) -> _Name:
        parts = tuple(token.text.split("."))
        if any(part.startswith("__") for part in parts):
            raise self.error(token, f"names starting with '__' are not allowed ({token.text!r})")
        return _Name(parts)

    def group(self, opening: _Token, depth: int) -> _Node:
        if depth >= _MAX_DEPTH:
            raise self.error(opening, f"parentheses nested deeper than {_MAX_DEPTH}")
        node = self.or_expr(depth + 1)
        closing = self.take()
        if closing.text != ")":
            got = "the end of the condition" if closing.kind == "end" else repr(closing.text)
            raise self.error(closing, f"expected ')' to close the '(' at position {opening.pos + 1}, got {got}")
        return node


def parse_literal(text: str, field: str = "effects") -> Any:
    """The value of ``text`` when it is exactly one literal (a number, a quoted string, true, false or
    null); raises ConditionError otherwise."""
    parser = _Parser(text, field)
    node = parser.value(0)
    if not isinstance(node, _Literal) or parser.peek().kind != "end":
        raise ConditionError(field, f"{text!r} is not one literal value")
    return node.value


def _number(text: str) -> int | float:
    """``3`` -> 3, ``1.5`` / ``1e3`` -> float."""
    return int(text) if text.isdigit() else float(text)


# -- evaluation -------------------------------------------------------------------------------

def lookup_name(values: Mapping[str, Any], name: str | tuple[str, ...]) -> Any:
    """The value of a (dotted) name in ``values``: a key, or a walk through nested mappings; None if missing."""
    path = tuple(name.split(".")) if isinstance(name, str) else name
    dotted = ".".join(path)
    if dotted in values:
        return values[dotted]
    current: Any = values
    for part in path:
        if not isinstance(current, Mapping) or part not in current:
            return None
        current = current[part]
    return current


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _equal(a: Any, b: Any) -> bool:
    """Equality where a boolean never equals a number (``true == 1`` is false)."""
    if isinstance(a, bool) != isinstance(b, bool):
        return False
    return bool(a == b)


def _order(op: str, a: Any, b: Any) -> bool:
    """``<``-style comparison of two numbers or two strings; any other pair is false."""
    if not ((is_number(a) and is_number(b)) or (isinstance(a, str) and isinstance(b, str))):
        return False
    return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]


def _compare(node: _Compare, facts: Mapping[str, Any]) -> bool:
    """One comparison; a ``null`` literal makes it a presence test, any other null is false."""
    if node.op in ("==", "!=") and _NULL in (node.left, node.right):
        other = node.right if node.left == _NULL else node.left
        missing = _evaluate(other, facts) is None
        return missing if node.op == "==" else not missing
    a, b = _evaluate(node.left, facts), _evaluate(node.right, facts)
    if a is None or b is None:
        return False
    if node.op == "==":
        return _equal(a, b)
    if node.op == "!=":
        return not _equal(a, b)
    return _order(node.op, a, b)


def _evaluate(node: _Node, facts: Mapping[str, Any]) -> Any:
    """The value of ``node``: literals and names give values, operators give booleans."""
    if isinstance(node, _Literal):
        return node.value
    if isinstance(node, _Name):
        return lookup_name(facts, node.path)
    if isinstance(node, _Not):
        return not _truthy(_evaluate(node.operand, facts))
    if isinstance(node, _BoolOp):
        test = all if node.op == "and" else any
        return test(_truthy(_evaluate(operand, facts)) for operand in node.operands)
    return _compare(node, facts)


def _truthy(value: Any) -> bool:
    return value is not None and bool(value)


def _names(node: _Node) -> set[str]:
    if isinstance(node, _Name):
        return {".".join(node.path)}
    if isinstance(node, _Not):
        return _names(node.operand)
    if isinstance(node, _BoolOp):
        return set().union(*(_names(n) for n in node.operands))
    if isinstance(node, _Compare):
        return _names(node.left) | _names(node.right)
    return set()


@dataclass(frozen=True)
class Condition:
    """A rule's ``when``: parsed once from text, evaluated against a persona's facts."""

    text: str
    root: _Node

    @classmethod
    def parse(cls, text: str) -> Condition:
        """Parse ``text``; raises ConditionError(field="condition") naming the position of the error."""
        if not isinstance(text, str):
            raise ConditionError("condition", "a condition is a string such as 'login_count >= 1'")
        return cls(text, _Parser(text).parse())

    def evaluate(self, facts: Mapping[str, Any]) -> bool:
        """Whether the condition holds for ``facts`` (missing names are null, see the module doc)."""
        return _truthy(_evaluate(self.root, facts))

    def names(self) -> set[str]:
        """The (dotted) names the condition reads."""
        return _names(self.root)

    def __str__(self) -> str:
        return self.text
