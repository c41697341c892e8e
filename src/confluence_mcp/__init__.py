"""confluence-mcp: Confluence Cloud as MCP tools, filtered per secret URL."""

__version__ = "0.1.0"

__all__ = ["__version__"]
