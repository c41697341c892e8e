"""A resolver the test controls, for the SSRF guard: fixed answers per name and a log of every lookup."""

from __future__ import annotations

import socket
from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = ["FakeDns"]


@dataclass
class FakeDns:
    """Answers ``(host, port)`` lookups from ``answers``; an unknown name fails as getaddrinfo's NXDOMAIN does."""

    answers: dict[str, Sequence[str]]
    lookups: list[str] = field(default_factory=list)

    async def __call__(self, host: str, port: int) -> Sequence[str]:
        """Return the addresses of ``host``, logging the lookup."""
        self.lookups.append(host)
        if host not in self.answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return self.answers[host]
