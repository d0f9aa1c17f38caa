"""Stopping a background task cannot hang a shutdown."""

from __future__ import annotations

import asyncio
from typing import Any

from server.aio import RECANCEL_S, cancel_and_wait, stop_task, stop_tasks


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


async def test_stopping_a_task_does_not_swallow_the_callers_own_cancellation() -> None:
    """A runner stops its generation (the candidate interrupted) and is itself stopped
    while the generation winds down: the runner must end, not run on as if only the
    generation had been cancelled."""
    winding_down = asyncio.Event()

    async def generation() -> None:
        try:
            await asyncio.sleep(10)
        finally:
            winding_down.set()
            await asyncio.sleep(0.05)  # its last words are queued on the way out

    async def runner(generating: asyncio.Task[None]) -> str:
        await cancel_and_wait(generating)
        return "ran on"

    generating = asyncio.create_task(generation())
    await asyncio.sleep(0)  # streaming
    stopping = asyncio.create_task(runner(generating))
    async with asyncio.timeout(2):
        await winding_down.wait()
    stopping.cancel()
    await asyncio.wait({stopping}, timeout=2)
    assert stopping.cancelled()

    # Alone, the generation's cancellation ends at the caller; its failure does not.
    winding_down.clear()
    generating = asyncio.create_task(generation())
    await asyncio.sleep(0)
    assert await runner(generating) == "ran on"
    assert winding_down.is_set()

    async def fails_on_the_way_out() -> None:
        try:
            await asyncio.sleep(10)
        finally:
            raise RuntimeError("the stream broke")

    task = asyncio.create_task(fails_on_the_way_out())
    await asyncio.sleep(0)
    try:
        await cancel_and_wait(task)
    except RuntimeError as exc:
        assert str(exc) == "the stream broke"
    else:
        raise AssertionError("the failure was swallowed")
