"""The ``Monitor`` contract (the admin console's summaries of live interviews), on every
backend of this pass: the in-process store always; Redis and a local Redis Cluster as well
with ``TEST_BACKEND=services``."""

from __future__ import annotations

import asyncio
import itertools
import uuid

import pytest

from server.interview.monitor import HEARTBEAT_S, INTERVAL_S, heartbeats_due
from server.live.redis import redis_live_store
from tests.live.conftest import Live, Recorder, open_live


async def _listening(live: Live) -> None:
    # Subscribing to an interview returns once the subscription (control channel included)
    # is in effect: from then on, whatever is published is delivered.
    await live.new()


async def test_published_entries_are_stored_and_the_payload_reaches_the_listener(
    live: Live,
) -> None:
    await _listening(live)
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    await live.store.monitor.publish({a: "A1", b: "B1"}, [], "first")
    await live.recorder.wait_for(lambda: live.recorder.monitor == ["first"])
    assert await live.store.monitor.entries() == {a: "A1", b: "B1"}

    await live.store.monitor.publish({a: "A2"}, [b], "second")
    await live.recorder.wait_for(lambda: live.recorder.monitor == ["first", "second"])
    assert await live.store.monitor.entries() == {a: "A2"}

    await live.store.monitor.forget([a, str(uuid.uuid4())])
    assert await live.store.monitor.entries() == {}


async def test_a_payload_with_nothing_stored_still_reaches_the_listener(live: Live) -> None:
    await _listening(live)
    await live.store.monitor.publish({}, [], "empty")
    await live.recorder.wait_for(lambda: live.recorder.monitor == ["empty"])
    assert await live.store.monitor.entries() == {}


async def test_every_process_of_a_deployment_receives_what_one_publishes(
    redis_live: Live, request: pytest.FixtureRequest, redis_prefix: str
) -> None:
    """Another store with the same prefix (another process) sees the same entries and
    payloads; a store with another prefix (another deployment) sees nothing."""
    assert redis_live.url is not None
    peer = redis_live_store(redis_live.url, prefix=redis_live.prefix)
    heard = Recorder()
    await peer.events.start(heard.listener())
    try:
        await peer.events.subscribe([str(uuid.uuid4())])
        async with open_live(redis_live.kind, request, redis_prefix) as elsewhere:
            await _listening(elsewhere)
            interview = str(uuid.uuid4())
            await redis_live.store.monitor.publish({interview: "S"}, [], "update")
            await heard.wait_for(lambda: heard.monitor == ["update"])
            assert await peer.monitor.entries() == {interview: "S"}
            assert await elsewhere.store.monitor.entries() == {}
            await elsewhere.recorder.quiet()
            assert elsewhere.recorder.monitor == []
    finally:
        await peer.close()


def test_unchanged_summaries_are_republished_a_quarter_at_a_time_oldest_first() -> None:
    """A process driving hundreds of interviews never rebuilds every summary in one round:
    a burst of starts, all first published together, spreads over four rounds and stays
    spread, and each summary is still republished about every ``HEARTBEAT_S``."""
    ids = [f"i{n:03}" for n in range(100)]
    published_at = dict.fromkeys(ids, 0.0)  # all published in the same round
    now = 0.0
    assert heartbeats_due(published_at, ids, len(ids), now + HEARTBEAT_S - 0.01) == []
    rounds: list[list[str]] = []
    last_seen: dict[str, list[float]] = {iid: [0.0] for iid in ids}
    now = HEARTBEAT_S
    while now < 10 * HEARTBEAT_S:
        due = heartbeats_due(published_at, ids, len(ids), now)
        rounds.append(due)
        for iid in due:
            published_at[iid] = now
            last_seen[iid].append(now)
        now += INTERVAL_S
    assert max(len(due) for due in rounds) == 25  # a quarter of all
    # The first four rounds cover everyone once.
    assert sorted(iid for due in rounds[:4] for iid in due) == ids
    # Spread: every later round republishes the same share, never all at once.
    assert all(len(due) == 25 for due in rounds[4:])
    for iid in ids:
        times = last_seen[iid]
        gaps = [b - a for a, b in itertools.pairwise(times[1:])]
        assert gaps and all(gap == HEARTBEAT_S for gap in gaps), (iid, times)
    # The oldest first: a summary republished long ago goes before a recent one.
    published_at["i050"] = -100.0
    assert heartbeats_due(published_at, ids, len(ids), now)[0] == "i050"
    # Only unchanged ones are asked about (changed ones are published anyway); and one
    # interview alone is still republished.
    assert heartbeats_due({"x": 0.0}, ["x"], 1, HEARTBEAT_S) == ["x"]
    assert heartbeats_due({"x": 0.0}, [], 1, HEARTBEAT_S) == []


async def test_a_round_over_thousands_of_runners_yields_to_the_streams_meanwhile() -> None:
    """Looking at every runner is a few µs each; thousands of them in one pass held every
    stream of the process for ~17 ms twice a second. The round lets the loop run between
    slices, also when nothing changed."""
    from types import SimpleNamespace
    from typing import Any

    from server.interview.monitor import SCAN_SLICE, MonitorPublisher
    from server.interview.state import LiveState
    from server.live.fanout import Fanout
    from server.live.memory import memory_live_store
    from server.protocol import Phase
    from server.store.models import InterviewStatus

    store = memory_live_store()
    count = SCAN_SLICE * 8
    owner = str(uuid.uuid4())
    state = LiveState(
        epoch="e",
        owner_id=owner,
        status=InterviewStatus.live,
        phase=Phase.listening,
        turn=0,
        kind="question",
        question_number=1,
        question_count=3,
        follow_ups=0,
        question_id=None,
        provider="offline",
        model="rules",
        offline=True,
    )
    runners = [
        SimpleNamespace(
            interview_id=str(uuid.uuid4()),
            owner_email="candidate@example.com",
            state=state,
            brief=SimpleNamespace(track="backend", level="mid"),
            last_event_ms=0,
            started_ms=0,
        )
        for _ in range(count)
    ]
    publisher = MonitorPublisher(store)
    sessions: Any = SimpleNamespace(
        runners=lambda: runners, fanout=Fanout(store.events), holder="here"
    )
    publisher.sessions = sessions
    await publisher.publish_once()  # every summary is new: published
    assert len(await store.monitor.entries()) == count

    turns = 0

    async def ticker() -> None:
        nonlocal turns
        while True:
            turns += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    before = turns
    await publisher.publish_once()  # nothing changed, no heartbeat due yet
    during = turns - before
    task.cancel()
    assert during >= 2 * (count // SCAN_SLICE - 1)  # both passes over the runners, sliced
