"""The steps of a tools/call, one module each; their order is in ``pipeline/order.py``."""
