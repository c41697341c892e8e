"""Observer: Prometheus counters and histograms of tool calls, upstream latency and rate limiting.

Labels are bounded on purpose: a tool label is one of the catalog's names (anything else is ``unknown``), a
method one of the MCP methods we serve (else ``other``), a status an HTTP status code. No token, id or
argument ever becomes a label. Each app has its own registry, so tests and several apps never share counts.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from confluence_mcp.errors import CallsThrottled
from confluence_mcp.pipeline.context import Call

_METHODS = frozenset({"initialize", "ping", "server/discover", "tools/list", "tools/call", "notifications/initialized"})
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class CallMetrics:
    """The app's metrics; also the observer that counts every finished tool call."""

    name = "metrics"

    def __init__(self, tool_names: Iterable[str]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._tools = frozenset(tool_names)
        self.requests = Counter(
            "confluence_mcp_requests", "MCP requests by JSON-RPC method.", ["method"], registry=self.registry
        )
        self.calls = Counter(
            "confluence_mcp_tool_calls",
            "Finished tool calls by tool and outcome (ok, error, refused, throttled).",
            ["tool", "outcome"],
            registry=self.registry,
        )
        self.upstream = Histogram(
            "confluence_mcp_upstream_seconds",
            "Time of one upstream exchange with Confluence, by HTTP status.",
            ["status"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.rate_limited = Counter(
            "confluence_mcp_rate_limited_calls",
            "Tool calls refused for rate: by Confluence (429) or by our fair share.",
            ["by"],
            registry=self.registry,
        )
        self.live_servers = Gauge(
            "confluence_mcp_live_mcp_servers", "MCP servers that are not expired.", registry=self.registry
        )
        self.expiring_accounts = Gauge(
            "confluence_mcp_accounts_token_expiring",
            "Accounts whose Atlassian API token expires within 14 days (or has expired).",
            registry=self.registry,
        )
        # Children are looked up once per label set: labels() takes a lock and builds a tuple on each call.
        self._request_children = {m: self.requests.labels(m) for m in (*_METHODS, "other")}
        self._call_children: dict[tuple[str, str], Counter] = {}
        self._upstream_children: dict[int, Histogram] = {}

    def request(self, method: object) -> None:
        """Count one MCP request by its method."""
        key = method if isinstance(method, str) and method in _METHODS else "other"
        self._request_children[key].inc()

    def observe(self, call: Call) -> None:
        """Count ``call`` by tool and outcome; time its upstream exchange; count rate limiting."""
        failure = call.failure
        outcome = call.outcome
        if isinstance(failure, CallsThrottled):
            kind = "throttled"
            self.rate_limited.labels("fair_share").inc()
        elif outcome is None:
            kind = "refused"
        else:
            kind = "error" if outcome.is_error else "ok"
        tool = call.name if call.name in self._tools else "unknown"
        child = self._call_children.get((tool, kind))
        if child is None:
            child = self._call_children[(tool, kind)] = self.calls.labels(tool, kind)
        child.inc()
        response = call.response
        if response is not None:
            status = response.status
            timer = self._upstream_children.get(status)
            if timer is None:
                timer = self._upstream_children[status] = self.upstream.labels(str(status))
            timer.observe(call.upstream_seconds)
            if status == 429:
                self.rate_limited.labels("confluence").inc()
