"""Step 10, download (the attachment download tool only): follow Confluence's redirect to its media host.

``send`` has fetched the attachment's metadata. This step asks Confluence for the file, which answers with a
redirect to a signed URL; that URL is followed only to a host ``upstream.media_hosts`` allows, with no
Authorization header (the signature is the credential, and the account's token must never leave its site).
"""

from __future__ import annotations

import json
from urllib.parse import quote, urljoin, urlsplit

from confluence_mcp.errors import UpstreamError, UpstreamRefused
from confluence_mcp.pipeline.attachment_download import (
    DOWNLOAD_TOOL,
    AttachmentInfo,
    attachment_info,
    content_outcome,
    too_large_outcome,
)
from confluence_mcp.pipeline.context import Call
from confluence_mcp.policy.hosts import HostPolicy
from confluence_mcp.settings import UpstreamSettings
from confluence_mcp.upstream.client import UpstreamClient
from confluence_mcp.upstream.request import UpstreamRequest
from confluence_mcp.upstream.results import error_outcome, outcome_from_response
from confluence_mcp.upstream.sender import UpstreamResponse
from confluence_mcp.upstream.target import Target

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_URL_SAFE = "/?&=%:+,;@!$'()*~-._"


class DownloadAttachment:
    """Sets the download tool's outcome: the file as content, its links when too large, or why not."""

    name = "download"

    def __init__(self, upstream: UpstreamClient, settings: UpstreamSettings) -> None:
        self._upstream = upstream
        self._media = HostPolicy(settings.media_hosts)
        self._cap = settings.max_attachment_bytes

    async def run(self, call: Call) -> None:
        """Download the attachment ``send`` read the metadata of; other tools pass straight through."""
        if call.tool is None or call.tool.name != DOWNLOAD_TOOL:
            return
        assert call.resolved is not None  # resolve, transform and send ran first
        assert call.request is not None
        assert call.response is not None
        metadata = call.response
        if not 200 <= metadata.status < 300:
            call.outcome = outcome_from_response(DOWNLOAD_TOOL, call.request, metadata)
            return
        try:
            data = json.loads(metadata.content)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            call.outcome = error_outcome(f"Confluence's answer to {call.request.path} is not an attachment object.")
            return
        info = attachment_info(data)
        if info.container_id is None:
            call.outcome = error_outcome(
                f"Attachment {info.id} belongs to no page or blog post, so it has no download."
            )
            return
        target = call.resolved.target
        request = info.download_request()
        download_url = target.base_url + request.path
        if info.size is not None and info.size > self._cap:
            call.outcome = too_large_outcome(info, info.size, self._cap, download_url)
            return
        answer = await self._upstream.send(target, request)
        if answer.status in _REDIRECTS and answer.headers.get("location"):
            location = urljoin(target.base_url + "/", answer.headers["location"])
            media_target, media_request = self._media_request(info, location)
            answer = await self._media_answer(info, media_target, media_request)
            if not 200 <= answer.status < 300:
                call.outcome = error_outcome(
                    f"The media host answered HTTP {answer.status} for {info.title or info.id}; the signed link "
                    "Confluence gave may have expired. Call the tool again."
                )
                return
        elif not 200 <= answer.status < 300:
            call.outcome = outcome_from_response(DOWNLOAD_TOOL, request, answer)
            return
        if len(answer.content) > self._cap:
            call.outcome = too_large_outcome(info, len(answer.content), self._cap, download_url)
            return
        media_type = answer.headers.get("content-type") or info.media_type
        call.outcome = content_outcome(info, media_type, answer.content, download_url)

    async def _media_answer(self, info: AttachmentInfo, target: Target, request: UpstreamRequest) -> UpstreamResponse:
        """Send the media request; a failure names the host, never the signed path (it is a credential)."""
        try:
            return await self._upstream.send(target, request)
        except UpstreamRefused:
            raise  # the transport's guard names the host only
        except UpstreamError as exc:
            copy = type(exc).__new__(type(exc))
            copy.__dict__.update(exc.__dict__)
            if "where" in copy.__dict__:  # UpstreamResponseTooLarge keeps the request line for its message
                copy.__dict__["where"] = f"GET {target.origin[1]}"
            copy.args = (
                f"The media host {target.origin[1]} failed for {info.title or info.id} ({type(exc).__name__}); "
                "reading is safe to retry.",
            )
            raise copy from None

    def _media_request(self, info: AttachmentInfo, location: str) -> tuple[Target, UpstreamRequest]:
        """Return the credential-free target and request for a redirect; refuse a host the settings do not allow."""
        parts = urlsplit(location)
        host = (parts.hostname or "").lower()
        exact = self._media.exactly_allows(host)
        if not host or not self._media.matches(host) or (parts.scheme != "https" and not exact):
            listed = ", ".join(self._media.allowed) or "none"
            raise UpstreamRefused(
                f"Refused to follow the download of {info.title or info.id} to {parts.scheme}://{host}: only https "
                f"hosts in upstream.media_hosts ({listed}) are followed. Nothing was sent there; the operator may "
                "add the host."
            )
        origin = f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"
        # The signature stays byte-exact: only characters that cannot be sent as they are get escaped.
        path = quote((parts.path or "/") + (f"?{parts.query}" if parts.query else ""), safe=_URL_SAFE)
        return Target.for_site(origin, ""), UpstreamRequest("GET", path, [], {}, None, False)
