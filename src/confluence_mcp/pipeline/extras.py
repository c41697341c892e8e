"""Every tool the server adds to those generated from the OpenAPI documents."""

from __future__ import annotations

from typing import Final

from confluence_mcp.pipeline.attachment_download import DOWNLOAD
from confluence_mcp.pipeline.chatgpt_tools import EXTRA_TOOLS, ExtraTool

SERVER_TOOLS: Final[tuple[ExtraTool, ...]] = (*EXTRA_TOOLS, DOWNLOAD)
"""ChatGPT's ``search`` and ``fetch``, and ``confluence_attachments_download``, in tools/list order."""
