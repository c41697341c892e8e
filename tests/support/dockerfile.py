"""Read a Dockerfile and replay its final stage on this machine, where no Docker engine runs.

``parse`` turns the file into instructions the way the Docker builder reads it (comment lines dropped, even
inside continuations; continuation lines joined). ``replay`` lays out a directory like the image's file
system, with ``COPY`` honouring ``.dockerignore``, and runs the ``RUN`` lines that install software with a
fresh virtual environment standing in for the base image's Python. ``RUN`` lines that only set up the image's
system (its user and directories) are recorded, not run: they would change this machine. Any other
instruction or ``RUN`` line fails the replay with its line number, so a Dockerfile change this module cannot
replay faithfully is noticed rather than skipped. Absolute paths in ``ENV``, ``COPY``, ``WORKDIR``,
``VOLUME`` and ``CMD`` are mapped into that directory.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "Image",
    "Instruction",
    "copy_arguments",
    "dockerignore_matcher",
    "final_stage",
    "new_python",
    "parse",
    "replay",
    "shell_or_exec",
]

# Commands that only set up the image's system; a RUN made of nothing else is recorded, not run.
SYSTEM_SETUP = frozenset({"useradd", "groupadd", "adduser", "addgroup", "mkdir", "chown", "chmod"})
_INSTALL_TIMEOUT = 300
_HANDLED = frozenset({"FROM", "ENV", "WORKDIR", "COPY", "RUN", "USER", "EXPOSE", "VOLUME", "HEALTHCHECK", "CMD"})
_HEALTHCHECK = re.compile(r"^(?P<options>(?:--[a-z-]+=\S+\s+)*)CMD\s+(?P<command>.+)$", re.DOTALL)


@dataclass(frozen=True)
class Instruction:
    """One Dockerfile instruction: its keyword (upper case), its argument text, the line it starts on."""

    keyword: str
    arguments: str
    line: int

    def __str__(self) -> str:
        return f"Dockerfile:{self.line}: {self.keyword} {self.arguments}"


@dataclass
class Image:
    """What replaying a final stage produced: the file-system root, and what the image would run with."""

    root: Path
    python_bin: Path
    """The bin directory of the virtual environment standing in for the base image's Python."""
    workdir: Path = field(init=False)
    env: dict[str, str] = field(default_factory=dict)
    """The image's ENV, absolute paths mapped under ``root``."""
    user: str | None = None
    exposed: list[str] = field(default_factory=list)
    volumes: list[Path] = field(default_factory=list)
    healthcheck: list[str] = field(default_factory=list)
    healthcheck_options: dict[str, str] = field(default_factory=dict)
    cmd: list[str] = field(default_factory=list)
    replayed: list[Instruction] = field(default_factory=list)
    """The RUN lines that were run."""
    recorded: list[Instruction] = field(default_factory=list)
    """The RUN lines that only set up the image's system, recorded and not run."""

    def __post_init__(self) -> None:
        self.workdir = self.root

    def inside(self, path: str) -> Path:
        """Return where the image path ``path`` (absolute, or relative to WORKDIR) lies under ``root``."""
        if posixpath.isabs(path):
            return self.root / posixpath.normpath(path).lstrip("/")
        return self.workdir / path

    def environment(self, **overrides: str) -> dict[str, str]:
        """Return the environment a process in the image gets: this machine's, the image's ENV, ``overrides``."""
        base = {
            k: v
            for k, v in os.environ.items()
            if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME") and not k.startswith("CONFLUENCE_MCP_")
        }
        base["PATH"] = f"{self.python_bin}{os.pathsep}{os.environ.get('PATH', '')}"
        return {**base, **self.env, **overrides}


def parse(text: str) -> list[Instruction]:
    """Return the instructions of a Dockerfile's text."""
    instructions: list[Instruction] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue  # the builder drops comment and empty lines, also between continuation lines
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending.append(stripped[:-1].rstrip())
            continue
        pending.append(stripped)
        keyword, _, arguments = " ".join(pending).partition(" ")
        instructions.append(Instruction(keyword.upper(), arguments.strip(), start))
        pending = []
    if pending:
        raise ValueError(f"Dockerfile:{start}: the last instruction ends in a line continuation")
    return instructions


def final_stage(instructions: list[Instruction]) -> list[Instruction]:
    """Return the instructions of the last stage, its FROM first."""
    starts = [i for i, instruction in enumerate(instructions) if instruction.keyword == "FROM"]
    if not starts:
        raise ValueError("Dockerfile: no FROM instruction")
    return instructions[starts[-1] :]


def shell_or_exec(arguments: str) -> list[str]:
    """Return the argument vector of an instruction in exec form (JSON) or shell form (``/bin/sh -c``)."""
    if arguments.startswith("["):
        vector = json.loads(arguments)
        if not isinstance(vector, list) or not all(isinstance(a, str) for a in vector):
            raise ValueError(f"not an exec-form argument list: {arguments}")
        return vector
    return ["/bin/sh", "-c", arguments]


def dockerignore_matcher(text: str) -> re.Pattern[str] | None:
    """Return one pattern matching every path (relative, '/'-separated) that ``.dockerignore`` excludes."""
    alternatives = []
    for line in text.splitlines():
        pattern = line.strip()
        if not pattern or pattern.startswith("#"):
            continue
        if pattern.startswith("!"):
            raise ValueError(f".dockerignore: exceptions ({pattern}) are not replayed; extend dockerignore_matcher")
        alternatives.append(_pattern_regex(posixpath.normpath(pattern.lstrip("/"))))
    # A pattern that matches a directory excludes everything under it.
    return re.compile(f"(?:{'|'.join(alternatives)})(?:/.*)?") if alternatives else None


