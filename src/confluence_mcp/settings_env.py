"""Reading settings from the environment: ``${NAME}`` expansion, and error texts that name a variable or a line.

Its own module so ``settings`` stays one screenful per section; ``settings.load_settings`` uses it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

import yaml

from confluence_mcp.errors import ConfigError

__all__ = ["ENV_PREFIX", "environment_source", "expand_env", "named_variable", "yaml_problem"]

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
ENV_PREFIX = "CONFLUENCE_MCP_"


def expand_env(value: Any, path: str = "", environ: Mapping[str, str] | None = None) -> Any:
    """Replace ``${NAME}`` and ``${NAME:-default}`` in every string; a missing variable names its key."""
    env = os.environ if environ is None else environ
    if isinstance(value, dict):
        return {k: expand_env(v, f"{path}.{k}" if path else str(k), env) for k, v in value.items()}
    if isinstance(value, list):
        return [expand_env(v, f"{path}[{i}]", env) for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value

    def replace(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in env:
            return env[name]
        if default is not None:
            return default
        raise ConfigError(f"{path}: environment variable {name} is not set")

    return _ENV_REF.sub(replace, value)


def yaml_problem(exc: yaml.YAMLError) -> str:
    """Return where and what the YAML problem is, on one line (PyYAML's own text spans several)."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    return f"{where}: {problem}"


def environment_source(loc: tuple[int | str, ...]) -> str | None:
    """Return ``VARIABLE=value`` when the environment set the value at ``loc`` (or an enclosing one)."""
    present = {k.upper(): v for k, v in os.environ.items()}
    for end in range(len(loc), 0, -1):
        variable = ENV_PREFIX + "__".join(str(p) for p in loc[:end]).upper()
        if variable in present:
            return f"{variable}={_shown(present[variable])}"
    return None


def named_variable(message: str) -> str:
    """Return the environment variables a pydantic-settings parse error is about (the field's, by prefix)."""
    match = re.search(r'field "([^"]+)"', message)
    if not match:
        return "the environment"
    prefix = ENV_PREFIX + match.group(1).replace(".", "__").upper()
    named = sorted(k for k in os.environ if k.upper() == prefix or k.upper().startswith(prefix + "__"))
    return " or ".join(named) or prefix


def _shown(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."
