"""Stopping a background task cannot hang a shutdown."""

from __future__ import annotations

import asyncio
from typing import Any

from server.aio import RECANCEL_S, stop_task, stop_tasks


async def test_a_loop_that_lost_its_cancellation_is_stopped_all_the_same() -> None:
    """On Python 3.11 a cancellation can be lost inside ``asyncio.wait_for``; the loop it
    was meant to stop runs on. Cancelling once and awaiting it would wait forever."""
    rounds = 0
    swallowed = 0

    async def loop() -> None:
        nonlocal rounds, swallowed
        while True:
            rounds += 1
            try:
                await asyncio.sleep(0.01)
            except asyncio.CancelledError:
                if swallowed == 0:  # as a lost cancellation: the loop goes on
                    swallowed += 1
                    continue
                raise

    task = asyncio.create_task(loop())
    await asyncio.sleep(0.05)
    started = asyncio.get_running_loop().time()
    assert await stop_task(task, within_s=5)
    assert task.cancelled() and swallowed == 1
    assert asyncio.get_running_loop().time() - started < 5 * RECANCEL_S


async def test_a_task_that_will_not_stop_is_left_after_the_time_allowed() -> None:
    release = asyncio.Event()

    async def stubborn() -> None:
        while not release.is_set():
            try:
                await asyncio.sleep(1)
            except asyncio.CancelledError:
                continue

    task = asyncio.create_task(stubborn())
    await asyncio.sleep(0)
    started = asyncio.get_running_loop().time()
    assert not await stop_task(task, within_s=0.3)
    assert 0.3 <= asyncio.get_running_loop().time() - started < 1.0
    assert not task.done()
    release.set()
    task.cancel()
    await asyncio.wait({task}, timeout=2)
    assert task.done()


async def test_a_finished_or_missing_task_is_stopped_at_once() -> None:
    async def fails() -> None:
        raise RuntimeError("already failed")

    task = asyncio.create_task(fails())
    await asyncio.sleep(0)
    assert await stop_task(task, within_s=1)  # its error is retrieved, not re-raised
    assert await stop_task(None, within_s=1)


async def test_tasks_are_stopped_together_and_a_shielded_clean_up_is_not_cut_short() -> None:
    """``stop_tasks`` (a process handing back every interview it drives) cancels each task
    again while it runs on, except one busy with a clean-up it shields: cancelling that
    again would end the task while its clean-up (handing the lease back) runs unawaited."""
    swallowed = 0
    cleaning: set[asyncio.Task[Any] | None] = set()
    cleaned = asyncio.Event()

    async def loses_its_cancellation() -> None:
        nonlocal swallowed
        while True:
            try:
                await asyncio.sleep(0.01)
            except asyncio.CancelledError:
                if swallowed == 0:
                    swallowed += 1
                    continue
                raise

    async def clean_up() -> None:
        await asyncio.sleep(3 * RECANCEL_S)
        cleaned.set()

    async def cleans_up_when_stopped() -> None:
        try:
            await asyncio.sleep(60)
        finally:
            cleaning.add(asyncio.current_task())
            await asyncio.shield(clean_up())

    tasks = [
        asyncio.create_task(loses_its_cancellation()),
        asyncio.create_task(cleans_up_when_stopped()),
        asyncio.create_task(asyncio.sleep(60)),
    ]
    await asyncio.sleep(0.05)
    left = await stop_tasks(tasks, within_s=5, again=lambda task: task not in cleaning)
    assert left == [] and all(task.done() for task in tasks)
    assert swallowed == 1
    assert cleaned.is_set()  # the task ended after its clean-up, not cancelled out of it
