"""One exception tree: every class the package defines derives from ConfluenceMcpError and has one answer."""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import pytest

from confluence_mcp import errors
from confluence_mcp.error_answers import ANSWERS, HttpAnswer, JsonRpcAnswer, ToolErrorAnswer, answer_for
from confluence_mcp.errors import ConfluenceMcpError, SimulatedFailure

SRC = Path(__file__).resolve().parents[1] / "src"


def _defined_exception_classes() -> list[type[BaseException]]:
    """Every exception class defined in a module of the package (modules found on disk, then imported)."""
    found: list[type[BaseException]] = []
    for path in sorted((SRC / "confluence_mcp").rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] in ("__init__", "__main__"):
            continue
        module = importlib.import_module(".".join(parts))
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, BaseException) and cls.__module__ == module.__name__:
                found.append(cls)
    return found


def _classes_in_source() -> set[str]:
    """Names of classes that look like exceptions in the source, as a cross-check of the import scan."""
    names = set()
    for path in (SRC / "confluence_mcp").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and any(
                isinstance(b, ast.Name | ast.Attribute)
                and ast.unparse(b).split(".")[-1].endswith(("Error", "Exception"))
                for b in node.bases
            ):
                names.add(node.name)
    return names


def test_every_exception_class_derives_from_the_root() -> None:
    """No module defines an exception outside the tree rooted at ConfluenceMcpError."""
    classes = _defined_exception_classes()
    assert {c.__name__ for c in classes} >= _classes_in_source()
    outside = sorted(f"{c.__module__}.{c.__qualname__}" for c in classes if not issubclass(c, ConfluenceMcpError))
    assert outside == []


def test_the_tree_lives_in_errors_py_except_the_simulators_own() -> None:
    """Exception classes are defined in errors.py; only the simulator adds its own, under SimulatedFailure."""
    elsewhere = sorted(
        f"{c.__module__}.{c.__qualname__}"
        for c in _defined_exception_classes()
        if c.__module__ != "confluence_mcp.errors"
        and not (c.__module__.startswith("confluence_mcp.simulator.") and issubclass(c, SimulatedFailure))
    )
    assert elsewhere == []


def test_every_class_of_the_tree_has_its_own_entry_in_the_answer_table() -> None:
    """Each class in errors.py maps to exactly one answer, listed by name in ANSWERS (none inherited silently)."""
    tree = [c for _, c in inspect.getmembers(errors, inspect.isclass) if issubclass(c, ConfluenceMcpError)]
    missing = sorted(c.__name__ for c in tree if c not in ANSWERS)
    assert missing == []
    assert set(ANSWERS) <= set(tree)


def test_the_tree_is_drawn_in_the_module_docstring() -> None:
    """The docstring's tree names every class, so the drawing stays the map of what exists."""
    doc = errors.__doc__ or ""
    tree = [n for n, c in inspect.getmembers(errors, inspect.isclass) if issubclass(c, ConfluenceMcpError)]
    assert [n for n in tree if n not in doc] == []


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (errors.UnknownTool("x"), JsonRpcAnswer(-32602, 200, 400)),
        (errors.UnknownMcpServer("Not found"), JsonRpcAnswer(-31404, 404, 404)),
        (errors.ApiTokenRequired("x"), JsonRpcAnswer(-31401, 401, 401)),
        (errors.RateLimited("x", 3), ToolErrorAnswer()),
        (errors.NotFound("x"), HttpAnswer(404, "not_found")),
        (errors.InvalidInput("x"), HttpAnswer(400, "invalid_value")),
    ],
)
def test_answer_for_gives_the_listed_answer(exc: ConfluenceMcpError, expected: object) -> None:
    """answer_for returns the table's entry for the exception's class."""
    assert answer_for(exc) == expected


def test_a_subclass_defined_later_answers_like_its_nearest_listed_ancestor() -> None:
    """A class outside the table (e.g. a test double) falls back along its MRO, never to nothing."""

    class Narrower(errors.UpstreamTimeout):
        """A test-only subclass."""

    assert answer_for(Narrower("slow")) == ToolErrorAnswer()
