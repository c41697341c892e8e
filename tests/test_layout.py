"""The layout is enforced: every module's imports (read with ``ast``) obey the rules between the parts.

Parts are the top-level modules and packages of ``confluence_mcp`` (``openapi``, ``policy``, ``store``,
``upstream``, ``pipeline``, ``rpc``, ``server``, ``admin``, ``cli``, ``simulator``, ``errors``, ...).
Every import counts: module level, inside functions and under ``TYPE_CHECKING``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "confluence_mcp"

IO_LIBRARIES = ("httpx", "starlette", "uvicorn", "mcp", "mcp_types", "redis", "sqlite3", "anyio", "socket")
PARTS_WITH_IO = ("upstream", "server", "store", "pipeline", "rpc", "admin", "cli", "simulator", "ui")


@dataclass(frozen=True)
class Import:
    """One import statement: who imports what, and where."""

    module: str
    target: str
    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line} imports {self.target}"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports_of(path: Path, modules: set[str]) -> Iterator[Import]:
    name = _module_name(path)
    is_package = path.name == "__init__.py"
    file = str(path.relative_to(SRC.parent))
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Import | ast.ImportFrom):
            continue
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            base = node.module or ""
            if node.level:
                anchor = name.split(".") if is_package else name.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            # `from package import submodule` imports the submodule; `from module import name` the module.
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
        for target in dict.fromkeys(targets):
            yield Import(name, target, file, node.lineno)


def _all_imports() -> list[Import]:
    paths = sorted((SRC / PACKAGE).rglob("*.py"))
    modules = {_module_name(p) for p in paths}
    return [imp for path in paths for imp in _imports_of(path, modules)]


def _part(module: str) -> str | None:
    """Return the top-level part of one of our modules (``confluence_mcp`` itself for the root), else None."""
    pieces = module.split(".")
    if pieces[0] != PACKAGE:
        return None
    return pieces[1] if len(pieces) > 1 else PACKAGE


def _hits(target: str, prefixes: tuple[str, ...]) -> bool:
    return any(target == p or target.startswith(p + ".") for p in prefixes)


def _ours(*parts: str) -> tuple[str, ...]:
    return tuple(f"{PACKAGE}.{p}" for p in parts)


# (rule, the parts it binds, the imports it forbids)
RULES: list[tuple[str, tuple[str, ...], tuple[str, ...]]] = [
    ("the pure core does no I/O", ("openapi", "policy", "content"), (*IO_LIBRARIES, *_ours(*PARTS_WITH_IO))),
    ("upstream knows nothing of the server, the store or MCP", ("upstream",),
     ("mcp", "mcp_types", *_ours("server", "store", "pipeline", "rpc", "admin", "cli", "simulator"))),
    ("the store knows nothing of the server or upstream", ("store",),
     _ours("server", "upstream", "pipeline", "rpc", "admin", "cli", "simulator")),
    ("only the CLI may start the simulator", tuple(p for p in (*PARTS_WITH_IO, "openapi", "policy", "content", "errors",
     "settings", "logs", PACKAGE) if p not in ("cli", "simulator")), _ours("simulator")),
    ("the simulator is not built from our server", ("simulator",), _ours("server", "upstream", "pipeline", "rpc")),
    ("the web pages change things only through the admin service", ("ui",),
     _ours("server", "upstream", "rpc", "cli", "store.memory", "store.sqlite", "store.redis", "store.opening")),
    ("only the server mounts the web pages", tuple(p for p in (*PARTS_WITH_IO, "openapi", "policy", "errors",
     "settings", "logs", PACKAGE) if p not in ("server", "ui")), _ours("ui")),
]  # fmt: skip


def violations(imports: list[Import]) -> list[str]:
    """Return one line per import that breaks a rule, naming the rule and the import."""
    found = []
    for rule, parts, forbidden in RULES:
        for imp in imports:
            if _part(imp.module) in parts and _hits(imp.target, forbidden):
                found.append(f"{rule}: {imp}")
    return found


def part_cycles(imports: list[Import]) -> list[list[str]]:
    """Return the cycles among top-level parts (each as the parts in order, first repeated last)."""
    edges: dict[str, set[str]] = {}
    for imp in imports:
        source, target = _part(imp.module), _part(imp.target)
        if source and target and source != target:
            edges.setdefault(source, set()).add(target)
    return _cycles(edges)


def module_cycles(imports: list[Import]) -> list[list[str]]:
    """Return the cycles among modules of the package."""
    edges: dict[str, set[str]] = {}
    for imp in imports:
        if _part(imp.target) is not None and imp.target != imp.module:
            edges.setdefault(imp.module, set()).add(imp.target)
    return _cycles(edges)


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    found: list[list[str]] = []
    seen: set[frozenset[str]] = set()
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                cycle = [*path[path.index(nxt) :], nxt]
                if frozenset(cycle) not in seen:
                    seen.add(frozenset(cycle))
                    found.append(cycle)
            elif nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)
    return found


def test_every_import_obeys_the_layout_rules() -> None:
    """No module imports what its part may not: each offending import is named with its file and line."""
    assert violations(_all_imports()) == []


def test_top_level_parts_have_no_import_cycle() -> None:
    """The arrows between parts (openapi, store, upstream, pipeline, rpc, server, admin, cli, ...) form no cycle."""
    assert part_cycles(_all_imports()) == []


def test_no_module_imports_its_importer() -> None:
    """No import cycle exists between modules anywhere in the package."""
    assert module_cycles(_all_imports()) == []


@pytest.mark.parametrize(
    ("module", "source", "expected"),
    [
        ("confluence_mcp.policy.filters", "import httpx", "the pure core does no I/O"),
        ("confluence_mcp.content.markdown_in", "import httpx", "the pure core does no I/O"),
        ("confluence_mcp.openapi.tools", "from confluence_mcp.store.base import Account", "the pure core does no I/O"),
        ("confluence_mcp.upstream.client", "from mcp import types", "upstream knows nothing"),
        ("confluence_mcp.upstream.client", "from confluence_mcp.server import app", "upstream knows nothing"),
        ("confluence_mcp.store.base", "from confluence_mcp.upstream import client", "the store knows nothing"),
        ("confluence_mcp.server.app", "from confluence_mcp.simulator import SEED", "only the CLI may start"),
        ("confluence_mcp.simulator.app", "from confluence_mcp.server import guards", "the simulator is not built"),
        ("confluence_mcp.ui.pages", "from confluence_mcp.store.sqlite import SqliteStore", "the web pages change"),
        ("confluence_mcp.admin.routes", "from confluence_mcp.ui import ui_app", "only the server mounts"),
    ],
)
def test_a_forbidden_import_is_reported_by_name(module: str, source: str, expected: str) -> None:
    """Each rule catches an import that breaks it, and the report names the importing module's file and line."""
    node = ast.parse(source).body[0]
    assert isinstance(node, ast.Import | ast.ImportFrom)
    target = node.names[0].name if isinstance(node, ast.Import) else f"{node.module}.{node.names[0].name}"
    found = violations([Import(module, target, "x.py", 3)])
    assert len(found) == 1
    assert found[0].startswith(expected)
    assert f"x.py:3 imports {target}" in found[0]


def test_a_cycle_between_parts_is_found() -> None:
    """Two parts importing each other are reported as a cycle."""
    imports = [
        Import("confluence_mcp.cli.main", "confluence_mcp.admin.service", "a.py", 1),
        Import("confluence_mcp.admin.service", "confluence_mcp.cli.table", "b.py", 1),
    ]
    assert part_cycles(imports) == [["admin", "cli", "admin"]]
    assert module_cycles(imports) == []
