"""The pure core (openapi/, policy/) imports no I/O library, and server code never imports the simulator."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "confluence_mcp"
FORBIDDEN = ("httpx", "starlette", "uvicorn", "mcp.server", "confluence_mcp.store", "confluence_mcp.server", "redis")


def test_pure_core_imports_no_io_modules() -> None:
    """Importing openapi and policy in a fresh interpreter loads none of httpx, starlette, mcp.server or the store."""
    code = (
        "import sys, json; import confluence_mcp.openapi, confluence_mcp.policy.filters, "
        "confluence_mcp.policy.ratelimit; print(json.dumps(sorted(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    loaded = set(__import__("json").loads(out))
    bad = sorted(m for m in loaded if any(m == f or m.startswith(f + ".") for f in FORBIDDEN))
    assert bad == []


def _imports(path: Path) -> set[str]:
    """Return the absolute module names ``path`` imports, top-level or in functions (``from M import N`` adds M.N)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_server_package_never_imports_the_simulator() -> None:
    """No module under server/, upstream/ or store/ imports the simulator (tests and bench/ do)."""
    offenders = []
    for package in ("server", "upstream", "store", "openapi", "policy"):
        for path in (SRC / package).rglob("*.py"):
            if any(n.startswith("confluence_mcp.simulator") for n in _imports(path)):
                offenders.append(str(path.relative_to(SRC)))
    assert offenders == []


def test_admin_and_cli_modules_are_on_no_import_cycle() -> None:
    """No chain of imports (top-level or in functions) leads from an admin/ or cli/ module back to itself."""
    paths = {_module_name(path): path for path in SRC.rglob("*.py")}
    graph = {name: {n for n in _imports(path) if n in paths and n != name} for name, path in paths.items()}
    on_cycle = []
    for start in sorted(n for n in graph if n.startswith(("confluence_mcp.admin", "confluence_mcp.cli"))):
        seen, frontier = set(), set(graph[start])
        while frontier:
            seen |= frontier
            frontier = {n for m in frontier for n in graph[m]} - seen
        if start in seen:
            on_cycle.append(start)
    assert on_cycle == []


def test_lean_path_version_lists_match_the_sdk() -> None:
    """The protocol versions the lean path recognizes are exactly the SDK's."""
    from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS, MODERN_PROTOCOL_VERSIONS

    from confluence_mcp.server.fastpath import HANDSHAKE_VERSIONS, MODERN_VERSIONS

    assert set(HANDSHAKE_PROTOCOL_VERSIONS) == HANDSHAKE_VERSIONS
    assert set(MODERN_PROTOCOL_VERSIONS) == MODERN_VERSIONS


def test_server_start_does_not_import_the_sdk() -> None:
    """Importing the app factory leaves the MCP SDK unimported (it loads in a worker thread after start)."""
    code = "import sys, confluence_mcp.server.app; print(any(m == 'mcp' or m.startswith('mcp.') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
