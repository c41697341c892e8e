"""``confluence-mcp serve --demo``: the server and a simulated Confluence site in one process, with a ready URL.

The site is the project's Confluence simulator (the same one the tests use) on a free loopback port, seeded
with a small sample space; the store is in memory, so nothing outlives the process. Only the CLI may start
the simulator (tests/test_layout.py): production servers never contain it.
"""

from __future__ import annotations

import asyncio
import secrets
import socket
from typing import Any

from confluence_mcp.settings import Settings

DEMO_EMAIL = "demo@example.com"
DEMO_API_TOKEN = "demo-api-token"  # noqa: S105  # the simulated site's own credential, printed on purpose


def demo_settings(base: Settings, sim_port: int, token: str) -> Settings:
    """Return settings for the demo: ``base``'s address and logging, a memory store, one account, one server."""
    from confluence_mcp.store.cipher import generate_key

    return Settings.model_validate(
        {
            "server": {"host": base.server.host, "port": base.server.port},
            "log_level": base.log_level,
            "logging": {"format": base.logging.format},
            "store": {"url": "memory://"},
            "secrets": {"key": generate_key()},
            # The simulator serves its own media host (/__media/) on the same address, so downloads work too.
            "upstream": {"allowed_hosts": ["127.0.0.1"], "media_hosts": ["127.0.0.1"]},
            "accounts": [
                {
                    "id": "demo",
                    "label": "Demo site (simulated Confluence)",
                    "instance_url": f"http://127.0.0.1:{sim_port}",
                    "auth": {"type": "basic", "username": DEMO_EMAIL, "password": DEMO_API_TOKEN},
                }
            ],
            "servers": [{"token": token, "account": "demo", "name": "demo"}],
        }
    )


def banner(url: str, sim_port: int) -> str:
    """Return what the demo prints: the URL and the exact commands to try it."""
    rpc = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_all_confluence_spaces","arguments":{}}}'
    return "\n".join(
        [
            "",
            "confluence-mcp demo: the Confluence site is SIMULATED (sample data, kept in memory, gone on exit).",
            f"  simulated site: http://127.0.0.1:{sim_port}/wiki (user {DEMO_EMAIL})",
            "",
            f"MCP URL: {url}",
            "",
            "Try it:",
            f"  npx -y mcp-remote {url}",
            f"  npx -y @modelcontextprotocol/inspector@latest --cli {url} --transport http --method tools/list",
            f"  curl -s {url} -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \\",
            f"    -d '{rpc}'",
            "",
            "Press Ctrl-C to stop.",
            "",
        ]
    )


def run_demo(base: Settings, options: dict[str, Any]) -> int:
    """Serve the demo until interrupted; return the exit status."""
    import uvicorn

    from confluence_mcp.server.app import create_app, wrap
    from confluence_mcp.server.listener import GracefulServer, uvicorn_config
    from confluence_mcp.simulator import create_simulator

    sim_port = _free_port()
    token = "cmcp_" + secrets.token_urlsafe(32)
    settings = demo_settings(base, sim_port, token)
    simulator = create_simulator(email=DEMO_EMAIL, api_token=DEMO_API_TOKEN)
    site = uvicorn.Server(
        uvicorn.Config(simulator.app, host="127.0.0.1", port=sim_port, log_level="warning", access_log=False)
    )
    ours = GracefulServer(uvicorn_config(wrap(create_app(settings)), settings.server, **options))
    print(banner(f"{settings.public_url}/mcp/{token}", sim_port), flush=True)

    async def both() -> None:
        running = asyncio.create_task(site.serve())
        try:
            await ours.serve()  # started last, so Ctrl-C and SIGTERM reach this one
        finally:
            site.should_exit = True
            await running

    asyncio.run(both())
    return 0 if ours.started else 3


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
