"""Two builds side by side on one simulator: this tree and another git ref, measured in alternating rounds.

    .venv/bin/python -m bench.run --against GIT_REF [--requests 3000] [--rounds 6] [--out bench/results/against.json]

GIT_REF is checked out with ``git worktree add --detach`` into a temporary directory and installed into a virtualenv
of its own. Each build seeds its own store with its own code and serves on its own port; one simulator answers both.
Every round measures the direct call and then both builds (this, other; the next round other, this) at C=1 and C=16.
The headline is this build / other build: the median of the per-round ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import statistics
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import servers
from bench.loadgen import Result, Target, free_port, run_load, run_load_httpx
from bench.servers import HERE, Process

ROOT = HERE.parent
CONCURRENCIES = (1, 16)
NAMES = ("this", "other")
Tokens = dict[str, str]  # MCP server name -> its token


@dataclass
class Build:
    """One side of the comparison: where its code is, the interpreter that runs it, the port it serves on."""

    name: str
    ref: str
    sha: str
    tree: Path
    python: str
    dirty: bool = False
    port: int = field(default_factory=free_port)
    startup_s: float = 0.0
    rss_mb: float = 0.0

    @property
    def label(self) -> str:
        """Name the build in the table: the ref and its commit."""
        return f"{self.ref} ({self.sha[:7]}{', modified' if self.dirty else ''})"


async def _run(*argv: str, cwd: Path = ROOT, env: Mapping[str, str] | None = None) -> str:
    """Run a command to completion and return its stdout; raise with its output when it fails."""
    process = await asyncio.create_subprocess_exec(
        *argv, cwd=cwd, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        out, err = await process.communicate()
    except BaseException:
        # Interrupted: a pip or git left running would hold the temporary tree we are about to remove.
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
        raise
    if process.returncode != 0:
        output = (err or out).decode(errors="replace")[-3000:]
        raise RuntimeError(f"{' '.join(argv)} exited with {process.returncode}:\n{output}")
    return out.decode()


async def _git(*argv: str) -> str:
    return (await _run("git", *argv)).strip()


async def _this_build() -> Build:
    """Describe the build that runs this benchmark: this tree with this virtualenv."""
    sha = await _git("rev-parse", "HEAD")
    # Uncommitted changes to the build are part of "this" side; say so in the report.
    dirty = bool(await _git("status", "--porcelain", "--", "src", "openapi", "pyproject.toml"))
    return Build("this", "this tree", sha, ROOT, sys.executable, dirty)


async def _other_build(ref: str, tmp: Path) -> Build:
    """Check ``ref`` out into ``tmp`` and install it into a virtualenv of its own."""
    sha = await _git("rev-parse", "--verify", "--end-of-options", f"{ref}^{{commit}}")
    tree, venv = tmp / "tree", tmp / "venv"
    print(f"checking out {ref} ({sha[:7]}) into {tree} and installing it into {venv}", file=sys.stderr)
    await _git("worktree", "add", "--detach", str(tree), sha)
    await _run(sys.executable, "-m", "venv", str(venv))
    python = str(venv / "bin" / "python")
    await _run(python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-e", str(tree))
    return Build("other", ref, sha, tree, python)


async def _seed(build: Build, tmp: Path, sim_url: str, count: int, env: Mapping[str, str]) -> tuple[Path, Tokens]:
    """Seed the build's store with its own interpreter and write its config; return the config and MCP tokens."""
    db, config = tmp / f"{build.name}.db", tmp / f"{build.name}.yaml"
    argv = ("-m", "bench.seed", "--db", str(db), "--sim-url", sim_url, "--servers", str(count))
    # bench.seed comes from this tree, confluence_mcp from the build's own virtualenv.
    out = await _run(build.python, *argv, env={**env, "PYTHONPATH": str(ROOT)})
    seeded = json.loads(out.strip().splitlines()[-1])
    if not _inside(seeded["module"], build.tree):
        raise RuntimeError(f"the {build.name} build imports confluence_mcp from {seeded['module']}, not {build.tree}")
    servers.write_config(config, build.port, db, seeded["key"], build.tree)
    tokens: Tokens = seeded["tokens"]
    return config, tokens


def _inside(path: str, tree: Path) -> bool:
    return Path(path).resolve().is_relative_to(tree.resolve())


async def _versions(python: str) -> dict[str, str]:
    frozen = await _run(python, "-m", "pip", "freeze", "--exclude-editable", "--disable-pip-version-check")
    pins = (line.partition("==") for line in frozen.splitlines() if "==" in line)
    return {name.lower(): version for name, _, version in pins}


async def _dependency_differences(this: Build, other: Build) -> dict[str, list[str]]:
    """Return the packages both virtualenvs hold in different versions: they can explain a difference too."""
    ours, theirs = await _versions(this.python), await _versions(other.python)
    return {
        name: [ours[name], theirs[name]] for name in sorted(ours.keys() & theirs.keys()) if ours[name] != theirs[name]
    }


