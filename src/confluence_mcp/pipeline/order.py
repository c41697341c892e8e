"""The order of a tools/call, written once: read this file to know what every call goes through.

    1. resolve      the live MCP server behind the URL token            steps/resolve.py
    2. fair_share   the server and account are within their call caps   steps/fair_share.py
    3. discover     discovery mode: meta tools answered, call_tool unwrapped  steps/discover.py
    4. visible      the tool is in that server's filtered view          steps/visibility.py
    5. coerce       digits sent as numbers, counts sent as text, fixed  steps/coerce.py
    6. arguments    arguments match the tool's input schema             steps/arguments.py
    7. cursor       list tools: our cursor -> Confluence's, limit cap   steps/paging.py
    8. transform    arguments -> the upstream request                   steps/transform.py
    9. send         the request goes to Confluence (one shared pool)    steps/send.py
   10. download     attachment download only: follow the media redirect  steps/download.py
   11. shape        Confluence's answer -> the agent's result           steps/shape.py
    finishers       refine the outcome: next_cursor (list tools)        steps/paging.py
    observers       see every finished call: fair_share (gives the slot back),
                    metrics (observers/metrics.py), log (observers/log.py),
                    audit (observers/audit.py: queues a record; a writer task stores it)

A step that raises ToolCallFailed ends the call with a tool error; one that raises another of our errors
(UnknownTool, UnknownMcpServer) refuses it with a JSON-RPC error; a step that sets ``call.outcome`` ends the
steps. Finishers then run on that outcome (never after a raise); observers see every call.
"""

from __future__ import annotations

from confluence_mcp.pipeline.catalog import Catalog
from confluence_mcp.pipeline.observers.access import RecordCall
from confluence_mcp.pipeline.observers.audit import AuditCalls
from confluence_mcp.pipeline.observers.log import LogOutcome
from confluence_mcp.pipeline.observers.metrics import CallMetrics
from confluence_mcp.pipeline.resolver import TokenResolver
from confluence_mcp.pipeline.runner import Pipeline
from confluence_mcp.pipeline.steps.arguments import ValidateArguments
from confluence_mcp.pipeline.steps.coerce import CoerceArguments
from confluence_mcp.pipeline.steps.discover import AnswerDiscovery
from confluence_mcp.pipeline.steps.download import DownloadAttachment
from confluence_mcp.pipeline.steps.fair_share import FairShare
from confluence_mcp.pipeline.steps.paging import AddNextCursor, DecodeCursor
from confluence_mcp.pipeline.steps.resolve import ResolveServer
from confluence_mcp.pipeline.steps.send import SendUpstream
from confluence_mcp.pipeline.steps.shape import ShapeResult
from confluence_mcp.pipeline.steps.transform import BuildRequest
from confluence_mcp.pipeline.steps.visibility import CheckVisible
from confluence_mcp.settings import LimitSettings, UpstreamSettings
from confluence_mcp.store.audit_queue import AuditQueue
from confluence_mcp.upstream.client import UpstreamClient


def build_pipeline(
    catalog: Catalog,
    resolver: TokenResolver,
    upstream: UpstreamClient,
    limits: LimitSettings | None = None,
    metrics: CallMetrics | None = None,
    *,
    access_log: bool = False,
    audit: AuditQueue | None = None,
    upstream_settings: UpstreamSettings | None = None,
) -> Pipeline:
    """Return the pipeline every tools/call runs through, built once at start-up."""
    fair_share = FairShare(limits or LimitSettings())
    metrics = metrics or CallMetrics(t.name for t in catalog.tools)
    return Pipeline(
        steps=(
            ResolveServer(resolver),
            fair_share,
            AnswerDiscovery(catalog),
            CheckVisible(),
            CoerceArguments(catalog),
            ValidateArguments(catalog),
            DecodeCursor(catalog),
            BuildRequest(catalog),
            SendUpstream(upstream),
            DownloadAttachment(upstream, upstream_settings or UpstreamSettings()),
            ShapeResult(catalog),
        ),
        finishers=(AddNextCursor(),),
        # The access observer only where the JSON access log is on: it fills that log's per-request record.
        observers=(
            fair_share,
            metrics,
            LogOutcome(),
            *((AuditCalls(audit),) if audit is not None else ()),  # none when audit.retention_days is 0
            *((RecordCall(),) if access_log else ()),
        ),
    )
