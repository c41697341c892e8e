"""A useful subset of CQL: tokenize, parse to a small tree, and evaluate it against attribute maps.

Supported: ``field op value`` with ``= != ~ !~ > >= < <= IN NOT IN``, ``AND``/``OR``/``NOT``, parentheses,
quoted values with backslash escapes, functions (``currentUser()``, ``now("-4w")``, ``startOfDay()`` …) and
``ORDER BY field [ASC|DESC]``. Field names and operator rules follow Atlassian's CQL reference.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from confluence_mcp.errors import SimulatedFailure

TEXT_FIELDS: Final = frozenset({"title", "text", "space.title", "user.fullname"})
EQUALITY_FIELDS: Final = frozenset(
    {"type", "space", "space.key", "space.type", "label", "id", "content", "ancestor", "parent", "creator"}
    | {"contributor", "user", "user.accountid", "user.userkey"}
)
DATE_FIELDS: Final = frozenset({"created", "lastmodified"})
USER_FIELDS: Final = frozenset({"user", "user.fullname", "user.accountid", "user.userkey"})
ORDER_FIELDS: Final = frozenset({"title", "created", "lastmodified", "id", "type", "space"})
_EXACT_TEXT: Final = frozenset({"title", "user.fullname"})  # `title = "x"` is accepted by live sites

_TOKEN: Final = re.compile(
    r"""\s*(?:
        (?P<paren>[(),])
      | (?P<op>!=|!~|>=|<=|=|~|>|<)
      | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<word>[^\s()",'=!~<>]+)
    )""",
    re.VERBOSE,
)
_ESCAPE: Final = re.compile(r"\\(.)")
_TERMS: Final = re.compile(r"\w+")
_DATE: Final = re.compile(r"(\d{4})[-/](\d{2})[-/](\d{2})(?:[ T](\d{2}):(\d{2}))?")
_OFFSET: Final = re.compile(r"([+-]?\d+)([yMwdhm])")
_KEYWORDS: Final = frozenset({"and", "or", "not", "in", "order", "by", "asc", "desc"})


class CqlError(SimulatedFailure):
    """CQL the simulator cannot parse or does not accept; the message is the reason."""


@dataclass(frozen=True, slots=True)
class Function:
    """A CQL function call such as ``currentUser()`` or ``now("-4w")``."""

    name: str
    args: tuple[str, ...]


Value = str | Function


@dataclass(frozen=True, slots=True)
class Clause:
    """``field op values``; ``op`` is one of ``= != ~ !~ > >= < <= in notin``."""

    field: str
    op: str
    values: tuple[Value, ...]


@dataclass(frozen=True, slots=True)
class And:
    """Both sides hold."""

    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Or:
    """Either side holds."""

    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Not:
    """The operand does not hold."""

    operand: Node


Node = Clause | And | Or | Not


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed query: the condition and the ``ORDER BY`` keys as ``(field, descending)``."""

    where: Node
    order: tuple[tuple[str, bool], ...]


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # paren, op, string, word, end
    text: str
    position: int


def _tokens(cql: str) -> list[_Token]:
    found: list[_Token] = []
    position = 0
    while position < len(cql):
        if cql[position:].strip() == "":
            break
        match = _TOKEN.match(cql, position)
        if match is None or match.lastgroup is None:
            snippet = cql[position:].strip()[:20]
            reason = "unterminated string" if snippet[:1] in "\"'" else f"unexpected text '{snippet}'"
            raise CqlError(f"{reason} at position {position}")
        kind = match.lastgroup
        text = match.group(kind)
        if kind == "string":
            text = _ESCAPE.sub(r"\1", text[1:-1])
        found.append(_Token(kind, text, match.start(kind)))
        position = match.end()
    found.append(_Token("end", "", len(cql)))
    return found


class _Parser:
    def __init__(self, cql: str) -> None:
        self.tokens = _tokens(cql)
        self.index = 0

    def peek(self) -> _Token:
        return self.tokens[self.index]

    def take(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def keyword(self, *words: str) -> bool:
        token = self.peek()
        if token.kind == "word" and token.text.lower() in words:
            self.index += 1
            return True
        return False

    def expect(self, text: str) -> None:
        token = self.take()
        if token.text != text or token.kind not in ("paren", "op"):
            raise CqlError(f"expected '{text}' at position {token.position}, found {token.text or 'end of query'}")

    def query(self) -> Query:
        if self.peek().kind == "end":
            raise CqlError("the query is empty")
        if self.keyword("not"):
            raise CqlError("a query cannot start with a negated clause")
        where = self.disjunction()
        order: list[tuple[str, bool]] = []
        if self.keyword("order"):
            if not self.keyword("by"):
                raise CqlError(f"expected BY after ORDER at position {self.peek().position}")
            while True:
                token = self.take()
                field = token.text.lower()
                if token.kind != "word" or field not in ORDER_FIELDS:
                    raise CqlError(f"cannot order by '{token.text}'")
                descending = self.keyword("desc")
                if not descending:
                    self.keyword("asc")
                order.append((field, descending))
                if self.peek().text != ",":
                    break
                self.take()
        token = self.peek()
        if token.kind != "end":
            raise CqlError(f"unexpected '{token.text}' at position {token.position}")
        return Query(where, tuple(order))

    def disjunction(self) -> Node:
        node = self.conjunction()
        while self.keyword("or"):
            node = Or(node, self.conjunction())
        return node

    def conjunction(self) -> Node:
        node = self.unary()
        while self.keyword("and"):
            node = And(node, self.unary())
        return node

    def unary(self) -> Node:
        if self.keyword("not"):
            return Not(self.unary())
        if self.peek().text == "(" and self.peek().kind == "paren":
            self.take()
            node = self.disjunction()
            self.expect(")")
            return node
        return self.clause()

    def clause(self) -> Clause:
        token = self.take()
        if token.kind != "word" or token.text.lower() in _KEYWORDS:
            raise CqlError(f"expected a field name at position {token.position}, found {token.text or 'end of query'}")
        field = token.text.lower()
        if self.keyword("in"):
            op = "in"
        elif self.keyword("not"):
            if not self.keyword("in"):
                raise CqlError(f"expected IN after NOT at position {self.peek().position}")
            op = "notin"
        else:
            op_token = self.take()
            if op_token.kind != "op":
                found = op_token.text or "end of query"
                raise CqlError(
                    f"expected an operator after '{token.text}' at position {op_token.position}, found {found}"
                )
            op = op_token.text
        values = self.value_list() if op in ("in", "notin") else (self.value(),)
        clause = Clause(field, op, values)
        _check_clause(clause)
        return clause

    def value_list(self) -> tuple[Value, ...]:
        self.expect("(")
        values = [self.value()]
        while self.peek().text == "," and self.peek().kind == "paren":
            self.take()
            values.append(self.value())
        self.expect(")")
        return tuple(values)

    def value(self) -> Value:
        token = self.take()
        if token.kind == "string":
            return token.text
        if token.kind != "word":
            raise CqlError(f"expected a value at position {token.position}, found {token.text or 'end of query'}")
        if self.peek().text == "(" and self.peek().kind == "paren":
            self.take()
            args: list[str] = []
            while not (self.peek().text == ")" and self.peek().kind == "paren"):
                arg = self.take()
                if arg.kind not in ("string", "word"):
                    raise CqlError(f"bad argument to {token.text}() at position {arg.position}")
                args.append(arg.text)
                if self.peek().text == "," and self.peek().kind == "paren":
                    self.take()
            self.take()
            return Function(token.text.lower(), tuple(args))
        return token.text


def _check_clause(clause: Clause) -> None:
    field, op = clause.field, clause.op
    if field in TEXT_FIELDS:
        allowed = {"~", "!~", "=", "!="} if field in _EXACT_TEXT else {"~", "!~"}
    elif field in EQUALITY_FIELDS:
        allowed = {"=", "!=", "in", "notin"}
    elif field in DATE_FIELDS:
        allowed = {"=", "!=", ">", ">=", "<", "<=", "in", "notin"}
    else:
        raise CqlError(f"the field '{clause.field}' is not supported")
    if op not in allowed:
        shown = "NOT IN" if op == "notin" else op.upper()
        raise CqlError(f"the operator '{shown}' does not apply to the field '{field}'")


def parse(cql: str) -> Query:
    """Return the parsed ``cql`` or raise ``CqlError`` saying what is wrong."""
    return _Parser(cql).query()


def fields(node: Node) -> Iterator[Clause]:
    """Yield every clause in ``node``."""
    if isinstance(node, Clause):
        yield node
    elif isinstance(node, Not):
        yield from fields(node.operand)
    else:
        yield from fields(node.left)
        yield from fields(node.right)


def _shift(args: tuple[str, ...]) -> timedelta:
    if not args:
        return timedelta()
    match = _OFFSET.fullmatch(args[0].strip())
    if match is None:
        raise CqlError(f"bad date offset '{args[0]}' (use e.g. \"-4w\")")
    amount, unit = int(match.group(1)), match.group(2)
    days = {"y": 365, "M": 30, "w": 7, "d": 1}.get(unit)
    return (
        timedelta(days=amount * days)
        if days is not None
        else timedelta(hours=amount if unit == "h" else 0, minutes=amount if unit == "m" else 0)
    )


def _function_value(function: Function, account_id: str) -> str:
    name = function.name
    if name == "currentuser":
        return account_id
    now = datetime.now(UTC)
    if name == "now":
        moment = now
    elif name in ("startofday", "endofday"):
        moment = now.replace(hour=0, minute=0, second=0, microsecond=0)
    elif name in ("startofweek", "endofweek"):
        moment = now.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=now.weekday())
    elif name in ("startofmonth", "endofmonth"):
        moment = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    elif name in ("startofyear", "endofyear"):
        moment = now.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    else:
        raise CqlError(f"the function '{function.name}()' is not supported")
    return (moment + _shift(function.args)).strftime("%Y-%m-%dT%H:%M")


def _date(value: str) -> tuple[str, bool]:
    if "T" in value and len(value) == 16:  # already normalised by _function_value
        return value, True
    match = _DATE.fullmatch(value.strip())
    if match is None:
        raise CqlError(f'bad date \'{value}\' (use "yyyy-MM-dd" or "yyyy/MM/dd HH:mm")')
    year, month, day, hour, minute = match.groups()
    return f"{year}-{month}-{day}T{hour or '00'}:{minute or '00'}", hour is not None


def _text_match(haystack: str, needle: str) -> bool:
    terms = _TERMS.findall(needle.casefold())
    text = haystack.casefold()
    return all(term in text for term in terms)


def _holds(clause: Clause, attrs: Mapping[str, object], account_id: str) -> bool:
    raw = attrs.get(clause.field)
    values = [value if isinstance(value, str) else _function_value(value, account_id) for value in clause.values]
    if raw is None:
        return clause.op in ("!=", "!~", "notin")
    candidates = [str(item) for item in raw] if isinstance(raw, list | tuple) else [str(raw)]
    op = clause.op
    if op in ("~", "!~"):
        found = any(_text_match(" ".join(candidates), value) for value in values)
        return found if op == "~" else not found
    if clause.field in DATE_FIELDS:
        stamp = candidates[0][:16]
        results = []
        for value in values:
            moment, has_time = _date(value)
            if op in ("=", "!=", "in", "notin"):
                results.append(stamp == moment if has_time else stamp[:10] == moment[:10])
            else:
                results.append(
                    {">": stamp > moment, ">=": stamp >= moment, "<": stamp < moment, "<=": stamp <= moment}[op]
                )
        found = any(results)
        return not found if op in ("!=", "notin") else found
    wanted = {value.casefold() for value in values}
    found = any(candidate.casefold() in wanted for candidate in candidates)
    return not found if op in ("!=", "notin") else found


def matches(node: Node, attrs: Mapping[str, object], account_id: str) -> bool:
    """Return whether an entity with attributes ``attrs`` satisfies ``node``."""
    if isinstance(node, Clause):
        return _holds(node, attrs, account_id)
    if isinstance(node, And):
        return matches(node.left, attrs, account_id) and matches(node.right, attrs, account_id)
    if isinstance(node, Or):
        return matches(node.left, attrs, account_id) or matches(node.right, attrs, account_id)
    return not matches(node.operand, attrs, account_id)
