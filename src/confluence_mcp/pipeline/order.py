"""The order of a tools/call, written once: read this file to know what every call goes through.

    1. resolve      the live MCP server behind the URL token            steps/resolve.py
    2. fair_share   the server and account are within their call caps   steps/fair_share.py
    3. discover     discovery mode: meta tools answered, call_tool unwrapped  steps/discover.py
    4. visible      the tool is in that server's filtered view          steps/visibility.py
       continue_from  a cut result's continue_from taken out of the arguments  steps/text_cap.py
    5. coerce       digits sent as numbers, counts sent as text, fixed  steps/coerce.py
    6. arguments    arguments match the tool's input schema             steps/arguments.py
    7. cursor       list tools: our cursor -> Confluence's, limit cap   steps/paging.py
       markdown     body-format=markdown asks for storage; Markdown bodies checked  steps/markdown.py
       version      page/blog-post updates: current version read, expected_version checked  steps/version.py
       markdown_body  an update's Markdown -> storage, against the current page  steps/markdown.py
    8. transform    arguments -> the upstream request                   steps/transform.py
    9. send         the request goes to Confluence (one shared pool)    steps/send.py
   10. download     attachment download only: follow the media redirect  steps/download.py
   11. shape        Confluence's answer -> the agent's result           steps/shape.py
    finishers       refine the outcome: next_cursor (list tools)        steps/paging.py
                    conflict (a 409 on expected_version)  steps/version.py;
                    markdown_result (storage bodies -> Markdown)  steps/markdown.py; lean  steps/lean.py;
                    text_cap (long results cut, continue_from)  steps/text_cap.py
    observers       see every finished call: fair_share (gives the slot back),
                    metrics (observers/metrics.py), log (observers/log.py),
                    audit (observers/audit.py: queues a record; a writer task stores it)

A step that raises ToolCallFailed ends the call with a tool error; one that raises another of our errors
(UnknownTool, UnknownMcpServer) refuses it with a JSON-RPC error; a step that sets ``call.outcome`` ends the
steps. Finishers then run on that outcome (never after a raise); observers see every call.
"""

from __future__ import annotations

from confluence_mcp.pipeline.catalog import Catalog
from confluence_mcp.pipeline.current import CurrentReader
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
from confluence_mcp.pipeline.steps.lean import LeanResults
from confluence_mcp.pipeline.steps.markdown import AskForStorage, BodiesAsMarkdown, ConvertAgainstCurrent
from confluence_mcp.pipeline.steps.paging import AddNextCursor, DecodeCursor
from confluence_mcp.pipeline.steps.resolve import ResolveServer
from confluence_mcp.pipeline.steps.send import SendUpstream
from confluence_mcp.pipeline.steps.shape import ShapeResult
from confluence_mcp.pipeline.steps.text_cap import CapText, TakeContinuation
from confluence_mcp.pipeline.steps.transform import BuildRequest
from confluence_mcp.pipeline.steps.version import ExplainConflict, FillVersion
from confluence_mcp.pipeline.steps.visibility import CheckVisible
from confluence_mcp.settings import LimitSettings, ResultSettings, UpstreamSettings
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
    results: ResultSettings | None = None,
    upstream_settings: UpstreamSettings | None = None,
) -> Pipeline:
    """Return the pipeline every tools/call runs through, built once at start-up."""
    fair_share = FairShare(limits or LimitSettings())
    metrics = metrics or CallMetrics(t.name for t in catalog.tools)
    current = CurrentReader(catalog, upstream)  # one read of the object a write changes, shared by two steps
    return Pipeline(
        steps=(
            ResolveServer(resolver),
            fair_share,
            AnswerDiscovery(catalog),
            CheckVisible(),
            TakeContinuation(),
            CoerceArguments(catalog),
            ValidateArguments(catalog),
            DecodeCursor(catalog),
            AskForStorage(catalog),
            FillVersion(catalog, current),
            ConvertAgainstCurrent(catalog, current),
            BuildRequest(catalog),
            SendUpstream(upstream),
            DownloadAttachment(upstream, upstream_settings or UpstreamSettings()),
            ShapeResult(catalog),
        ),
        # In this order: next_cursor reads _links before lean drops them; the cap measures the lean text.
        finishers=(
            AddNextCursor(),
            ExplainConflict(catalog),
            BodiesAsMarkdown(),
            LeanResults(catalog),
            CapText((results or ResultSettings()).max_text_chars),
        ),
        # The access observer only where the JSON access log is on: it fills that log's per-request record.
        observers=(
            fair_share,
            metrics,
            LogOutcome(),
            *((AuditCalls(audit),) if audit is not None else ()),  # none when audit.retention_days is 0
            *((RecordCall(),) if access_log else ()),
        ),
    )
