"""The answer to each MCP method, computed once: the lean path serializes it, the SDK path wraps it."""

from confluence_mcp.rpc.answers import Answers, ToolsPage

__all__ = ["Answers", "ToolsPage"]
