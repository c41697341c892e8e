"""``create_simulator()``: a Confluence Cloud imitation as a Starlette app, with auth, faults and a request log.

Every Confluence request passes one gateway: log it, answer it if it is the platform's (OAuth, tenant_info; see
``platform``), map ``/ex/confluence/{cloudId}`` onto the site, authenticate it (Basic ``email:token`` or Bearer
``token`` on the site; Bearer access token or Basic ``email:scoped token`` on the gateway),
apply the ``FaultPlan``, dispatch it through the route table, and stamp rate-limit headers and ``atl-request-id``
on the answer. ``/__sim/*`` control endpoints bypass all of that: no auth, no log, no rate-limit headers.
``/__media/*`` is the media host downloads redirect to (``simulator/media.py``): signed URLs, its own log.

Control API (JSON):
    GET    /__sim/faults      -> {"faults": [fault, ...]}
    POST   /__sim/faults      <- a fault object, a list of them, or {"faults": [...], "replace": bool}
    DELETE /__sim/faults      -> 204, all faults cleared
    GET    /__sim/requests    -> {"requests": [record, ...]}
    DELETE /__sim/requests    -> 204, log cleared
    POST   /__sim/reset       -> 204, data reseeded, faults and log cleared, rate-limit window restarted
"""

from __future__ import annotations

import base64
import hmac
import json
import uuid
from typing import Any, Final
from urllib.parse import parse_qsl

import anyio
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from confluence_mcp.simulator import (
    routes_attachments,
    routes_comments,
    routes_labels,
    routes_pages,
    routes_people,
    routes_search,
    routes_tree,
)
from confluence_mcp.simulator.exchange import (
    V1_PREFIX,
    Call,
    JsonObject,
    Problem,
    Reply,
    RouteTable,
    encode_json,
    reason_phrase,
)
from confluence_mcp.simulator.faults import (
    SIMULATED_429_BODY,
    Fault,
    FaultPlan,
    RateWindow,
    RecordedRequest,
    SimulatedDrop,
)
from confluence_mcp.simulator.media import MEDIA_PREFIX, MediaHost
from confluence_mcp.simulator.platform import GATEWAY_PREFIX, Platform, encoded
from confluence_mcp.simulator.seed import populate
from confluence_mcp.simulator.state import State

__all__ = ["NO_ROUTE_HEADER", "Simulator", "create_simulator"]

NO_ROUTE_HEADER: Final = "x-simulator-no-route"
"""Set (to ``true``) only on the simulator's own 404 for a path no Confluence operation has."""

_JSON: Final = b"application/json;charset=UTF-8"
_CONTROL_PREFIX: Final = "/__sim/"
_DEFAULT_BURST_LIMIT: Final = 100_000


def _route_table() -> RouteTable:
    # Hot routes first: GET /pages/{id} is what the benchmark hammers.
    return RouteTable(
        routes_pages.ROUTES
        + routes_tree.ROUTES
        + routes_comments.ROUTES
        + routes_labels.ROUTES
        + routes_attachments.ROUTES
        + routes_people.ROUTES
        + routes_search.ROUTES
    )


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


