"""The ``Monitor`` contract (the admin console's summaries of live interviews), on every
backend of this pass: the in-process store always; Redis and a local Redis Cluster as well
with ``TEST_BACKEND=services``."""

from __future__ import annotations

import uuid

import pytest

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
