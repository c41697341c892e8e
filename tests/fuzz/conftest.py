"""One running stack per fuzz module, on its own thread, with fair-share caps off."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.support.stack import Stack
from tests.support.threaded import NO_CAPS, stack_in_thread


@pytest.fixture(scope="module")
def fuzz_stack() -> Iterator[Stack]:
    """The simulator and our server with fair-share caps off, SDK loaded."""
    with stack_in_thread(limits=NO_CAPS) as stack:
        yield stack


@pytest.fixture(scope="module")
def client(fuzz_stack: Stack) -> Iterator[httpx.Client]:
    """A synchronous client for the fuzz stack's base URL."""
    with httpx.Client(base_url=fuzz_stack.base_url, timeout=30) as client:
        yield client
