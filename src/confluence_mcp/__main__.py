"""Run the command line: ``python -m confluence_mcp``."""

from confluence_mcp.cli import main

raise SystemExit(main())
