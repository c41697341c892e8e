"""The MCP conformance suite (conformance 0.1.16) against our server, for the scenarios a tools-only server answers."""

from __future__ import annotations

import json
import platform
from pathlib import Path
from typing import Any

import anyio
import pytest

from confluence_mcp.openapi import default_documents
from tests.support.stack import running_stack

pytestmark = pytest.mark.anyio

NODE_MODULES = Path(__file__).resolve().parents[1] / "clients" / "node_modules"
CONFORMANCE = NODE_MODULES / "@modelcontextprotocol" / "conformance" / "dist" / "index.js"
# conformance needs Node >= 22 (on Node 20 it dies importing `globSync` from 'fs'), so tests/clients pins a Node 22
# binary as an optional, per-platform npm package; npm installs only the one matching this machine.
_NODE_ARCH = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "arm64": "arm64"}
NODE22 = NODE_MODULES / f"node-linux-{_NODE_ARCH.get(platform.machine().lower(), platform.machine())}" / "bin" / "node"
MISSING = not (CONFORMANCE.is_file() and NODE22.is_file())
REASON = "conformance and its Node 22 come from the README's test command (./scripts/test: npm ci in tests/clients)"

# Every server scenario `conformance list` names in 0.1.16 is either run here or skipped for the reason given.
SCENARIOS = [
    "server-initialize",
    "ping",
    "tools-list",
    # The next two call fixture tools by fixed names; FIXTURE_DOCUMENT gives two real upstream calls those names.
    "tools-call-simple-text",
    "tools-call-error",
    # Needs the server started with localhost Host/Origin allow-lists, as every test here does.
    "dns-rebinding-protection",
]
# Skipped, because they test features a tools-only, stateless, JSON-response server does not have by design:
# - logging-set-level, tools-call-with-logging, completion-complete: no logging or completion capability.
# - resources-list, resources-read-text, resources-read-binary, resources-templates-read, resources-subscribe,
#   resources-unsubscribe: no resources capability.
# - prompts-list, prompts-get-simple, prompts-get-with-args, prompts-get-embedded-resource, prompts-get-with-image:
#   no prompts capability.
# - tools-call-sampling, tools-call-elicitation, elicitation-sep1034-defaults, elicitation-sep1330-enums,
#   tools-call-with-progress: a stateless JSON response cannot carry server-to-client requests or progress
#   notifications mid-call.
# - tools-call-image, tools-call-audio, tools-call-embedded-resource, tools-call-mixed-content: Confluence answers
#   JSON, so our tools return text (and structured) content only.
# - json-schema-2020-12: expects a tool whose inputSchema keeps `$defs` and a `$ref` to it; our generator inlines
#   every `$ref` into a flat schema on purpose.
# - subscriptions/listen (2026-07-28) has no scenario in 0.1.16; tests/server/test_subscriptions.py checks its
#   acknowledgement, subscription-id tags and filtering on both request paths.
# - server-sse-polling, server-sse-multiple-streams (SEP-1699): they need a session id and SSE streams; against a
#   stateless JSON server they report only WARNING/INFO "not applicable" checks and test nothing more than
#   server-initialize does.

# Two operations named as the suite's fixture tools: a list the simulator answers with JSON (text content), and a
# page that never exists (a 404, which our server turns into an `isError: true` result with an explanation).
FIXTURE_DOCUMENT = """\
openapi: 3.1.0
info:
  title: Conformance fixture tools
  version: 1.0.0
servers:
  - url: "https://{site}"
    variables:
      site:
        default: example.atlassian.net
paths:
  /wiki/api/v2/spaces:
    get:
      operationId: conformanceSimpleText
      summary: Lists spaces, under the tool name the conformance suite calls for simple text.
      x-mcp-name: test_simple_text
      responses:
        "200":
          description: The spaces.
  /wiki/api/v2/pages/0:
    get:
      operationId: conformanceErrorHandling
      summary: Reads a page that never exists, under the tool name the conformance suite calls for errors.
      x-mcp-name: test_error_handling
      responses:
        "404":
          description: No such page.
"""
LOCALHOST_ONLY = {
    "allowed_hosts": ["127.0.0.1:*", "localhost:*"],
    "allowed_origins": ["http://127.0.0.1:*", "http://localhost:*"],
}


def _failures(checks: list[dict[str, Any]]) -> list[str]:
    """Return one line per check that did not pass: its id, status and message."""
    return [
        f"{check.get('id')} [{check.get('status')}]: {check.get('errorMessage') or json.dumps(check.get('details'))}"
        for check in checks
        if check.get("status") != "SUCCESS"
    ]


@pytest.mark.skipif(MISSING, reason=REASON)
@pytest.mark.parametrize("fast_path", [pytest.param(True, id="fast-path"), pytest.param(False, id="sdk-path")])
@pytest.mark.parametrize("scenario", SCENARIOS)
async def test_conformance_scenario_passes_every_check(tmp_path: Path, scenario: str, fast_path: bool) -> None:
    """Every check of the conformance scenario passes against a localhost-only server, on either request path."""
    fixture = tmp_path / "conformance-fixture.yaml"
    fixture.write_text(FIXTURE_DOCUMENT, encoding="utf-8")
    results = tmp_path / "results"
    async with running_stack(
        server={**LOCALHOST_ONLY, "fast_path": fast_path}, documents=[*default_documents(), fixture]
    ) as stack:
        command = [str(NODE22), str(CONFORMANCE), "server", "--url", stack.url("all"), "--scenario", scenario]
        with anyio.fail_after(60):
            process = await anyio.run_process([*command, "-o", str(results)], check=False)
    output = (process.stdout + process.stderr).decode(errors="replace")
    found = sorted(results.glob(f"server-{scenario}-*/checks.json"))
    assert found, f"conformance wrote no checks.json (exit {process.returncode}):\n{output}"
    checks: list[dict[str, Any]] = json.loads(found[-1].read_text(encoding="utf-8"))
    assert checks, f"conformance ran no checks (exit {process.returncode}):\n{output}"
    failures = _failures(checks)
    assert not failures, f"{scenario}: {len(failures)} of {len(checks)} checks failed:\n" + "\n".join(failures)
    assert process.returncode == 0, output