class Simulator:
    """A simulated Confluence Cloud site: ``app`` to serve, ``state`` to inspect, ``faults`` to break it."""

    def __init__(
        self,
        *,
        email: str,
        api_token: str,
        seed: bool,
        burst_limit: int = _DEFAULT_BURST_LIMIT,
        log_limit: int = 10_000,
        scoped_token: str = "sim-scoped-token",  # noqa: S107  # a fixture credential of a fake site
    ) -> None:
        self.email = email
        self.api_token = api_token
        self.seeded = seed
        self.state = State(email=email)
        """All simulated data; mutate it freely in tests."""
        self.faults = FaultPlan()
        """Failures to inject; also settable over HTTP at ``/__sim/faults``."""
        self.requests: list[RecordedRequest] = []
        """Every Confluence request received, oldest first (control endpoints excluded)."""
        self.log_limit = log_limit
        """Keep at least the newest ``log_limit`` records; older ones are trimmed in batches."""
        self.rate_window = RateWindow(burst_limit)
        self._routes = _route_table()
        # Request ids look like Atlassian's UUIDs: a random prefix per simulator plus a counter (cheaper than uuid4).
        self._request_id_prefix = str(uuid.uuid4())[:24]
        self._request_count = 0
        basic = base64.b64encode(f"{email}:{api_token}".encode()).decode()
        self._accepted = (f"Basic {basic}".encode(), f"Bearer {api_token}".encode())
        self._seen_valid: set[str] = set()  # exact header values already accepted: skips re-checking per request
        self.platform = Platform(email=email, scoped_token=scoped_token)
        """The Atlassian platform around the site: OAuth server, tenant_info, the /ex/confluence gateway."""
        populate(self.state, seed=seed)
        self.media = MediaHost(self.state)
        """The media host downloads redirect to; serve ``media.app`` apart and set ``state.media_url`` to move it."""
        self.app = Starlette(routes=self._control_routes(), middleware=[Middleware(_Gateway, simulator=self)])
        """The Starlette ASGI app to mount or serve."""

    @property
    def auth(self) -> tuple[str, str]:
        """Return ``(email, api_token)`` for ``httpx`` basic auth."""
        return self.email, self.api_token

    def reset(self) -> None:
        """Restore the initial data, clear faults and the request log, and restart the rate-limit window."""
        self.state.clear()
        populate(self.state, seed=self.seeded)
        self.faults.clear()
        self.requests.clear()
        self.media.requests.clear()
        self.rate_window.reset()
        self.platform.reset()

    def _authorized(self, header: str | None) -> bool:
        if header is None:
            return False
        if header in self._seen_valid:
            return True
        scheme, _, credentials = header.encode("latin-1").partition(b" ")
        normalised = scheme.capitalize() + b" " + credentials.strip()
        valid = any(hmac.compare_digest(normalised, accepted) for accepted in self._accepted)
        if valid:
            self._seen_valid.add(header)
        return valid

    def _record(self, request: RecordedRequest) -> None:
        self.requests.append(request)
        if len(self.requests) > 2 * self.log_limit:
            del self.requests[: len(self.requests) - self.log_limit]

    def _received(self, scope: Scope, body: bytes) -> Call:
        """Parse and log one request; the ``Call`` is what handlers see."""
        headers: dict[str, str] = {}
        for raw_name, raw_value in scope["headers"]:
            name = raw_name.decode("latin-1").lower()
            value = raw_value.decode("latin-1")
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        query_string = scope.get("query_string", b"").decode("latin-1")
        query = parse_qsl(query_string, keep_blank_values=True) if query_string else []
        parsed: Any = None
        invalid = False
        if body:
            try:
                parsed = json.loads(body)
            except ValueError:
                invalid = True
        method: str = scope["method"]
        path: str = scope["path"]
        self._record(RecordedRequest(method, path, query, headers, parsed, body))
        base = f"{scope['scheme']}://{headers.get('host', 'example.atlassian.net')}/wiki"
        return Call(method, path, {}, query, headers, body, parsed, invalid, base)

    async def serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer one Confluence request (the gateway's job; control paths never get here)."""
        call = self._received(scope, await _read_body(receive))
        self._request_count += 1
        request_id = (b"atl-request-id", f"{self._request_id_prefix}{self._request_count:012x}".encode())
        if self.platform.claims(call.path):
            answer = await self.platform.answer(call, call.base.removesuffix("/wiki"))
            await self._send(send, *encoded(answer), request_id)
            return
        header = call.headers.get("authorization")
        if call.path.startswith(GATEWAY_PREFIX):
            # The API gateway: the same routes under /ex/confluence/{cloudId}, for scoped and OAuth tokens only.
            cloud_id, call.path = self.platform.gateway_path(call.path)
            if cloud_id != self.platform.cloud_id:
                body = encode_json({"code": 404, "message": f"No site with cloudId {cloud_id!r}"})
                await self._send(send, 404, body, [], request_id)
                return
            call.base = call.base.removesuffix("/wiki") + f"{GATEWAY_PREFIX}{cloud_id}/wiki"
            authorized = self.platform.live_access(header) or self.platform.scoped(header)
        else:
            authorized = self._authorized(header)
        v1 = call.path.startswith(V1_PREFIX)
        if not authorized:
            body = encode_json(Problem(401, "Client must be authenticated to access this resource.").body(v1=v1))
            challenge = (b"www-authenticate", b'Basic realm="Confluence"')
            await self._send(send, 401, body, [*self.rate_window.headers(), challenge], request_id)
            return
        fault: Fault | None = None
        action = self.faults.consume(call.method, call.path)
        if action is not None:
            if action.latency_ms:
                await anyio.sleep(action.latency_ms / 1000)
            fault = action.fault
        if fault is not None and (fault.drop or fault.rate_limit is not None or fault.status is not None):
            await self._answer_fault(send, fault, call, v1, request_id)
            return
        status, payload, extra = self._dispatch(call, v1)
        if fault is not None and fault.malformed_json:
            # Truncate the real answer, as a connection cut mid-body would; any write has already happened.
            status, payload = 200, payload[: len(payload) // 2] if len(payload) > 2 else b'{"results":[{"id":'
            extra = [(name, value) for name, value in extra if name != b"content-type"] + [(b"content-type", _JSON)]
        await self._send(send, status, payload, self.rate_window.headers() + extra, request_id)

    async def _answer_fault(
        self, send: Send, fault: Fault, call: Call, v1: bool, request_id: tuple[bytes, bytes]
    ) -> None:
        if fault.drop:
            # Start a response and die mid-body: uvicorn closes the socket, httpx raises RemoteProtocolError.
            headers = [(b"content-type", _JSON), (b"content-length", b"1024")]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            raise SimulatedDrop(f"connection dropped by the simulator's fault plan: {call.method} {call.path}")
        if fault.rate_limit is not None:
            rate_headers = self.rate_window.too_many(fault.rate_limit, fault.retry_after)
            await self._send(send, 429, SIMULATED_429_BODY, rate_headers, request_id)
            return
        status = fault.status or 500
        message = fault.message or f"{reason_phrase(status)} (simulated)"
        extra = [] if fault.retry_after is None else [(b"retry-after", str(fault.retry_after).encode())]
        body = encode_json(Problem(status, message).body(v1=v1))
        await self._send(send, status, body, self.rate_window.headers() + extra, request_id)

    def _dispatch(self, call: Call, v1: bool) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
        resolved = self._routes.resolve(call.method, call.path)
        if resolved is True:
            problem = Problem(405, f"Method {call.method} is not allowed for {call.path}")
            return 405, encode_json(problem.body(v1=v1)), [(b"content-type", _JSON)]
        if resolved is False:
            body = {
                "statusCode": 404,
                "message": f"The Confluence simulator has no route for {call.method} {call.path}",
                "reason": "Not Found",
                "simulator": "no-route",
            }
            return 404, encode_json(body), [(b"content-type", _JSON), (NO_ROUTE_HEADER.encode(), b"true")]
        handler, params = resolved
        call.params = params
        try:
            reply: Reply = handler(call, self.state)
        except Problem as problem:
            return problem.status, encode_json(problem.body(v1=v1)), [(b"content-type", _JSON)]
        extra = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in reply.headers]
        if reply.raw is not None:
            return reply.status, reply.raw, [(b"content-type", _JSON), *extra]
        if reply.body is None:
            return reply.status, b"", extra
        return reply.status, encode_json(reply.body), [(b"content-type", _JSON), *extra]

    @staticmethod
    async def _send(
        send: Send, status: int, payload: bytes, headers: list[tuple[bytes, bytes]], request_id: tuple[bytes, bytes]
    ) -> None:
        if payload and not any(name == b"content-type" for name, _ in headers):
            headers = [(b"content-type", _JSON), *headers]
        headers = [*headers, request_id, (b"content-length", str(len(payload)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    def _control_routes(self) -> list[Route]:
        return [
            Route("/__sim/faults", self._get_faults, methods=["GET"]),
            Route("/__sim/faults", self._post_faults, methods=["POST"]),
            Route("/__sim/faults", self._delete_faults, methods=["DELETE"]),
            Route("/__sim/requests", self._get_requests, methods=["GET"]),
            Route("/__sim/requests", self._delete_requests, methods=["DELETE"]),
            Route("/__sim/reset", self._post_reset, methods=["POST"]),
        ]

    def _faults_json(self) -> JsonObject:
        return {"faults": [fault.to_json() for fault in self.faults.faults]}

    async def _get_faults(self, request: Request) -> Response:
        return JSONResponse(self._faults_json())

    async def _post_faults(self, request: Request) -> Response:
        try:
            data = json.loads(await request.body())
        except ValueError:
            return JSONResponse({"error": "the body must be JSON"}, status_code=400)
        replace = False
        if isinstance(data, dict) and "faults" in data:
            replace = data.get("replace") is True
            items = data["faults"]
        else:
            items = data if isinstance(data, list) else [data]
        if not isinstance(items, list):
            return JSONResponse({"error": "'faults' must be a list of fault objects"}, status_code=400)
        try:
            parsed = [Fault.from_json(item) for item in items]
        except (ValueError, TypeError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        if replace:
            self.faults.clear()
        for fault in parsed:
            self.faults.add(fault)
        return JSONResponse(self._faults_json())

    async def _delete_faults(self, request: Request) -> Response:
        self.faults.clear()
        return Response(status_code=204)

    async def _get_requests(self, request: Request) -> Response:
        return JSONResponse({"requests": [record.to_json() for record in self.requests]})

    async def _delete_requests(self, request: Request) -> Response:
        self.requests.clear()
        return Response(status_code=204)

    async def _post_reset(self, request: Request) -> Response:
        self.reset()
        return Response(status_code=204)


class _Gateway:
    """Pure ASGI middleware: Confluence paths go to ``Simulator.serve``, ``/__sim/*`` to the control routes."""

    def __init__(self, app: ASGIApp, simulator: Simulator) -> None:
        self.app = app
        self.simulator = simulator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(_CONTROL_PREFIX):
            await self.app(scope, receive, send)
            return
        if scope["path"].startswith(MEDIA_PREFIX):  # signed URLs: no Confluence auth, no faults, own log
            await self.simulator.media.app(scope, receive, send)
            return
        await self.simulator.serve(scope, receive, send)


def create_simulator(
    *,
    email: str = "agent@example.com",
    api_token: str = "sim-token",  # noqa: S107  # a fixture credential of a fake site
    seed: bool = True,
    burst_limit: int = _DEFAULT_BURST_LIMIT,
    log_limit: int = 10_000,
    scoped_token: str = "sim-scoped-token",  # noqa: S107  # a fixture credential of a fake site
) -> Simulator:
    """Build a fresh simulated site accepting ``email``/``api_token``; ``seed`` fills it with ``SEED`` data."""
    return Simulator(
        email=email,
        api_token=api_token,
        seed=seed,
        burst_limit=burst_limit,
        log_limit=log_limit,
        scoped_token=scoped_token,
    )
