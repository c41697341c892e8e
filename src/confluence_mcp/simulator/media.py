"""The simulated media host: where attachment downloads redirect, answering signed URLs without Confluence auth.

Confluence Cloud answers v1 ``…/child/attachment/{id}/download`` with a 302 to
``https://api.media.atlassian.com/file/{fileId}/binary?token=<JWT>&client=…&name=…`` [obs]; the token in the
query is the only credential. Here the token is an HMAC of the file id. The host is its own Starlette app: serve
``Simulator.media.app`` on another port (and set ``State.media_url``), or let the site answer ``/__media/`` itself.
Every request is logged with its headers, so tests can check that no Authorization header arrived.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Final
from urllib.parse import quote, urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from confluence_mcp.simulator.faults import RecordedRequest
from confluence_mcp.simulator.state import Attachment, State

__all__ = ["MEDIA_PREFIX", "MediaHost", "media_location"]

MEDIA_PREFIX: Final = "/__media/"
_PLACEHOLDER: Final = b"simulated attachment bytes\n"


def _token(state: State, file_id: str) -> str:
    return hmac.new(state.media_secret, file_id.encode(), hashlib.sha256).hexdigest()


def media_location(state: State, attachment: Attachment, origin: str) -> str:
    """Return the signed media URL a download redirects to: ``State.media_url``, else ``origin`` + /__media/."""
    base = (state.media_url or origin).rstrip("/")
    query = urlencode({"token": _token(state, attachment.file_id), "client": "simulator", "name": attachment.title})
    return f"{base}{MEDIA_PREFIX}file/{quote(attachment.file_id, safe='')}/binary?{query}"


def file_bytes(attachment: Attachment) -> bytes:
    """Return an attachment's file: its ``data``, else ``file_size`` bytes of a repeated placeholder line."""
    if attachment.data is not None:
        return attachment.data
    repeats = attachment.file_size // len(_PLACEHOLDER) + 1
    return (_PLACEHOLDER * repeats)[: attachment.file_size]


class MediaHost:
    """Serves attachment files at signed URLs; ``requests`` logs what arrived, headers included."""

    def __init__(self, state: State) -> None:
        self.state = state
        self.requests: list[RecordedRequest] = []
        self.app = Starlette(routes=[Route(MEDIA_PREFIX + "file/{file_id}/binary", self._file, methods=["GET"])])
        """The ASGI app; the site's gateway also sends it every ``/__media/`` path."""

    async def _file(self, request: Request) -> Response:
        headers = {name.lower(): value for name, value in request.headers.items()}
        query = list(request.query_params.multi_items())
        self.requests.append(RecordedRequest("GET", request.url.path, query, headers, None, b""))
        file_id = request.path_params["file_id"]
        token = request.query_params.get("token", "")
        if not hmac.compare_digest(token, _token(self.state, file_id)):
            return JSONResponse({"error": "token is missing, invalid or expired"}, status_code=401)
        found = next((a for a in self.state.attachments.values() if a.file_id == file_id), None)
        if found is None:
            return JSONResponse({"error": f"no file {file_id}"}, status_code=404)
        return Response(file_bytes(found), media_type=found.media_type)
