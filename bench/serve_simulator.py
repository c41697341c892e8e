"""Serve the Confluence simulator with uvicorn (uvloop and httptools when installed), for the benchmark."""

from __future__ import annotations

import argparse

import uvicorn

from confluence_mcp.simulator import create_simulator


def main() -> None:
    """Run the simulator on 127.0.0.1:PORT until terminated."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    simulator = create_simulator(log_limit=1000)
    uvicorn.run(simulator.app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
