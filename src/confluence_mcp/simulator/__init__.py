"""A Confluence Cloud simulator for tests and the benchmark: v1/v2 routes, basic auth, faults, a request log.

``create_simulator()`` builds a fresh site (seeded with ``SEED``) whose ``.app`` is a Starlette ASGI app; drive it
in-process with ``httpx.ASGITransport`` or serve it with uvicorn. Nothing here is imported by ``server/``.
"""

from confluence_mcp.simulator.app import NO_ROUTE_HEADER, Simulator, create_simulator
from confluence_mcp.simulator.faults import (
    Fault,
    FaultPlan,
    RateLimitDialect,
    RecordedRequest,
    SimulatedDrop,
)
from confluence_mcp.simulator.seed import SEED, SeedIds
from confluence_mcp.simulator.state import State

# Plain sorted() order, which tests/test_exports.py checks, rather than ruff's isort-style order.
__all__ = [  # noqa: RUF022
    "Fault",
    "FaultPlan",
    "NO_ROUTE_HEADER",
    "RateLimitDialect",
    "RecordedRequest",
    "SEED",
    "SeedIds",
    "SimulatedDrop",
    "Simulator",
    "State",
    "create_simulator",
]
