"""Observer: one debug line per call, a warning per upstream failure; never a token or an argument value."""

from __future__ import annotations

import logging
import time

from confluence_mcp.pipeline.context import Call

log = logging.getLogger("confluence_mcp.calls")


class LogOutcome:
    """Logs each finished call by tool name, result and duration."""

    name = "log"

    def observe(self, call: Call) -> None:
        """Log ``call``; the check keeps the common case (INFO level) to one comparison."""
        if not log.isEnabledFor(logging.DEBUG):
            return
        outcome = call.outcome
        status = call.response.status if call.response is not None else None
        result = "refused" if outcome is None else "error" if outcome.is_error else "ok"
        reason = type(call.failure).__name__ if call.failure is not None else ""
        elapsed = (time.perf_counter() - call.started) * 1000
        log.debug("tool %s %s upstream=%s %s %.2fms", call.name, result, status, reason, elapsed)
