"""Observer: a debug line per call, a warning per call Confluence failed; never a token or an argument value."""

from __future__ import annotations

import logging
import time

from confluence_mcp.errors import UpstreamError
from confluence_mcp.pipeline.context import Call

log = logging.getLogger("confluence_mcp.calls")


class LogOutcome:
    """Logs each finished call by tool name, result and duration."""

    name = "log"

    def observe(self, call: Call) -> None:
        """Log ``call``; a successful call at INFO level costs one comparison."""
        failure = call.failure
        if isinstance(failure, UpstreamError):
            # Operators need to see Confluence failing without turning on debug logs; the class says how.
            log.warning("tool %r: Confluence call failed (%s)", call.name, type(failure).__name__)
        if not log.isEnabledFor(logging.DEBUG):
            return
        outcome = call.outcome
        status = call.response.status if call.response is not None else None
        result = "refused" if outcome is None else "error" if outcome.is_error else "ok"
        reason = f" {type(failure).__name__}" if failure is not None else ""
        elapsed = (time.perf_counter() - call.started) * 1000
        # %r: the tool name is the agent's text, and must not forge log lines.
        log.debug("tool %r %s upstream=%s%s %.2fms", call.name, result, status, reason, elapsed)
