"""The call pipeline: every tools/call, whichever transport carried it, runs the same ordered steps.

The order is written once, in ``order.py``. A step is a small class with one job (``steps/*.py``), an
observer sees every finished call (``observers/*.py``); adding either is one module plus one line there.
"""

from confluence_mcp.pipeline.context import Call
from confluence_mcp.pipeline.order import build_pipeline
from confluence_mcp.pipeline.runner import Pipeline

__all__ = ["Call", "Pipeline", "build_pipeline"]