def _pattern_regex(pattern: str) -> str:
    """Translate a Go filepath.Match pattern with Docker's ``**`` into a regular expression."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return "".join(out)


def replay(dockerfile: Path, context: Path, root: Path, python_bin: Path) -> Image:
    """Replay the final stage of ``dockerfile`` (build context ``context``) into ``root``."""
    ignore_file = context / ".dockerignore"
    ignored = dockerignore_matcher(ignore_file.read_text(encoding="utf-8")) if ignore_file.is_file() else None
    image = Image(root=root, python_bin=python_bin)
    for instruction in final_stage(parse(dockerfile.read_text(encoding="utf-8"))):
        keyword, arguments = instruction.keyword, instruction.arguments
        if keyword not in _HANDLED:
            raise ValueError(f"{instruction}: not replayed; extend tests/support/dockerfile.py")
        if keyword == "ENV":
            image.env.update(_env_values(instruction, image))
        elif keyword == "WORKDIR":
            image.workdir = image.inside(arguments)
            image.workdir.mkdir(parents=True, exist_ok=True)
        elif keyword == "COPY":
            _copy(instruction, image, context, ignored)
        elif keyword == "RUN":
            _run(instruction, image)
        elif keyword == "USER":
            image.user = arguments
        elif keyword == "EXPOSE":
            image.exposed.extend(arguments.split())
        elif keyword == "VOLUME":
            for volume in shell_or_exec(arguments) if arguments.startswith("[") else arguments.split():
                image.volumes.append(image.inside(volume))
                image.volumes[-1].mkdir(parents=True, exist_ok=True)
        elif keyword == "HEALTHCHECK":
            match = _HEALTHCHECK.match(arguments)
            if match is None:
                raise ValueError(f"{instruction}: expected HEALTHCHECK [--option=value ...] CMD command")
            options = (o.split("=", 1) for o in match["options"].split())
            image.healthcheck_options = {name.removeprefix("--"): value for name, value in options}
            image.healthcheck = shell_or_exec(match["command"].strip())
        elif keyword == "CMD":
            vector = shell_or_exec(arguments)
            image.cmd = [str(image.inside(a)) if posixpath.isabs(a) else a for a in vector]
    return image


def _env_values(instruction: Instruction, image: Image) -> dict[str, str]:
    values: dict[str, str] = {}
    for item in shlex.split(instruction.arguments):
        name, equals, value = item.partition("=")
        if not equals:
            raise ValueError(f"{instruction}: write ENV NAME=value (the legacy 'ENV NAME value' is not replayed)")
        if "$" in value:
            raise ValueError(f"{instruction}: variable references in ENV values are not replayed")
        values[name] = str(image.inside(value)) if posixpath.isabs(value) else value
    return values


def copy_arguments(instruction: Instruction) -> tuple[list[str], str]:
    """Return the sources and the destination of a COPY instruction."""
    arguments = instruction.arguments
    words = shell_or_exec(arguments) if arguments.startswith("[") else shlex.split(arguments)
    options = [w for w in words if w.startswith("--")]
    if any(not o.startswith("--chown=") and not o.startswith("--chmod=") for o in options):
        raise ValueError(f"{instruction}: only --chown and --chmod are replayed (ownership is not)")
    *sources, destination = [w for w in words if not w.startswith("--")]
    return sources, destination


def _copy(instruction: Instruction, image: Image, context: Path, ignored: re.Pattern[str] | None) -> None:
    sources, destination = copy_arguments(instruction)
    into_directory = destination.endswith("/") or len(sources) > 1
    target = image.inside(destination)
    for source in sources:
        relative = posixpath.normpath(source)
        path = context / relative
        if not path.exists() or (ignored is not None and ignored.fullmatch(relative)):
            raise FileNotFoundError(f"{instruction}: {source} is not in the build context")
        if path.is_dir():
            _copy_tree(path, target, context, ignored)
        else:
            file_target = target / path.name if into_directory else target
            file_target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, file_target)


def _copy_tree(source: Path, target: Path, context: Path, ignored: re.Pattern[str] | None) -> None:
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(context).as_posix()
        if ignored is not None and ignored.fullmatch(relative):
            continue
        destination = target / path.relative_to(source)
        if path.is_dir():
            destination.mkdir(parents=True, exist_ok=True)
        else:
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, destination)


def _run(instruction: Instruction, image: Image) -> None:
    if instruction.arguments.startswith("["):
        raise ValueError(f"{instruction}: exec-form RUN is not replayed")
    commands = [shlex.split(part)[0] for part in instruction.arguments.split("&&") if part.strip()]
    setup = [c in SYSTEM_SETUP for c in commands]
    if all(setup):
        image.recorded.append(instruction)
        return
    if any(setup) or any(c not in ("python", "pip", "rm") for c in commands):
        raise ValueError(f"{instruction}: a RUN line either installs (python, pip, rm) or sets up the system")
    if any(word.startswith("/") for word in shlex.split(instruction.arguments)):
        raise ValueError(f"{instruction}: an absolute path in an install step would touch this machine, not the image")
    completed = subprocess.run(
        ["/bin/sh", "-c", instruction.arguments],
        cwd=image.workdir,
        env=image.environment(),
        capture_output=True,
        text=True,
        timeout=_INSTALL_TIMEOUT,
        check=False,
    )
    if completed.returncode != 0:
        output = (completed.stdout + completed.stderr)[-4000:]
        raise RuntimeError(f"{instruction}: exit code {completed.returncode}\n{output}")
    image.replayed.append(instruction)


def new_python(path: Path) -> Path:
    """Create a fresh virtual environment at ``path`` (the base image's Python) and return its bin directory."""
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True, timeout=_INSTALL_TIMEOUT)
    return path / "bin"
