"""The ``Monitor`` contract (the admin console's summaries of live interviews), on every
backend of this pass: the in-process store always; Redis and a local Redis Cluster as well
with ``TEST_BACKEND=services``."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from types import SimpleNamespace
from typing import Any

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from server.interview.monitor import (
    EVENT_REFRESH_S,
    HEARTBEAT_S,
    INTERVAL_S,
    PRESENCE_POLL_S,
    SCAN_SLICE,
    STALE_MS,
    MonitorPublisher,
    fresh,
    refreshes_due,
)
from server.interview.state import LiveState
from server.live.base import LiveStore, MonitorEntries
from server.live.fanout import EventSink, Fanout
from server.live.memory import memory_live_store
from server.live.redis import redis_live_store
from server.protocol import MonitorUpdate, Phase, SessionSummary
from server.store.models import InterviewStatus
from tests.live.conftest import Live, Recorder, Sink, open_live


async def _listening(live: Live) -> None:
    # Subscribing to an interview returns once the subscription (control channel included)
    # is in effect: from then on, whatever is published is delivered.
    await live.new()


async def test_published_entries_are_stored_and_the_payload_reaches_the_listener(
    live: Live,
) -> None:
    await _listening(live)
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    monitor = live.store.monitor
    await monitor.publish({a: "A1", b: "B1"}, [], "first", process="p1", alive_ms=1_000)
    await live.recorder.wait_for(lambda: live.recorder.monitor == ["first"])
    assert await monitor.entries() == MonitorEntries({a: "A1", b: "B1"}, {"p1": 1_000})

    await monitor.publish({a: "A2"}, [b], "second", process="p2", alive_ms=2_000)
    await live.recorder.wait_for(lambda: live.recorder.monitor == ["first", "second"])
    assert await monitor.entries() == MonitorEntries({a: "A2"}, {"p1": 1_000, "p2": 2_000})

    # A process that leaves takes its sign of life along; one forgotten as stale too.
    await monitor.publish({}, [], "third", process="p2", alive_ms=None)
    assert await monitor.entries() == MonitorEntries({a: "A2"}, {"p1": 1_000})
    await monitor.forget([a, str(uuid.uuid4())], ["p1", "p9"])
    assert await monitor.entries() == MonitorEntries({}, {})


async def test_a_payload_with_nothing_stored_still_reaches_the_listener(live: Live) -> None:
    await _listening(live)
    await live.store.monitor.publish({}, [], "empty", process="p", alive_ms=5)
    await live.recorder.wait_for(lambda: live.recorder.monitor == ["empty"])
    assert await live.store.monitor.entries() == MonitorEntries({}, {"p": 5})


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
            await redis_live.store.monitor.publish(
                {interview: "S"}, [], "update", process="p", alive_ms=7
            )
            await heard.wait_for(lambda: heard.monitor == ["update"])
            assert await peer.monitor.entries() == MonitorEntries({interview: "S"}, {"p": 7})
            assert await elsewhere.store.monitor.entries() == MonitorEntries({}, {})
            await elsewhere.recorder.quiet()
            assert elsewhere.recorder.monitor == []
    finally:
        await peer.close()


def test_summaries_whose_only_news_is_their_latest_event_are_republished_spread_out() -> None:
    """A process streaming hundreds of interviews never rebuilds every summary in one round:
    a burst of starts, all first published together, spreads over ten rounds and stays
    spread, and each is republished about every ``EVENT_REFRESH_S`` while it has events."""
    ids = [f"i{n:03}" for n in range(100)]
    published_at = dict.fromkeys(ids, 0.0)  # all published in the same round
    now = 0.0
    assert refreshes_due(published_at, ids, len(ids), now + EVENT_REFRESH_S - 0.01) == []
    rounds: list[list[str]] = []
    last_seen: dict[str, list[float]] = {iid: [0.0] for iid in ids}
    now = EVENT_REFRESH_S
    while now < 6 * EVENT_REFRESH_S:
        due = refreshes_due(published_at, ids, len(ids), now)
        rounds.append(due)
        for iid in due:
            published_at[iid] = now
            last_seen[iid].append(now)
        now += INTERVAL_S
    share = len(ids) * INTERVAL_S / EVENT_REFRESH_S
    assert max(len(due) for due in rounds) == share  # a tenth of all
    per_cycle = round(EVENT_REFRESH_S / INTERVAL_S)
    # The first cycle covers everyone once; every later round republishes the same share.
    assert sorted(iid for due in rounds[:per_cycle] for iid in due) == ids
    assert all(len(due) == share for due in rounds[per_cycle:])
    for iid in ids:
        times = last_seen[iid]
        gaps = [b - a for a, b in itertools.pairwise(times[1:])]
        assert gaps and all(gap == pytest.approx(EVENT_REFRESH_S) for gap in gaps), (iid, times)
    # The oldest first: a summary republished long ago goes before a recent one.
    published_at["i050"] = -100.0
    assert refreshes_due(published_at, ids, len(ids), now)[0] == "i050"
    # Only candidates are asked about; one interview alone is still republished.
    assert refreshes_due({"x": 0.0}, ["x"], 1, EVENT_REFRESH_S) == ["x"]
    assert refreshes_due({"x": 0.0}, [], 1, EVENT_REFRESH_S) == []


def _summary(process: str, seen_ms: int) -> str:
    return SessionSummary(
        interview_id=str(uuid.uuid4()),
        owner_id=str(uuid.uuid4()),
        track="backend",
        level="mid",
        phase=Phase.listening,
        question_number=1,
        question_count=3,
        turn=1,
        connected=True,
        process=process,
        provider="offline",
        model="rules",
        tokens_in=0,
        tokens_out=0,
        cost_usd=0.0,
        last_ttft_ms=None,
        last_event_ms=seen_ms,
        started_ms=seen_ms,
        seen_ms=seen_ms,
    ).model_dump_json()


def test_a_summary_is_live_while_its_process_or_its_own_publication_is_recent() -> None:
    """Unchanged summaries are not republished: a summary published long ago stays while
    its process says it is running; once neither is under ``STALE_MS`` old it is stale,
    and so is the process. A summary from a process that never says it is running (an
    older version, republishing each summary as its own heartbeat) lives by ``seen_ms``."""
    now = 1_000_000
    quiet = _summary("running", now - 60_000)  # unchanged for a minute
    recent = _summary("crashed", now - 1_000)
    orphan = _summary("crashed", now - STALE_MS - 1)
    older = _summary("older-version", now - 2_000)
    gone = _summary("older-version", now - STALE_MS - 1)
    broken = "{not json"
    entries = MonitorEntries(
        {"q": quiet, "r": recent, "o": orphan, "v": older, "g": gone, "b": broken},
        {"running": now - 1_500, "crashed": now - STALE_MS - 1},
    )
    live = fresh(entries, now)
    assert sorted(live.sessions) == ["q", "r", "v"]
    assert sorted(live.stale) == ["b", "g", "o"]
    assert live.alive == {"running": now - 1_500}
    assert live.stale_processes == ["crashed"]
    # Two seconds later than a heartbeat that did not come, the quiet one goes too.
    later = fresh(entries, now - 1_500 + STALE_MS + 1)
    assert "q" not in later.sessions and "q" in later.stale


class _Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def _runners(count: int) -> list[Any]:
    owner = str(uuid.uuid4())
    return [
        SimpleNamespace(
            interview_id=str(uuid.uuid4()),
            owner_email="candidate@example.com",
            state=_state(owner),
            brief=SimpleNamespace(track="backend", level="mid"),
            last_event_ms=0,
            started_ms=0,
        )
        for _ in range(count)
    ]


def _state(owner: str, **changes: Any) -> LiveState:
    fields: dict[str, Any] = {
        "epoch": "e",
        "owner_id": owner,
        "status": InterviewStatus.live,
        "phase": Phase.listening,
        "turn": 0,
        "kind": "question",
        "question_number": 1,
        "question_count": 3,
        "follow_ups": 0,
        "question_id": None,
        "provider": "offline",
        "model": "rules",
        "offline": True,
    }
    return LiveState(**(fields | changes))


class _Sessions:
    """What the publisher asks of the session manager: its runners by id, its fan-out, and
    whom to tell (``on_change``) when a runner takes an interview, emits or ends."""

    def __init__(self, store: LiveStore, runners: list[Any]) -> None:
        self.fanout = Fanout(store.events)
        self.holder = "here"
        self.on_change: Any = lambda interview_id: None
        self.by_id = {runner.interview_id: runner for runner in runners}
        self.lookups = 0

    def runner(self, interview_id: str) -> Any:
        self.lookups += 1
        return self.by_id.get(interview_id)

    def changed(self, runner: Any) -> None:
        self.on_change(runner.interview_id)

    def ended(self, runner: Any) -> None:
        del self.by_id[runner.interview_id]
        self.on_change(runner.interview_id)


def _publisher(store: LiveStore, runners: list[Any], clock: _Clock) -> MonitorPublisher:
    publisher = MonitorPublisher(store, clock=clock)
    sessions: Any = _Sessions(store, runners)
    publisher.attach(sessions)
    for runner in runners:  # each took its interview
        sessions.changed(runner)
    return publisher


async def test_only_what_changed_is_republished_and_the_process_says_it_is_running() -> None:
    """Rounds publish the summaries that changed; an unchanged one is not published again
    (its process's ``alive`` keeps it live), one whose interview had events since is
    refreshed every ``EVENT_REFRESH_S``, and a process with nothing to say still says it
    is running every ``HEARTBEAT_S``. Closing removes its summaries and its sign of life."""
    store = memory_live_store()
    heard = Recorder()
    await store.events.start(heard.listener())
    runners, clock = _runners(3), _Clock()
    publisher = _publisher(store, runners, clock)

    async def round_() -> MonitorUpdate | None:
        before = len(heard.monitor)
        await publisher.publish_once()
        await asyncio.sleep(0)  # the in-process listener is called soon
        if len(heard.monitor) == before:
            return None
        return MonitorUpdate.model_validate_json(heard.monitor[-1])

    start = clock.now
    first = await round_()
    assert first is not None and len(first.sessions) == 3
    assert list(first.alive) == ["here"] and first.alive["here"] == first.at_ms
    clock.now += INTERVAL_S
    assert await round_() is None  # nothing changed, the process spoke just now

    clock.now += HEARTBEAT_S  # nothing changed for a while: only a sign of life
    beat = await round_()
    assert beat is not None and beat.sessions == [] and beat.removed == []
    assert list(beat.alive) == ["here"]
    stored = await store.monitor.entries()
    assert stored.alive == {"here": beat.at_ms} and len(stored.summaries) == 3

    # A new phase goes out at once; an interview that only streamed waits its refresh.
    sessions = publisher.sessions
    assert isinstance(sessions, _Sessions)
    runners[0].state = _state(runners[0].state.owner_id, phase=Phase.scoring)
    sessions.changed(runners[0])
    runners[1].last_event_ms = 5
    sessions.changed(runners[1])
    clock.now += INTERVAL_S
    changed = await round_()
    assert changed is not None
    assert [(s.interview_id, s.phase) for s in changed.sessions] == [
        (runners[0].interview_id, Phase.scoring)
    ]
    clock.now = start + EVENT_REFRESH_S - 0.1  # not yet: it was published at the start
    assert await round_() is None
    clock.now = start + EVENT_REFRESH_S
    refreshed = await round_()
    assert refreshed is not None
    assert [(s.interview_id, s.last_event_ms) for s in refreshed.sessions] == [
        (runners[1].interview_id, 5)
    ]

    # An interview that stopped being driven here is removed.
    left = runners.pop()
    sessions.ended(left)
    clock.now += INTERVAL_S
    removal = await round_()
    assert removal is not None and removal.removed == [left.interview_id]
    assert left.interview_id not in (await store.monitor.entries()).summaries

    await publisher.close()
    assert await store.monitor.entries() == MonitorEntries({}, {})
    await store.close()


async def test_a_round_looks_only_at_the_interviews_something_happened_to() -> None:
    """A process driving thousands of interviews looked at every runner twice a second
    (~13 ms of its loop a round, and 1.5 ms on the token latency p99 of its streams). A
    round now looks up only the runners it was told of; the candidates connected
    elsewhere are asked of the live store in one call."""
    store = memory_live_store()
    runners, clock = _runners(SCAN_SLICE * 4), _Clock()
    publisher = _publisher(store, runners, clock)
    sessions = publisher.sessions
    assert isinstance(sessions, _Sessions)
    await publisher.publish_once()
    assert len((await store.monitor.entries()).summaries) == len(runners)

    sessions.lookups = 0
    clock.now += INTERVAL_S
    await publisher.publish_once()
    assert sessions.lookups == 0

    runners[7].state = _state(runners[7].state.owner_id, question_number=2)
    sessions.changed(runners[7])
    clock.now += INTERVAL_S
    await publisher.publish_once()
    assert sessions.lookups == 1
    stored = SessionSummary.model_validate_json(
        (await store.monitor.entries()).summaries[runners[7].interview_id]
    )
    assert stored.question_number == 2

    # A candidate connecting on another process is seen from the live store's presence,
    # asked about each such interview in turn, within ``PRESENCE_POLL_S``.
    await store.leases.touch_presence([runners[9].interview_id], 10_000)
    for _ in range(round(PRESENCE_POLL_S / INTERVAL_S)):
        clock.now += INTERVAL_S
        await publisher.publish_once()
    assert sessions.lookups == 2
    stored = SessionSummary.model_validate_json(
        (await store.monitor.entries()).summaries[runners[9].interview_id]
    )
    assert stored.connected
    await store.close()


async def test_presence_elsewhere_is_asked_a_share_at_a_time_and_at_once_when_one_leaves() -> None:
    """A process whose candidates are connected elsewhere asked the live store about every
    one of them twice a second. Each is asked every ``PRESENCE_POLL_S`` now (a share a
    round), and one whose candidate just left this process is asked at once."""
    store = memory_live_store()
    count = 400
    runners, clock = _runners(count), _Clock()
    publisher = _publisher(store, runners, clock)
    sessions = publisher.sessions
    assert isinstance(sessions, _Sessions)
    here = runners[0].interview_id
    socket: EventSink = Sink("candidate")
    await sessions.fanout.join(here, socket)
    asked: list[list[str]] = []
    present = store.leases.present

    async def counted(interview_ids: Any) -> set[str]:
        asked.append(list(interview_ids))
        return await present(interview_ids)

    store.leases.present = counted  # type: ignore[method-assign]
    await publisher.publish_once()  # the first round: every one is new elsewhere
    assert len(asked[-1]) == count - 1 and here not in asked[-1]

    rounds = round(PRESENCE_POLL_S / INTERVAL_S)
    share = -(-(count - 1) * INTERVAL_S // PRESENCE_POLL_S)
    seen: list[str] = []
    for _ in range(rounds):
        clock.now += INTERVAL_S
        await publisher.publish_once()
        assert len(asked[-1]) == share
        seen += asked[-1]
    assert set(seen) == {r.interview_id for r in runners[1:]}  # each, in turn
    assert len(seen) == rounds * share < 2 * (count - 1)

    # The candidate leaves this process and connects to another: asked at once.
    await sessions.fanout.leave(here, socket)
    sessions.changed(runners[0])
    await store.leases.touch_presence([here], 10_000)
    clock.now += INTERVAL_S
    await publisher.publish_once()
    assert asked[-1][0] == here and len(asked[-1]) == share + 1
    stored = SessionSummary.model_validate_json((await store.monitor.entries()).summaries[here])
    assert stored.connected
    await store.close()


async def test_a_round_the_live_store_fails_is_looked_at_again() -> None:
    """The interviews a failed round was told of are not forgotten: the next round
    publishes them."""
    unreachable = redis_live_store("redis://127.0.0.1:1/0", prefix="monitor-down:")
    runners, clock = _runners(2), _Clock()
    publisher = _publisher(unreachable, runners, clock)
    with pytest.raises(RedisConnectionError):
        await publisher.publish_once()
    await unreachable.close()
    store = memory_live_store()
    publisher.live = store  # the live store is back
    await publisher.publish_once()
    assert len((await store.monitor.entries()).summaries) == 2
    await store.close()


async def test_a_round_over_thousands_of_runners_yields_to_the_streams_meanwhile() -> None:
    """Thousands of interviews started at once are looked at in slices: the round lets the
    loop run between two, rather than hold every stream of the process."""
    store = memory_live_store()
    count = SCAN_SLICE * 8
    runners = _runners(count)
    publisher = _publisher(store, runners, _Clock())
    turns = 0

    async def ticker() -> None:
        nonlocal turns
        while True:
            turns += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    before = turns
    await publisher.publish_once()  # every summary is new: published
    during = turns - before
    task.cancel()
    assert len((await store.monitor.entries()).summaries) == count
    assert during >= 2 * (count // SCAN_SLICE - 1)  # both passes over the runners, sliced
