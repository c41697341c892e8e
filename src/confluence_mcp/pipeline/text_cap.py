"""The text cap: a result longer than ``results.max_text_chars`` is cut at a block boundary, and read on later.

The cut falls in the result's largest part: between items of a list (``results``), or in a long string (a
page body) just before a top-level element (found by a real HTML/XML tokenizer, never a pattern over
markup), else at a line break. The result then carries ``cut_note`` (how much was left out, and how to read
on) and ``continue_from``: our opaque token, base64url of ``{"p": [path], "o": offset}``. Calling the same
tool with the same arguments plus ``continue_from`` re-reads the answer and returns the same part from that
offset, cut again if still too long, so the parts joined are the whole: nothing lost, nothing repeated.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any, Final

from confluence_mcp.policy.json_text import compact_json

CONTINUE_FROM: Final = "continue_from"
"""The argument (on every tool) and the result field carrying where a cut result goes on."""
CUT_NOTE: Final = "cut_note"
CONTINUED: Final = "continued"
"""The result field saying which part a continued result resumes, and from where."""

Path = tuple[str | int, ...]

_NOTE_ROOM: Final = 600
"""Characters kept free for the note and the token, so the cut result with them stays within the cap."""
_MIN_ROOM: Final = 500
_VOID: Final = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"})
_MAX_TOKEN: Final = 2048
_MAX_DEPTH: Final = 32


@dataclass(frozen=True, slots=True)
class Continuation:
    """Where a cut result goes on: the part's path in the result (empty: the text itself) and the offset."""

    path: Path
    offset: int


def encode_continuation(continuation: Continuation) -> str:
    """Return the opaque ``continue_from`` token for ``continuation``."""
    raw = compact_json({"p": list(continuation.path), "o": continuation.offset}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_continuation(token: object) -> Continuation:
    """Return the continuation in ``token``; raise ValueError saying why it is not one of ours."""
    if not isinstance(token, str) or not token or len(token) > _MAX_TOKEN:
        raise ValueError("must be the continue_from string of a cut result, unchanged")
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError, RecursionError) as exc:
        raise ValueError("is not a continue_from this server issued: pass it unchanged") from exc
    if not isinstance(data, dict) or set(data) != {"p", "o"}:
        raise ValueError("is not a continue_from this server issued: pass it unchanged")
    path, offset = data["p"], data["o"]
    valid_path = isinstance(path, list) and len(path) <= _MAX_DEPTH
    if not valid_path or not all(isinstance(p, str) or (type(p) is int and p >= 0) for p in path):
        raise ValueError("is not a continue_from this server issued: pass it unchanged")
    if type(offset) is not int or offset < 1:
        raise ValueError("is not a continue_from this server issued: pass it unchanged")
    return Continuation(tuple(path), offset)


@dataclass(frozen=True, slots=True)
class Capped:
    """A cut result: its structured content (None for a text result), its text without a note, where it goes on."""

    structured: dict[str, Any] | None
    text: str
    continuation: Continuation
    left: int
    """Units of the cut part (characters, or items of a list) left out."""
    total: int
    """Units of the whole part, across every continuation."""
    is_list: bool


def resume(structured: Mapping[str, Any], continuation: Continuation) -> dict[str, Any]:
    """Return ``structured`` with the part at the continuation's path starting at its offset.

    Raises ValueError when the result has no such part or it is shorter (the object changed in between).
    """
    part = _at(structured, continuation.path)
    if not isinstance(part, str | list) or not continuation.path or continuation.offset > len(part):
        raise ValueError("does not fit this result: it changed since the cut; read it again without continue_from")
    out: dict[str, Any] = _replaced(structured, continuation.path, part[continuation.offset :])
    out[CONTINUED] = f"{_where(continuation.path)} from {_unit(part)[:-1]} {continuation.offset}"
    return out


def resume_text(text: str, continuation: Continuation) -> str:
    """Return the text result from the continuation's offset; raise ValueError when it does not fit."""
    if continuation.path or continuation.offset > len(text):
        raise ValueError("does not fit this result: it changed since the cut; read it again without continue_from")
    return text[continuation.offset :]


def cap_result(
    text: str, structured: dict[str, Any] | None, cap: int, *, start: Continuation | None = None
) -> Capped | None:
    """Cut a result whose text exceeds ``cap``; None when it fits (or has nothing to cut).

    ``start`` is where this result began when it is itself a continuation: the same part is cut again, and
    offsets stay in the whole part's terms.
    """
    if len(text) <= cap:
        return None
    if structured is None:
        offset = start.offset if start is not None else 0
        keep = _string_cut(text, max(1, cap - _NOTE_ROOM))
        total = offset + len(text)
        return Capped(None, text[:keep], Continuation((), offset + keep), total - offset - keep, total, False)
    if start is not None:
        path: Path | None = start.path
        done = start.offset
    else:
        path, done = _largest_part(structured), 0
    if path is None:
        return None
    part = _at(structured, path)
    if not isinstance(part, str | list) or not part:
        return None
    rest = len(compact_json(_replaced(structured, path, part[:0])))
    room = cap - rest - _NOTE_ROOM
    if room < _MIN_ROOM:  # the rest of the result alone fills the cap: cutting this part cannot help
        return None
    keep = _list_cut(part, room) if isinstance(part, list) else _string_cut(part, room)
    if keep >= len(part):
        return None
    cut = _replaced(structured, path, part[:keep])
    total = done + len(part)
    left = total - done - keep
    return Capped(cut, compact_json(cut), Continuation(path, done + keep), left, total, isinstance(part, list))