def _compare(direct: Result, results: Mapping[str, Result]) -> dict[str, Any]:
    """Return one round's figures at one concurrency: each build against direct, and this build against the other."""
    row: dict[str, Any] = {"direct": direct.summary("direct")}
    for name in NAMES:
        result = results[name]
        row[name] = {
            **result.summary(name),
            "ratio_vs_direct": round(result.throughput / direct.throughput, 4),
            "added_p50_ms": round(result.percentile(50) - direct.percentile(50), 4),
        }
    row["this_over_other"] = round(results["this"].throughput / results["other"].throughput, 4)
    row["added_p50_diff_ms"] = round(row["this"]["added_p50_ms"] - row["other"]["added_p50_ms"], 4)
    return row


async def _rounds(args: argparse.Namespace, direct: Target, calls: Mapping[str, Target]) -> list[dict[str, Any]]:
    """Measure ``args.rounds`` rounds: at each concurrency the direct call, then both builds in this round's order."""
    load = run_load_httpx if args.client == "httpx" else run_load
    rounds: list[dict[str, Any]] = []
    for index in range(args.rounds):
        # Alternate who goes first, so neither build always runs right after the direct call or the other build.
        order = NAMES if index % 2 == 0 else NAMES[::-1]
        entry: dict[str, Any] = {"round": index + 1, "order": list(order)}
        for concurrency in CONCURRENCIES:
            direct_result = await load(direct, concurrency=concurrency, requests=args.requests)
            results = {name: await load(calls[name], concurrency=concurrency, requests=args.requests) for name in order}
            entry[f"c{concurrency}"] = _compare(direct_result, results)
        rounds.append(entry)
        ratios = ", ".join(f"C={c} {entry[f'c{c}']['this_over_other']:.2f}" for c in CONCURRENCIES)
        print(f"round {index + 1}/{args.rounds}: this/other {ratios}", file=sys.stderr)
    return rounds


def _values(rounds: list[dict[str, Any]], concurrency: int, *keys: str) -> list[float]:
    values = []
    for entry in rounds:
        value = entry[f"c{concurrency}"]
        for key in keys:
            value = value[key]
        values.append(float(value))
    return values


def _median(rounds: list[dict[str, Any]], concurrency: int, *keys: str) -> float:
    return round(statistics.median(_values(rounds, concurrency, *keys)), 3)


def _range(rounds: list[dict[str, Any]], concurrency: int, *keys: str) -> list[float]:
    """Return the lowest and highest per-round value: how far apart the rounds were, next to their median."""
    values = _values(rounds, concurrency, *keys)
    return [round(min(values), 3), round(max(values), 3)]


def _report(
    args: argparse.Namespace, builds: Mapping[str, Build], rounds: list[dict[str, Any]], differences: dict[str, Any]
) -> dict[str, Any]:
    per_build = {}
    for name, build in builds.items():
        errors = sum(entry[f"c{c}"][name]["errors"] for entry in rounds for c in CONCURRENCIES)
        per_build[name] = {
            "label": build.label,
            "ref": build.ref,
            "sha": build.sha,
            "modified": build.dirty,
            "throughput_ratio_c1": _median(rounds, 1, name, "ratio_vs_direct"),
            "throughput_ratio_c16": _median(rounds, 16, name, "ratio_vs_direct"),
            "added_p50_ms_c1": _median(rounds, 1, name, "added_p50_ms"),
            "startup_s": round(build.startup_s, 3),
            "rss_mb": round(build.rss_mb, 1),
            "errors": errors,
        }
    return {
        **servers.report_header(args.client, args.requests),
        "rounds": args.rounds,
        "mcp_servers_in_store": args.servers,
        "this_over_other_c1": _median(rounds, 1, "this_over_other"),
        "this_over_other_c16": _median(rounds, 16, "this_over_other"),
        "added_p50_diff_ms_c1": _median(rounds, 1, "added_p50_diff_ms"),
        "ranges_over_rounds": {
            "this_over_other_c1": _range(rounds, 1, "this_over_other"),
            "this_over_other_c16": _range(rounds, 16, "this_over_other"),
            "added_p50_diff_ms_c1": _range(rounds, 1, "added_p50_diff_ms"),
        },
        "builds": per_build,
        "dependency_differences": differences,
        "runs": rounds,
    }


