"""The audit of admin changes, the same through the admin API and the CLI: ``@audited`` on service methods.

Each ``AdminService`` method that changes something carries ``@audited(action, target=...)``. A call gives one
record to the service's ``Auditor`` whether it succeeds or fails: who (an admin token id, or ``cli``), the
action, the record changed, the body fields given (``auth.password``) and other arguments that differ from
their defaults, never a value, and how it ended (``refused`` for a broken rule or a missing record, ``error``
for anything else). The admin API queues the record for the writer; the CLI writes its records when the
command ends. A request refused before it reaches the service (no valid admin token, malformed JSON, a body
that does not match its schema) is not recorded.
"""

from __future__ import annotations

import functools
import inspect
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

from pydantic import BaseModel

from confluence_mcp.admin.rules import invalid
from confluence_mcp.errors import InvalidInput, NotFound
from confluence_mcp.store.base import AuditOutcome, AuditRecord
from confluence_mcp.store.tokens import new_id

__all__ = ["CLI_ACTOR", "Auditor", "audited", "status_filter"]

CLI_ACTOR = "cli"
"""The actor of changes made with the command line."""

_P = ParamSpec("_P")
_R = TypeVar("_R")


def _new_audit_id() -> str:
    return new_id("aud")


@dataclass(frozen=True, slots=True)
class Auditor:
    """Who makes the changes a service runs, and where their audit records go."""

    actor: str
    sink: Callable[[AuditRecord], None]
    new_id: Callable[[], str] = field(default=_new_audit_id)

    def record(
        self, action: str, target: str | None, keys: tuple[str, ...], started: float, failure: Exception | None
    ) -> None:
        """Give the sink the record of one change (``failure`` is what it raised, if anything)."""
        outcome: AuditOutcome = "ok"
        if failure is not None:
            outcome = "refused" if isinstance(failure, InvalidInput | NotFound) else "error"
        reason = None if failure is None else type(failure).__name__
        duration = round((time.perf_counter() - started) * 1000, 3)
        self.sink(
            AuditRecord(
                self.new_id(), datetime.now(UTC), self.actor, action, target, keys, outcome, reason, None, duration
            )
        )


class _Audited(Protocol):
    @property
    def auditor(self) -> Auditor | None: ...


_S = TypeVar("_S", bound=_Audited)
_Method = Callable[Concatenate[_S, _P], Awaitable[_R]]


def audited(action: str, *, target: str | Callable[[Any], str]) -> Callable[[_Method[_S, _P, _R]], _Method[_S, _P, _R]]:
    """Record every call of the decorated method; ``target`` names the id parameter, or reads the id off the result."""

    def decorate(method: _Method[_S, _P, _R]) -> _Method[_S, _P, _R]:
        signature = inspect.signature(method)

        @functools.wraps(method)
        async def run(self: _S, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
            auditor = self.auditor
            if auditor is None:
                return await method(self, *args, **kwargs)
            arguments = signature.bind(self, *args, **kwargs).arguments
            keys = _given_keys(signature, arguments)
            given = arguments.get(target) if isinstance(target, str) else None
            started = time.perf_counter()
            try:
                result = await method(self, *args, **kwargs)
            except Exception as exc:  # recorded, then raised on unchanged
                auditor.record(action, given if isinstance(given, str) else None, keys, started, exc)
                raise
            changed = target(result) if callable(target) else given if isinstance(given, str) else None
            auditor.record(action, changed, keys, started, None)
            return result

        return run

    return decorate


def _given_keys(signature: inspect.Signature, arguments: Mapping[str, Any]) -> tuple[str, ...]:
    """Return the body fields given and the other arguments that differ from their defaults; ids are the target."""
    keys: list[str] = []
    for name, value in arguments.items():
        if name == "self" or name.endswith("_id"):
            continue
        if isinstance(value, BaseModel):
            keys.extend(_model_keys(value, ""))
        elif value is not None and value != signature.parameters[name].default and value != [] and value != ():
            keys.append(name)
    return tuple(keys)


def _model_keys(model: BaseModel, prefix: str) -> list[str]:
    """Return the dotted paths of the fields given in ``model``, nested models by their own fields."""
    keys: list[str] = []
    for name in type(model).model_fields:
        if name not in model.model_fields_set:
            continue
        value = getattr(model, name)
        nested = _model_keys(value, f"{prefix}{name}.") if isinstance(value, BaseModel) else []
        keys.extend(nested or [f"{prefix}{name}"])
    return keys


def status_filter(status: str) -> tuple[AuditOutcome | None, int | None]:
    """Return the (outcome, upstream status) a ``status`` query value selects; InvalidInput naming ``status``."""
    if status == "ok":
        return "ok", None
    if status == "error":
        return "error", None
    if status == "refused":
        return "refused", None
    if len(status) == 3 and status.isdigit():
        return None, int(status)
    raise invalid("status", f"{status[:64]!r}: give ok, error, refused or Confluence's HTTP status such as 404")
