"""``Pipeline``: runs a call through its steps in order, then lets every observer see it. Never leaks a traceback."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from confluence_mcp.errors import ConfluenceMcpError, ToolCallFailed
from confluence_mcp.pipeline.context import Call, Observer, Step
from confluence_mcp.upstream.results import ToolOutcome, error_outcome

log = logging.getLogger("confluence_mcp.pipeline")


class Pipeline:
    """Ordered steps, finishers and observers, fixed at start-up (no per-call allocation of the order).

    Steps run until one sets ``call.outcome``; finishers then refine that outcome (they run only when no step
    raised); observers see every call, however it ended.
    """

    __slots__ = ("finishers", "observers", "steps")

    def __init__(self, steps: Sequence[Step], observers: Sequence[Observer], finishers: Sequence[Step] = ()) -> None:
        self.steps = tuple(steps)
        self.finishers = tuple(finishers)
        self.observers = tuple(observers)

    @property
    def names(self) -> tuple[str, ...]:
        """The step names in order, then the finishers' and the observers' (for docs, tests and the health page)."""
        return tuple(s.name for s in (*self.steps, *self.finishers)) + tuple(o.name for o in self.observers)

    async def run(self, call: Call) -> ToolOutcome:
        """Run ``call``; a ToolCallFailed becomes an error outcome, other ConfluenceMcpErrors propagate."""
        call.started = time.perf_counter()
        try:
            for step in self.steps:
                await step.run(call)
                if call.outcome is not None:
                    break
            for finisher in self.finishers:
                await finisher.run(call)
        except ToolCallFailed as exc:  # the call ran and failed: the agent gets a tool error it can act on
            call.failure = exc
            call.outcome = error_outcome(str(exc))
        except ConfluenceMcpError as exc:  # refused before running (unknown tool, gone server): the caller answers
            call.failure = exc
            self._observe(call)
            raise
        except Exception as exc:  # the top-level handler for a call: log it, never leak it
            log.exception("tool %s failed unexpectedly", call.name)
            call.failure = exc
            call.outcome = error_outcome(f"Internal error while running {call.name}; the failure was logged.")
        self._observe(call)
        outcome = call.outcome
        if outcome is None:  # only when the order lacks its last step; a configuration bug, not a user error
            raise RuntimeError(f"the pipeline ({', '.join(self.names)}) ended {call.name} without an outcome")
        return outcome

    def _observe(self, call: Call) -> None:
        for observer in self.observers:
            try:
                observer.observe(call)
            except Exception:  # an observer must never turn a good answer into a failure
                log.exception("observer %s failed", observer.name)