async def compare(args: argparse.Namespace) -> dict[str, Any]:
    """Build the other ref, serve both builds on one simulator, measure the rounds; clean up whatever happens."""
    # SIGTERM then ends the run the way Ctrl-C does: cancelled, with the clean-up below.
    loop, task = asyncio.get_running_loop(), asyncio.current_task()
    if task is not None:
        loop.add_signal_handler(signal.SIGTERM, task.cancel)
    tmp = Path(tempfile.mkdtemp(prefix="confluence-mcp-against-"))
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    processes: list[Process] = []
    try:
        builds = {"this": await _this_build(), "other": await _other_build(args.against, tmp)}
        differences = await _dependency_differences(*builds.values())
        sim, sim_port = await servers.start_simulator(env)
        processes.append(sim)
        calls: dict[str, Target] = {}
        for name, build in builds.items():
            config, tokens = await _seed(build, tmp, f"http://127.0.0.1:{sim_port}", args.servers, env)
            calls[name] = servers.page_call(build.port, tokens["all"])
            # One at a time, so neither start-up competes with the other for the two cores.
            server, build.startup_s = await servers.start_server(
                build.python, config, build.port, calls[name], env, build.tree
            )
            processes.append(server)
            build.rss_mb = servers.rss_mb(server.pid)
        direct = servers.direct_target(sim_port)
        await servers.warm_up(direct, *calls.values())
        rounds = await _rounds(args, direct, calls)
    finally:
        await servers.stop(processes)
        await _remove(tmp)
        loop.remove_signal_handler(signal.SIGTERM)
    return _report(args, builds, rounds, differences)


async def _remove(tmp: Path) -> None:
    """Remove the other build's worktree from git and the temporary directory (its virtualenv, stores, configs)."""
    tree = tmp / "tree"
    if tree.exists():
        try:
            await _git("worktree", "remove", "--force", str(tree))
        except RuntimeError as exc:
            print(f"warning: could not remove the worktree {tree}: {exc}", file=sys.stderr)
    shutil.rmtree(tmp, ignore_errors=True)


def _print(report: dict[str, Any]) -> None:
    machine, this, other = report["machine"], report["builds"]["this"], report["builds"]["other"]
    print(f"\nconfluence-mcp: {this['label']} vs {other['label']}")
    print(
        f"{machine['cpus']} CPUs, Python {machine['python']}, client {report['load_client']}, "
        f"{report['rounds']} rounds x {report['requests_per_run']} requests per measurement\n"
    )
    print(
        f"{'round':<6}{'C':>3}  {'first':<6}{'direct/s':>9}{'this/s':>9}{'other/s':>9}"
        f"{'this/d':>8}{'other/d':>8}{'this/other':>11}{'+p50 this':>10}{'+p50 other':>11}"
    )
    for concurrency in CONCURRENCIES:
        for entry in report["runs"]:
            row = entry[f"c{concurrency}"]
            mine, theirs = row["this"], row["other"]
            print(
                f"{entry['round']:<6}{concurrency:>3}  {entry['order'][0]:<6}{row['direct']['calls_per_s']:>9.0f}"
                f"{mine['calls_per_s']:>9.0f}{theirs['calls_per_s']:>9.0f}{mine['ratio_vs_direct']:>8.2f}"
                f"{theirs['ratio_vs_direct']:>8.2f}{row['this_over_other']:>11.3f}"
                f"{mine['added_p50_ms']:>10.2f}{theirs['added_p50_ms']:>11.2f}"
            )
    print(f"\n{'median over rounds':34}{'this':>10}{'other':>10}")
    lines = [
        ("throughput vs direct, C=1", "throughput_ratio_c1", ".2f"),
        ("throughput vs direct, C=16", "throughput_ratio_c16", ".2f"),
        ("added p50 ms vs direct, C=1", "added_p50_ms_c1", ".2f"),
        ("start-up s", "startup_s", ".2f"),
        ("RSS MB after start-up", "rss_mb", ".0f"),
        ("errors", "errors", "d"),
    ]
    for label, key, spec in lines:
        print(f"  {label:32}{this[key]:>10{spec}}{other[key]:>10{spec}}")
    print(f"\n{'this build / other build':34}{'median':>10}   rounds from .. to")
    headline = [
        ("throughput, C=1", "this_over_other_c1", "", "x"),
        ("throughput, C=16", "this_over_other_c16", "", "x"),
        ("added p50 ms, this - other, C=1", "added_p50_diff_ms_c1", "+", " "),
    ]
    for label, key, sign, unit in headline:
        low, high = report["ranges_over_rounds"][key]
        print(f"  {label:32}{report[key]:>{sign}10.3f}{unit}  {low:{sign}.3f} .. {high:{sign}.3f}")
    for name, (mine_version, their_version) in report["dependency_differences"].items():
        print(f"  note: {name} is {mine_version} here and {their_version} in the other build's virtualenv")


def main(args: argparse.Namespace) -> None:
    """Run the comparison, print the table and write the JSON report."""
    out: Path = args.out or HERE / "results" / "against.json"
    try:
        report = asyncio.run(compare(args))
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("interrupted; servers stopped and the temporary worktree removed", file=sys.stderr)
        raise SystemExit(130) from None
    except RuntimeError as exc:  # a bad ref, a failed install, a server that does not start: the message says which
        print(f"bench.run --against: error: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
    _print(report)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {out}")
