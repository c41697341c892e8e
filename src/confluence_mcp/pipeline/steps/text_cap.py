"""Step continue_from and the finisher text_cap: long results in parts (see ``pipeline/text_cap.py``).

``continue_from`` is taken out of any tool's arguments before they are checked, so no schema has to carry it;
only reading tools take it, since continuing re-runs the call. ``text_cap`` then returns the part the token
names and cuts what is still over ``results.max_text_chars``.
"""

from __future__ import annotations

import dataclasses

from confluence_mcp.errors import InvalidArguments
from confluence_mcp.pipeline.context import Call
from confluence_mcp.pipeline.text_cap import (
    CONTINUE_FROM,
    CUT_NOTE,
    cap_result,
    cut_note,
    decode_continuation,
    encode_continuation,
    resume,
    resume_text,
)
from confluence_mcp.policy.json_text import compact_json


class TakeContinuation:
    """Moves ``continue_from`` from the arguments to ``call.continue_from``; refuses one that is not ours."""

    name = "continue_from"

    async def run(self, call: Call) -> None:
        """Decode the token before anything is sent; a write is never re-run to continue its result."""
        if CONTINUE_FROM not in call.arguments:
            return
        assert call.tool is not None  # visible runs first
        tool = call.tool
        if not tool.annotations.read_only_hint:
            raise InvalidArguments(
                f"Invalid arguments for {tool.name}: argument 'continue_from' continues results of reading tools "
                "only; this tool changes Confluence, so it is never run again to continue."
            )
        try:
            call.continue_from = decode_continuation(call.arguments[CONTINUE_FROM])
        except ValueError as exc:
            raise InvalidArguments(f"Invalid arguments for {tool.name}: argument 'continue_from' {exc}.") from None
        call.replace_arguments({k: v for k, v in call.arguments.items() if k != CONTINUE_FROM})


class CapText:
    """Resumes a continued result at its offset, then cuts any result over the cap at a block boundary."""

    name = "text_cap"

    def __init__(self, max_chars: int) -> None:
        self._max = max_chars

    async def run(self, call: Call) -> None:
        """Cut the outcome of a call Confluence answered when its text is over the cap; add the note."""
        outcome, start = call.outcome, call.continue_from
        if outcome is None or outcome.is_error or call.response is None:
            return
        if start is None and len(outcome.text) <= self._max:
            return
        assert call.tool is not None
        text, structured = outcome.text, outcome.structured
        if start is not None:
            try:
                if structured is None:
                    text = resume_text(text, start)
                else:
                    structured = resume(structured, start)
                    text = compact_json(structured)
            except ValueError as exc:
                raise InvalidArguments(
                    f"Invalid arguments for {call.tool.name}: argument 'continue_from' {exc}."
                ) from None
        capped = cap_result(text, structured, self._max, start=start)
        if capped is not None:
            continuation = capped.continuation
            token = encode_continuation(continuation) if call.tool.annotations.read_only_hint else None
            left, total = capped.left, capped.total
            note = cut_note(call.tool.name, continuation.path, left, total, self._max, token, is_list=capped.is_list)
            structured = capped.structured
            if structured is None:
                text = f"{capped.text}\n\n[{note}]"
            else:
                structured[CUT_NOTE] = note
                if token is not None:
                    structured[CONTINUE_FROM] = token
                text = compact_json(structured)
        call.outcome = dataclasses.replace(outcome, text=text, structured=structured)
