"""Step 6, send: the request goes to Confluence through the one shared upstream client."""

from __future__ import annotations

import time

from confluence_mcp.errors import UpstreamError, UpstreamRefused, UpstreamResponseTooLarge
from confluence_mcp.pipeline.context import Call
from confluence_mcp.upstream.client import UpstreamClient

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class SendUpstream:
    """Sets ``call.response``; a failure says whether retrying is safe (a write may have been applied)."""

    name = "send"

    def __init__(self, upstream: UpstreamClient) -> None:
        self._upstream = upstream

    async def run(self, call: Call) -> None:
        """Send ``call.request`` to the resolved account's site."""
        assert call.resolved is not None  # resolve and transform run first
        assert call.request is not None
        if call.resolved.unusable is not None:  # an account that cannot call now: say why, send nothing
            failure = call.resolved.unusable
            raise type(failure)(*failure.args)
        started = time.perf_counter()
        try:
            call.response = await self._upstream.send(call.resolved.target, call.request)
            call.upstream_seconds = time.perf_counter() - started
        except UpstreamRefused:
            raise  # nothing was sent, so no advice about retrying applies
        except UpstreamError as exc:
            if isinstance(exc, UpstreamResponseTooLarge):  # Confluence did answer, and would answer the same again
                if call.request.method in _SAFE_METHODS:
                    advice = "Ask for less: a smaller limit, fewer expansions or a narrower query."
                else:
                    advice = "Confluence answered, so the change was probably applied: read the object to check."
            elif call.request.method in _SAFE_METHODS:
                advice = "Reading is safe to retry."
            else:  # a write that timed out or lost its connection may still have been applied upstream
                advice = "The change may or may not have been applied: read the object before retrying."
            raise _with_advice(exc, advice) from exc


def _with_advice(exc: UpstreamError, advice: str) -> UpstreamError:
    """Return an error of the same class (observers count by class) whose message ends with ``advice``."""
    copy = type(exc).__new__(type(exc))
    copy.args = (f"{str(exc).rstrip('.')}. {advice}",)
    copy.__dict__.update(exc.__dict__)
    return copy