def cut_note(tool: str, path: Path, left: int, total: int, cap: int, token: str | None, *, is_list: bool) -> str:
    """Return the note of a cut result: what was left out, and how to read on (or, for a write, where)."""
    unit = "items" if is_list else "characters"
    where = _where(path) if path else "the text"
    said = f"Cut to fit {cap:,} characters: {left:,} of {total:,} {unit} of {where} are left out."
    if token is None:
        return f"{said} The change itself is whole; read the object with its get tool to see the rest."
    return f'{said} To read on, call {tool} again with the same arguments plus "continue_from": "{token}".'


def _where(path: Path) -> str:
    return ".".join(str(p) for p in path)


def _unit(part: str | list[Any]) -> str:
    return "items" if isinstance(part, list) else "characters"


def _at(value: Any, path: Path) -> Any:
    for key in path:
        if isinstance(key, str) and isinstance(value, Mapping):
            value = value.get(key)
        elif isinstance(key, int) and isinstance(value, list) and key < len(value):
            value = value[key]
        else:
            return None
    return value


def _replaced(value: Any, path: Path, new: Any) -> Any:
    """Return a shallow copy of ``value`` along ``path`` with ``new`` at its end (the rest is shared)."""
    if not path:
        return new
    key, rest = path[0], path[1:]
    if isinstance(value, Mapping):
        out = dict(value)
        out[key] = _replaced(value[key], rest, new)
        return out
    assert isinstance(key, int)  # _at walked this path: lists are indexed by integers
    items = list(value)
    items[key] = _replaced(value[key], rest, new)
    return items


def _largest_part(structured: Mapping[str, Any]) -> Path | None:
    """Return the path of the largest list or string in ``structured`` (by JSON size), None when there is none."""
    best: list[tuple[int, Path]] = []

    def size(value: Any, path: Path) -> int:
        if isinstance(value, Mapping):
            n = 2 + sum(len(compact_json(k)) + 1 + size(v, (*path, k)) for k, v in value.items())
            return n + max(len(value) - 1, 0)
        if isinstance(value, list):
            n = 2 + sum(size(v, (*path, i)) for i, v in enumerate(value)) + max(len(value) - 1, 0)
        elif isinstance(value, str):
            n = len(compact_json(value))
        else:
            return len(compact_json(value))
        if path and (not best or n > best[0][0]):
            best[:] = [(n, path)]
        return n

    size(structured, ())
    return best[0][1] if best else None


def _list_cut(items: list[Any], room: int) -> int:
    """Return how many leading items fit in ``room`` characters of JSON (at least one, so reading progresses)."""
    used = 0
    for index, item in enumerate(items):
        used += len(compact_json(item)) + (1 if index else 0)
        if used > room:
            return max(index, 1)
    return len(items)


def _string_cut(text: str, room: int) -> int:
    """Return where to cut ``text`` so its JSON fits ``room``: before a top-level element, else a line break."""
    low, high = 0, len(text)
    while low < high:  # the longest prefix whose JSON form (escapes included) fits
        middle = (low + high + 1) // 2
        if len(compact_json(text[:middle])) <= room:
            low = middle
        else:
            high = middle - 1
    limit = low
    if limit >= len(text):
        return len(text)
    boundary = _block_boundary(text, limit)
    return boundary if boundary > 0 else max(limit, 1)


def _block_boundary(text: str, limit: int) -> int:
    """Return the last block boundary at or before ``limit`` (0 when none): an element start, else a newline."""
    if "<" in text[:limit]:
        tops, any_start = _element_starts(text[: limit + 1], limit)
        if tops and tops[-1] >= limit // 2:
            return tops[-1]
        if any_start:
            return any_start[-1]
    for mark in ("\n\n", "\n", " "):
        found = text.rfind(mark, 0, limit)
        if found > 0:
            return found + len(mark)
    return 0


def _element_starts(markup: str, limit: int) -> tuple[list[int], list[int]]:
    """Return offsets (at most ``limit``, above 0) where elements start: top-level ones, and any."""
    tokenizer = _Starts()
    tokenizer.feed(markup)
    tops = [o for o, depth in tokenizer.starts if 0 < o <= limit and depth == 0]
    return tops, [o for o, _ in tokenizer.starts if 0 < o <= limit]


class _Starts(HTMLParser):
    """Records where each start tag begins and how deep it sits (storage XHTML and view HTML alike)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.starts: list[tuple[int, int]] = []
        self._depth = 0
        self._lines = [0]

    def feed(self, data: str) -> None:
        """Tokenize ``data``, remembering where lines start so positions become offsets."""
        offset = data.find("\n")
        while offset >= 0:
            self._lines.append(offset + 1)
            offset = data.find("\n", offset + 1)
        super().feed(data)

    def _offset(self) -> int:
        line, column = self.getpos()
        return self._lines[line - 1] + column

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.starts.append((self._offset(), self._depth))
        if tag not in _VOID:  # view HTML writes <br> unclosed; it must not deepen what follows
            self._depth += 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.starts.append((self._offset(), self._depth))

    def handle_endtag(self, tag: str) -> None:
        self._depth = max(self._depth - 1, 0)
