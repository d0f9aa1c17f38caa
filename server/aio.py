"""Stopping background tasks so that shutdown cannot hang on one."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

log = logging.getLogger(__name__)

RECANCEL_S = 0.25


async def stop_task(task: asyncio.Task[Any] | None, *, within_s: float) -> bool:
    """Cancel ``task`` and wait for it to finish, at most ``within_s`` seconds; whether it did.

    Cancelled again every ``RECANCEL_S`` while it runs: on Python 3.11 a cancellation that
    arrives as an ``asyncio.wait_for`` inside the task completes is lost (CPython gh-86296;
    redis-py and asyncpg use ``wait_for``), and a loop that only stops when cancelled then
    runs on, so awaiting it held a process's shutdown until it was killed.
    """
    if task is None:
        return True
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    while not task.done():
        remaining = deadline - loop.time()
        if remaining <= 0:
            log.warning("a background task did not stop", extra={"task": task.get_name()})
            return False
        task.cancel()
        await asyncio.wait({task}, timeout=min(remaining, RECANCEL_S))
    with contextlib.suppress(asyncio.CancelledError, Exception):
        task.result()  # retrieved, so it is not reported as never retrieved
    return True
