"""Stopping background tasks so that shutdown cannot hang on one."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Collection
from typing import Any

log = logging.getLogger(__name__)

RECANCEL_S = 0.25


async def cancel_and_wait(task: asyncio.Task[Any]) -> None:
    """Cancel ``task`` and wait for it to end; a failure it ended with is raised.

    The caller's own cancellation while it waits is not swallowed with the task's:
    ``suppress(CancelledError)`` around the await swallows both, and a runner being
    stopped while it stopped its generation ran on as if nothing had happened.
    """
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise


async def stop_task(task: asyncio.Task[Any] | None, *, within_s: float) -> bool:
    """Cancel ``task`` and wait for it to finish, at most ``within_s`` seconds; whether it did.

    Cancelled again every ``RECANCEL_S`` while it runs: on Python 3.11 a cancellation that
    arrives as an ``asyncio.wait_for`` inside the task completes is lost (CPython gh-86296;
    redis-py and asyncpg use ``wait_for``), and a loop that only stops when cancelled then
    runs on, so awaiting it held a process's shutdown until it was killed.
    """
    left = await stop_tasks([] if task is None else [task], within_s=within_s)
    if left:
        log.warning("a background task did not stop", extra={"task": left[0].get_name()})
    return not left


async def stop_tasks(
    tasks: Collection[asyncio.Task[Any]],
    *,
    within_s: float,
    again: Callable[[asyncio.Task[Any]], bool] = lambda task: True,
) -> list[asyncio.Task[Any]]:
    """Cancel ``tasks`` and wait for them to finish, at most ``within_s`` seconds; those
    that did not. Each still running is cancelled again every ``RECANCEL_S`` (see
    ``stop_task``) while ``again(task)``: false for one busy with a clean-up it shields,
    which a second cancellation would leave running unawaited."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    for task in tasks:
        task.cancel()
    left = [task for task in tasks if not task.done()]
    while left:
        remaining = deadline - loop.time()
        if remaining <= 0:
            break
        await asyncio.wait(left, timeout=min(remaining, RECANCEL_S))
        left = [task for task in left if not task.done()]
        for task in left:
            if again(task):
                task.cancel()
    for task in tasks:
        if task.done():
            with contextlib.suppress(asyncio.CancelledError, Exception):
                task.result()  # retrieved, so it is not reported as never retrieved
    return left
