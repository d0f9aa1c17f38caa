"""The live store's contract, one class per protocol (EventLog, Leases, CommandInbox,
Counters), run on every backend of this pass: the in-process store always; Redis and a
local three-master Redis Cluster as well with ``TEST_BACKEND=services``."""

from __future__ import annotations

import asyncio
import logging
import uuid

import pytest
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.crc import key_slot

from server.live.base import LogRead, TextUpdate
from server.live.memory import memory_live_store
from server.live.redis import _MANY_CALLS, _SLICE, RedisKeys, redis_live_store
from tests.live.conftest import (
    Live,
    Recorder,
    cluster_client,
    keys_by_node,
    open_live,
    raw_client,
)

KINDS_OF_KEY = ("s", "t", "l", "c", "f", "lease", "pres")  # every key of one interview


def _ids(n: int) -> list[str]:
    return [str(uuid.uuid4()) for _ in range(n)]


class TestEventLog:
    async def test_appends_are_logged_published_and_change_state_together(self, live: Live) -> None:
        events, recorder = live.store.events, live.recorder
        iid = await live.new("s0")
        before = await events.snapshot(iid)
        assert before is not None and (before.seq, before.state, before.text) == (0, "s0", "")
        events.append(iid, 1, '{"n":1}', "s1", TextUpdate("s", "Hello"))
        events.append(iid, 2, '{"n":2}', None, TextUpdate("a", ", world"))  # None keeps s1
        events.append(iid, 3, '{"n":3}', "s3")  # the text is kept by default
        await events.flush()
        await recorder.wait_for(lambda: len(recorder.events) == 3)
        assert recorder.events == [(iid, 1, '{"n":1}'), (iid, 2, '{"n":2}'), (iid, 3, '{"n":3}')]
        after = await events.snapshot(iid)
        assert after is not None
        assert (after.seq, after.state, after.text) == (3, "s3", "Hello, world")
        assert after.active_ms >= before.active_ms
        read = await events.read_log(iid, 0)
        assert [(e.seq, e.payload) for e in read.entries] == [
            (1, '{"n":1}'),
            (2, '{"n":2}'),
            (3, '{"n":3}'),
        ]
        assert read.oldest_seq == 1
        assert [e.seq for e in (await events.read_log(iid, 1)).entries] == [2, 3]
        assert (await events.read_log(iid, 3)).entries == []

    async def test_failures_are_counted_beside_the_state_and_vanish_with_it(
        self, live: Live
    ) -> None:
        events = live.store.events
        assert await events.record_failure(str(uuid.uuid4())) == 0  # nothing live: no count
        iid = await live.new("s0")
        assert (await events.snapshot(iid)).failures == 0  # type: ignore[union-attr]
        assert [await events.record_failure(iid) for _ in range(3)] == [1, 2, 3]
        events.append(iid, 1, "a", "s1")  # progress does not reset it
        await events.flush()
        snapshot = await events.snapshot(iid, with_facts=True)
        assert snapshot is not None and (snapshot.state, snapshot.failures) == ("s1", 3)
        assert (await events.snapshots([iid]))[iid].failures == 3  # type: ignore[union-attr]

    async def test_a_revocation_reaches_every_process(self, live: Live) -> None:
        """Announced once, delivered to this process's listener (and any other's)."""
        await live.store.events.announce_revocation("user-1", 7)
        await live.recorder.wait_for(lambda: live.recorder.revoked == [("user-1", 7)])

    async def test_setting_the_text_replaces_it(self, live: Live) -> None:
        events = live.store.events
        iid = await live.new()
        events.append(iid, 1, "a", None, TextUpdate("a", "first turn"))
        events.append(iid, 2, "b", None, TextUpdate("s", ""))
        events.append(iid, 3, "c", None, TextUpdate("a", "second"))
        await events.flush()
        snapshot = await events.snapshot(iid)
        assert snapshot is not None and snapshot.text == "second"

    async def test_payloads_and_state_round_trip_exactly(self, live: Live) -> None:
        events, recorder = live.store.events, live.recorder
        iid = await live.new('{"phase": "waiting", "q": "naïve — 東京"}')
        payload = '{"text": "two words, spaces  and\\nnewlines", "emoji": "🎤"}'
        events.append(iid, 1, payload, '{"state": " leading space"}', TextUpdate("s", "é 🎤"))
        await events.flush()
        await recorder.wait_for(lambda: len(recorder.events) == 1)
        assert recorder.events == [(iid, 1, payload)]
        snapshot = await events.snapshot(iid)
        assert snapshot is not None
        assert (snapshot.state, snapshot.text) == ('{"state": " leading space"}', "é 🎤")
        assert [e.payload for e in (await events.read_log(iid, 0)).entries] == [payload]

    async def test_an_append_out_of_sequence_is_refused_and_reported(self, live: Live) -> None:
        """A process that lost its lease cannot write: its seq no longer follows the log."""
        events, recorder = live.store.events, live.recorder
        iid = await live.new()
        appended = events.append(iid, 1, "a", None)
        duplicate = events.append(iid, 1, "duplicate", "no")
        gap = events.append(iid, 3, "gap", "no")
        assert appended < duplicate < gap  # each append's place in line
        await events.flush()
        # Refusals come back with the pipeline, the event through pub/sub: wait for both.
        await recorder.wait_for(lambda: len(recorder.stale) == 2 and bool(recorder.events))
        await recorder.quiet()
        assert recorder.stale == [iid, iid]
        assert recorder.refused == [duplicate, gap]  # each refusal names its append
        assert [e.payload for e in (await events.read_log(iid, 0)).entries] == ["a"]
        snapshot = await events.snapshot(iid)
        assert snapshot is not None and (snapshot.seq, snapshot.state) == (1, "s0")
        assert recorder.events_of(iid) == [(1, "a")]

    async def test_an_append_to_an_interview_that_does_not_exist_is_refused(
        self, live: Live
    ) -> None:
        events, recorder = live.store.events, live.recorder
        iid = str(uuid.uuid4())
        await events.subscribe([iid])
        events.append(iid, 1, "orphan", "s")
        await events.flush()
        await recorder.wait_for(lambda: recorder.stale == [iid])
        assert await events.snapshot(iid) is None
        assert (await events.read_log(iid, 0)).entries == []

    async def test_creating_twice_keeps_the_first(self, live: Live) -> None:
        events = live.store.events
        iid = await live.new("first")
        events.append(iid, 1, "a", "after-a", TextUpdate("s", "text"))
        await events.flush()
        assert not await events.create(iid, "second")
        snapshot = await events.snapshot(iid)
        assert snapshot is not None
        assert (snapshot.seq, snapshot.state, snapshot.text) == (1, "after-a", "text")
        assert len((await events.read_log(iid, 0)).entries) == 1

    async def test_facts_are_kept_beside_the_state_and_read_only_when_asked_for(
        self, live: Live
    ) -> None:
        iid = await live.new("s0", facts="the brief")
        plain = await live.store.events.snapshot(iid)
        with_facts = await live.store.events.snapshot(iid, with_facts=True)
        assert plain is not None and with_facts is not None
        assert (plain.state, plain.facts) == ("s0", "")
        assert (with_facts.seq, with_facts.state, with_facts.facts) == (0, "s0", "the brief")

    async def test_a_prepared_interview_expires_unless_it_starts(self, live: Live) -> None:
        events = live.store.events
        idle, started = str(uuid.uuid4()), str(uuid.uuid4())
        for iid in (idle, started):
            assert await events.create(iid, "s0", facts="brief", ttl_s=1)
        events.append(started, 1, "first", "s1", TextUpdate("s", ""))
        await events.flush()
        await asyncio.sleep(1.6)
        assert await events.snapshot(idle) is None
        kept = await events.snapshot(started)
        assert kept is not None and (kept.seq, kept.state) == (1, "s1")

    async def test_an_unknown_interview_has_no_snapshot_and_an_empty_log(self, live: Live) -> None:
        iid = str(uuid.uuid4())
        assert await live.store.events.snapshot(iid) is None
        assert await live.store.events.read_log(iid, 0) == LogRead([], 0)
        assert await live.store.events.read_log(iid, 5) == LogRead([], 0)

    async def test_many_snapshots_in_one_call(self, live: Live) -> None:
        events = live.store.events
        ids = [await live.new(f"state-{n}") for n in range(12)]
        for n, iid in enumerate(ids):
            for seq in range(1, n + 2):
                events.append(iid, seq, f"e{seq}", None, TextUpdate("a", str(seq)))
        await events.flush()
        missing = str(uuid.uuid4())
        snapshots = await events.snapshots([*ids, missing])
        assert list(snapshots) == [*ids, missing]
        assert snapshots[missing] is None
        for n, iid in enumerate(ids):
            snapshot = snapshots[iid]
            assert snapshot is not None
            assert (snapshot.seq, snapshot.state) == (n + 1, f"state-{n}")
            assert snapshot.text == "".join(str(seq) for seq in range(1, n + 2))
            assert snapshot == await events.snapshot(iid)
        assert await events.snapshots([]) == {}

    async def test_appends_to_many_interviews_apply_in_call_order(self, live: Live) -> None:
        """One flush interleaving many interviews (spread over every shard of a cluster)."""
        events, recorder = live.store.events, live.recorder
        ids = [await live.new(subscribe=False) for _ in range(24)]
        await events.subscribe(ids)
        for seq in range(1, 21):
            for iid in ids:
                events.append(iid, seq, f"{iid[:4]}-{seq}", f"st{seq}", TextUpdate("a", "."))
        await events.flush()
        await recorder.wait_for(lambda: len(recorder.events) == 24 * 20, timeout=10)
        assert recorder.stale == []
        for iid in ids:
            expected = [(seq, f"{iid[:4]}-{seq}") for seq in range(1, 21)]
            assert recorder.events_of(iid) == expected
            assert [(e.seq, e.payload) for e in (await events.read_log(iid, 0)).entries] == (
                expected
            )
        for snapshot in (await events.snapshots(ids)).values():
            assert snapshot is not None
            assert (snapshot.seq, snapshot.state, snapshot.text) == (20, "st20", "." * 20)

    async def test_the_log_is_capped_and_reports_its_oldest_seq(self, live: Live) -> None:
        events = live.store.events
        iid = await live.new()
        for seq in range(1, 1001):
            events.append(iid, seq, f"e{seq}", None)
        await events.flush()
        read = await events.read_log(iid, 0)
        assert read.oldest_seq > 1  # trimmed (Redis trims approximately: at least the cap stays)
        assert 100 <= len(read.entries) <= 1000
        assert read.entries[-1].seq == 1000
        assert [e.seq for e in read.entries] == list(range(read.oldest_seq, 1001))
        assert [e.seq for e in (await events.read_log(iid, 995)).entries] == list(range(996, 1001))

    async def test_subscribing_to_many_interviews_in_one_call(self, live: Live) -> None:
        events, recorder = live.store.events, live.recorder
        ids = [await live.new(subscribe=False) for _ in range(10)]
        await events.subscribe(ids)
        await events.subscribe(ids[:3])  # subscribing again changes nothing
        await events.subscribe([])
        for iid in ids:
            events.append(iid, 1, f"hello {iid}", None)
        await events.flush()
        await recorder.wait_for(lambda: len(recorder.events) == len(ids))
        await recorder.quiet()
        assert sorted(recorder.events) == sorted((iid, 1, f"hello {iid}") for iid in ids)

    async def test_an_event_appended_right_after_subscribing_is_delivered(self, live: Live) -> None:
        """``subscribe`` returns once Redis has the subscription, not once it is sent."""
        events, recorder = live.store.events, live.recorder
        ids = [await live.new(subscribe=False) for _ in range(100)]
        for iid in ids:
            await events.subscribe([iid])
            events.append(iid, 1, "first", None)
        await events.flush()
        await recorder.wait_for(lambda: len(recorder.events) == len(ids))

    async def test_subscribing_right_after_start_is_delivered(self, live: Live) -> None:
        """The first subscription may race the listener's own: both use one connection."""
        for _ in range(10):
            await _subscribe_right_after_start(live)

    async def test_unsubscribed_interviews_are_not_delivered(self, live: Live) -> None:
        events, recorder = live.store.events, live.recorder
        iid = await live.new()
        await events.unsubscribe(iid)
        await events.unsubscribe(str(uuid.uuid4()))  # never subscribed: nothing happens
        other = await live.new()
        events.append(iid, 1, "quiet", None)
        events.append(other, 1, "loud", None)
        await events.reply(iid, "conn-1", "quiet reply")
        await events.poke(iid)
        await events.flush()
        await recorder.wait_for(lambda: bool(recorder.events_of(other)))
        await recorder.quiet()
        assert recorder.events_of(iid) == []
        assert recorder.replies == [] and recorder.pokes == []
        assert [e.payload for e in (await events.read_log(iid, 0)).entries] == ["quiet"]

    async def test_a_reply_reaches_the_listener_with_its_connection_id(self, live: Live) -> None:
        events, recorder = live.store.events, live.recorder
        iid = await live.new()
        await events.reply(iid, "conn-1", '{"type": "error", "message": "not your turn"}')
        await events.reply(iid, "c2", "")
        await recorder.wait_for(lambda: len(recorder.replies) == 2)
        assert recorder.replies == [
            (iid, "conn-1", '{"type": "error", "message": "not your turn"}'),
            (iid, "c2", ""),
        ]
        assert recorder.events == [] and recorder.pokes == []
        snapshot = await events.snapshot(iid)
        assert snapshot is not None and snapshot.seq == 0  # a reply is not an event

    async def test_a_poke_reaches_the_listener(self, live: Live) -> None:
        events, recorder = live.store.events, live.recorder
        iid = await live.new()
        await events.poke(iid)
        await recorder.wait_for(lambda: recorder.pokes == [iid])
        assert recorder.events == [] and recorder.replies == []

    async def test_expired_interviews_disappear(self, live: Live) -> None:
        events = live.store.events
        iid = await live.new()
        events.append(iid, 1, "end", None, TextUpdate("s", "bye"))
        await events.flush()
        await events.expire(iid, 1)
        assert await events.snapshot(iid) is not None  # until the ttl runs out
        await asyncio.sleep(1.2)
        assert await events.snapshot(iid) is None
        assert (await events.read_log(iid, 0)).entries == []
        assert await events.create(iid, "again")  # the id can start afresh

    async def test_flush_with_nothing_queued_returns(self, live: Live) -> None:
        async with asyncio.timeout(2):
            await live.store.events.flush()
        await live.store.ping()


async def _subscribe_right_after_start(live: Live) -> None:
    store = (
        memory_live_store() if live.url is None else redis_live_store(live.url, prefix=live.prefix)
    )
    recorder = Recorder()
    await store.events.start(recorder.listener())
    try:
        iid = str(uuid.uuid4())
        await store.events.subscribe([iid])
        assert await store.events.create(iid, "s0")
        store.events.append(iid, 1, "first", None)
        await store.events.flush()
        await recorder.wait_for(lambda: recorder.events == [(iid, 1, "first")])
    finally:
        await store.close()


class TestLeases:
    async def test_a_lease_has_one_holder_until_it_expires_or_is_released(self, live: Live) -> None:
        leases = live.store.leases
        iid = str(uuid.uuid4())
        assert await leases.holder(iid) is None
        assert await leases.acquire(iid, "a", 300)
        assert await leases.acquire(iid, "a", 300)  # re-acquiring your own lease is fine
        assert not await leases.acquire(iid, "b", 300)
        assert await leases.renew("a", [iid], 300) == {iid: True}
        assert await leases.renew("b", [iid], 300) == {iid: False}
        assert await leases.holder(iid) == "a"
        await leases.release(iid, "b")  # not b's to release
        assert await leases.holder(iid) == "a"
        await leases.release(iid, "a")
        assert await leases.holder(iid) is None
        assert await leases.acquire(iid, "b", 200)
        await asyncio.sleep(0.35)
        assert await leases.holder(iid) is None
        assert await leases.renew("b", [iid], 200) == {iid: False}  # too late to renew
        assert await leases.acquire(iid, "a", 200)

    async def test_a_start_claim_leases_only_a_prepared_interview_never_started(
        self, live: Live
    ) -> None:
        leases, events = live.store.leases, live.store.events
        assert await leases.claim_start(str(uuid.uuid4()), "a", 1000) is None  # nothing live
        prepared = await live.new("s0", facts="f0")
        claim = await leases.claim_start(prepared, "a", 1000)
        assert claim is not None and claim.leased
        snapshot = claim.snapshot
        assert (snapshot.seq, snapshot.state, snapshot.text, snapshot.facts) == (0, "s0", "", "f0")
        assert await leases.holder(prepared) == "a"
        again = await leases.claim_start(prepared, "a", 1000)  # its own lease: still ours
        assert again is not None and again.leased
        other = await leases.claim_start(prepared, "b", 1000)  # someone else's: data only
        assert other is not None and not other.leased and other.snapshot.facts == "f0"
        assert await leases.holder(prepared) == "a"
        # Started (seq 1), or never prepared with facts: the lease is the caller's to take.
        events.append(prepared, 1, "e1", "s1")
        await events.flush()
        await leases.release(prepared, "a")
        started = await leases.claim_start(prepared, "a", 1000)
        assert started is not None and not started.leased and started.snapshot.seq == 1
        bare = await live.new("s0")
        unprepared = await leases.claim_start(bare, "a", 1000)
        assert unprepared is not None and not unprepared.leased
        assert await leases.holder(prepared) is None and await leases.holder(bare) is None

    async def test_a_start_claims_lease_expires_like_any_other(self, live: Live) -> None:
        leases = live.store.leases
        iid = await live.new("s0", facts="f0")
        claim = await leases.claim_start(iid, "a", 200)
        assert claim is not None and claim.leased
        assert await leases.renew("a", [iid], 200) == {iid: True}
        await asyncio.sleep(0.35)
        assert await leases.holder(iid) is None
        late = await leases.claim_start(iid, "b", 1000)
        assert late is not None and late.leased and await leases.holder(iid) == "b"

    async def test_renewing_extends_many_leases_in_one_call(self, live: Live) -> None:
        leases = live.store.leases
        mine, theirs, nobodys = _ids(8), _ids(3), _ids(2)
        for iid in mine:
            assert await leases.acquire(iid, "me", 300)
        for iid in theirs:
            assert await leases.acquire(iid, "them", 5000)
        await asyncio.sleep(0.15)
        renewed = await leases.renew("me", [*mine, *theirs, *nobodys], 1000)
        assert list(renewed) == [*mine, *theirs, *nobodys]
        assert renewed == {**dict.fromkeys(mine, True), **dict.fromkeys(theirs + nobodys, False)}
        await asyncio.sleep(0.3)  # past the first ttl: the renewal kept them
        assert [await leases.holder(iid) for iid in mine] == ["me"] * len(mine)
        assert [await leases.holder(iid) for iid in theirs] == ["them"] * len(theirs)
        assert await leases.renew("me", [], 1000) == {}

    async def test_unleased_lists_the_interviews_nobody_drives(self, live: Live) -> None:
        leases = live.store.leases
        held, free = _ids(5), _ids(5)
        for iid in held:
            assert await leases.acquire(iid, "a", 1000)
        mixed = [iid for pair in zip(held, free, strict=True) for iid in pair]
        assert await leases.unleased(mixed) == free  # in the order asked
        assert await leases.unleased([]) == []

    async def test_bulk_calls_larger_than_one_pipeline_keep_every_answer_in_order(
        self, live: Live
    ) -> None:
        """A busy process renews, touches and asks about a thousand interviews at once;
        the Redis store sends them as several pipelines (``_SLICE``) or script calls
        (``_MANY_CALLS``): nothing may be lost or shifted at the seams between them."""
        leases = live.store.leases
        count = max(2 * _SLICE, _MANY_CALLS) + 7
        ids = _ids(count)
        mine = ids[::3]
        for iid in mine:
            assert await leases.acquire(iid, "me", 5000)
        renewed = await leases.renew("me", ids, 5000)
        assert list(renewed) == ids
        assert renewed == {iid: iid in mine for iid in ids}
        assert await leases.unleased(ids) == [iid for iid in ids if iid not in mine]
        here = ids[1::2]
        await leases.touch_presence(here, 5000)
        assert await leases.present(ids) == set(here)
        created = ids[:: 2 * _SLICE - 1]
        for iid in created:
            assert await live.store.events.create(iid, f"state-{iid}")
        snapshots = await live.store.events.snapshots(ids)
        assert list(snapshots) == ids
        assert {iid for iid, snap in snapshots.items() if snap is not None} == set(created)
        for iid in created:
            snapshot = snapshots[iid]
            assert snapshot is not None and snapshot.state == f"state-{iid}"

    async def test_presence_expires(self, live: Live) -> None:
        leases = live.store.leases
        iid = str(uuid.uuid4())
        assert not await leases.has_presence(iid)
        await leases.touch_presence([iid], 200)
        assert await leases.has_presence(iid)
        await asyncio.sleep(0.3)
        assert not await leases.has_presence(iid)

    async def test_presence_of_many_is_read_at_once(self, live: Live) -> None:
        leases = live.store.leases
        here = [str(uuid.uuid4()) for _ in range(3)]
        gone = [str(uuid.uuid4()) for _ in range(2)]
        await leases.touch_presence(here, 5000)
        assert await leases.present([*gone, *here]) == set(here)
        assert await leases.present([]) == set()

    async def test_presence_is_touched_for_many_interviews_and_renewed(self, live: Live) -> None:
        leases = live.store.leases
        ids = _ids(10)
        await leases.touch_presence(ids, 300)
        await leases.touch_presence([], 300)
        assert [await leases.has_presence(iid) for iid in ids] == [True] * 10
        await asyncio.sleep(0.2)
        await leases.touch_presence(ids[:5], 300)
        await asyncio.sleep(0.2)
        assert [await leases.has_presence(iid) for iid in ids] == [True] * 5 + [False] * 5


class TestCommandInbox:
    async def test_commands_are_queued_in_order_and_poke_the_subscriber(self, live: Live) -> None:
        inbox, recorder = live.store.inbox, live.recorder
        iid = await live.new()
        await inbox.push(iid, "first")
        await inbox.push(iid, '{"type": "answer", "text": "with spaces"}')
        await recorder.wait_for(lambda: len(recorder.pokes) >= 2)
        assert set(recorder.pokes) == {iid}
        assert await inbox.pop(iid) == ["first", '{"type": "answer", "text": "with spaces"}']
        assert await inbox.pop(iid) == []

    async def test_a_command_for_an_unsubscribed_interview_waits_unpoked(self, live: Live) -> None:
        inbox, recorder = live.store.inbox, live.recorder
        iid = str(uuid.uuid4())
        await inbox.push(iid, "queued")
        await recorder.quiet()
        assert recorder.pokes == []
        assert await inbox.pop(iid) == ["queued"]

    async def test_inboxes_are_separate(self, live: Live) -> None:
        inbox = live.store.inbox
        a, b = _ids(2)
        await inbox.push(a, "for a")
        await inbox.push(b, "for b")
        assert await inbox.pop(a) == ["for a"]
        assert await inbox.pop(b) == ["for b"]

    async def test_an_expired_inbox_is_gone(self, live: Live) -> None:
        inbox = live.store.inbox
        iid = str(uuid.uuid4())
        await inbox.push(iid, "stale command")
        await inbox.expire(iid, 1)
        await asyncio.sleep(1.2)
        assert await inbox.pop(iid) == []


class TestCounters:
    async def test_rate_limit_windows_count_and_reset(self, live: Live) -> None:
        counters = live.store.counters
        key = f"k-{uuid.uuid4().hex}"
        hits = [await counters.hit(key, 1) for _ in range(3)]
        assert [count for count, _ in hits] == [1, 2, 3]
        assert all(reset == 1 for _, reset in hits)
        await asyncio.sleep(1.1)
        assert (await counters.hit(key, 1))[0] == 1

    async def test_a_window_reports_the_seconds_until_it_resets(self, live: Live) -> None:
        counters = live.store.counters
        key, other = f"k-{uuid.uuid4().hex}", f"k-{uuid.uuid4().hex}"
        count, reset = await counters.hit(key, 60)
        assert count == 1 and 59 <= reset <= 60
        assert (await counters.hit(other, 60))[0] == 1  # keys count separately
        assert (await counters.hit(key, 60))[0] == 2

    async def test_small_ints_are_cached_until_they_expire(self, live: Live) -> None:
        counters = live.store.counters
        key, other = f"v-{uuid.uuid4().hex}", f"v-{uuid.uuid4().hex}"
        assert await counters.get_int(key) is None
        await counters.set_int(key, 42, 1)
        await counters.set_int(other, -7, 60)
        assert await counters.get_int(key) == 42
        assert await counters.get_int(other) == -7
        await counters.set_int(other, 0, 60)  # overwritten, and 0 is a value, not None
        assert await counters.get_int(other) == 0
        await asyncio.sleep(1.2)
        assert await counters.get_int(key) is None
        assert await counters.get_int(other) == 0

    async def test_values_and_windows_do_not_share_keys(self, live: Live) -> None:
        counters = live.store.counters
        key = f"same-{uuid.uuid4().hex}"
        await counters.set_int(key, 100, 60)
        assert (await counters.hit(key, 60))[0] == 1
        assert await counters.get_int(key) == 100


# --- Redis only: the key layout, and what a cluster needs ---------------------------------


def test_every_key_of_an_interview_carries_its_hash_tag() -> None:
    keys = RedisKeys("interview:")
    iid = str(uuid.uuid4())
    assert keys.of(iid, "s") == f"interview:{{{iid}}}:s"
    slots = {key_slot(keys.of(iid, kind).encode()) for kind in KINDS_OF_KEY}
    assert slots == {key_slot(iid.encode())}


async def _touch_every_key(live: Live, iid: str) -> None:
    live.store.events.append(iid, 1, "e1", None, TextUpdate("s", "text"))
    await live.store.events.flush()
    await live.store.inbox.push(iid, "command")
    assert await live.store.leases.acquire(iid, "holder", 5000)
    await live.store.leases.touch_presence([iid], 5000)


async def test_the_keys_of_an_interview_are_laid_out_under_the_prefix(redis_live: Live) -> None:
    iid = await redis_live.new(facts="f0")
    await _touch_every_key(redis_live, iid)
    keys = RedisKeys(redis_live.prefix)
    by_node = await keys_by_node(redis_live)
    # All six on one node (one shard of a cluster), and nothing else under the prefix.
    assert [found for found in by_node.values() if found] == [
        {keys.of(iid, kind) for kind in KINDS_OF_KEY}
    ]


async def test_keys_of_one_interview_share_one_slot_on_the_cluster(cluster_live: Live) -> None:
    ids = [await cluster_live.new(facts="f0") for _ in range(12)]
    for iid in ids:
        await _touch_every_key(cluster_live, iid)
    assert cluster_live.url is not None
    keys = RedisKeys(cluster_live.prefix)
    async with cluster_client(cluster_live.url) as client:
        for iid in ids:
            # CLUSTER KEYSLOT asks the server itself, not redis-py's copy of the hash.
            slots = {await client.cluster_keyslot(keys.of(iid, kind)) for kind in KINDS_OF_KEY}
            assert slots == {key_slot(iid.encode())}
    by_node = await keys_by_node(cluster_live)
    for iid in ids:
        own = {keys.of(iid, kind) for kind in KINDS_OF_KEY}
        holders = [node for node, found in by_node.items() if own & found]
        assert len(holders) == 1 and own <= by_node[holders[0]]
    # So the batched appends, snapshots and renewals in these tests really cross shards.
    assert sum(1 for found in by_node.values() if found) > 1


async def test_scripts_are_loaded_again_after_a_script_flush(redis_live: Live) -> None:
    """A server or node that lost its scripts (a restart, a new node, a failover) answers
    NOSCRIPT: no call is lost, batched ones (appends, renewals) included."""
    live = redis_live
    ids = [await live.new() for _ in range(10)]
    async with raw_client(live) as client:
        await client.script_flush()
    for iid in ids:
        live.store.events.append(iid, 1, "after flush", "s1")
        live.store.events.append(iid, 2, "and again", None)
    await live.store.events.flush()
    assert live.recorder.stale == []
    snapshots = await live.store.events.snapshots(ids)
    assert [s.seq if s else None for s in snapshots.values()] == [2] * len(ids)
    async with raw_client(live) as client:
        await client.script_flush()
    assert await live.store.leases.acquire(ids[0], "a", 5000)
    assert await live.store.leases.renew("a", ids[:2], 5000) == {ids[0]: True, ids[1]: False}
    await live.store.inbox.push(ids[0], "cmd")
    assert await live.store.inbox.pop(ids[0]) == ["cmd"]
    assert (await live.store.counters.hit(f"k-{uuid.uuid4().hex}", 5))[0] == 1
    assert await live.store.events.create(str(uuid.uuid4()), "fresh")


async def test_an_append_redis_refuses_fails_alone_and_the_rest_go_on(redis_live: Live) -> None:
    """Appends go to Redis in batches (one script call on one server). One whose keys
    Redis cannot use (here its log is not a stream) is reported and dropped by itself:
    the appends of other interviews in the same batch, and every later one, still land."""
    live = redis_live
    broken, fine = await live.new("b0"), await live.new("f0")
    async with raw_client(live) as client:
        await client.set(RedisKeys(live.prefix).of(broken, "l"), "not a stream")
    events = live.store.events
    events.append(fine, 1, "before", "f1")
    events.append(broken, 1, "lost", "b1")
    events.append(fine, 2, "after", "f2")
    await asyncio.wait_for(events.flush(), 5)
    events.append(fine, 3, "later", None)
    await asyncio.wait_for(events.flush(), 5)
    await live.recorder.wait_for(lambda: len(live.recorder.events) == 3)
    assert live.recorder.events == [(fine, 1, "before"), (fine, 2, "after"), (fine, 3, "later")]
    assert live.recorder.stale == []
    snapshots = await events.snapshots([fine, broken])
    assert [s.seq if s else None for s in snapshots.values()] == [3, 0]


async def test_replies_read_together_are_each_handled_in_order(
    redis_live: Live, caplog: pytest.LogCaptureFixture
) -> None:
    """The subscription handles every reply that arrived with the one it waited for
    before it waits again: a burst of events, with the confirmations of channels joined
    and left in between, arrives whole and in order, and every join is confirmed."""
    live = redis_live
    events, recorder = live.store.events, live.recorder
    busy = await live.new()
    joining = [await live.new(subscribe=False) for _ in range(20)]
    leaving = [await live.new() for _ in range(20)]
    channel = RedisKeys(live.prefix).channel(busy)
    burst = 2000

    async def publish_burst(client: Redis | RedisCluster) -> None:
        pipe = client.pipeline(transaction=False)
        for n in range(1, burst + 1):
            pipe.execute_command("PUBLISH", channel, f"e{n} burst {n}")
        await pipe.execute()

    async def join_and_leave() -> None:
        for joined, left in zip(joining, leaving, strict=True):
            await events.subscribe([joined])
            await events.unsubscribe(left)

    with caplog.at_level(logging.WARNING, logger="server.live.redis"):
        async with raw_client(live) as client:
            await asyncio.gather(publish_burst(client), join_and_leave())
        await recorder.wait_for(lambda: len(recorder.events_of(busy)) == burst, timeout=10)
    assert recorder.events_of(busy) == [(n, f"burst {n}") for n in range(1, burst + 1)]
    assert [r.getMessage() for r in caplog.records if "not confirmed" in r.getMessage()] == []
    for iid in joining + leaving:
        events.append(iid, 1, "after", None)
    await events.flush()
    await recorder.wait_for(lambda: all(recorder.events_of(iid) for iid in joining))
    await recorder.quiet()
    assert [recorder.events_of(iid) for iid in leaving] == [[]] * len(leaving)


async def test_an_error_reply_on_the_subscription_is_survived(redis_live: Live) -> None:
    """Redis answers a bad command on the subscription's connection with an error reply:
    the listener starts again from a ping (telling the gateway to repair gaps) and goes on
    delivering, rather than dying and leaving the process deaf to every interview."""
    live = redis_live
    events, recorder = live.store.events, live.recorder
    iid = await live.new()
    pubsub = events._pubsub  # type: ignore[attr-defined]
    await pubsub.execute_command("NO-SUCH-COMMAND")
    await recorder.wait_for(lambda: recorder.reconnects == 1)
    events.append(iid, 1, "still heard", "s1")
    await events.flush()
    await recorder.wait_for(lambda: bool(recorder.events))
    assert recorder.events == [(iid, 1, "still heard")]


async def test_a_message_the_listener_cannot_handle_is_dropped_alone(redis_live: Live) -> None:
    """Whatever is published on an interview's channel (a malformed message, or a
    listener that fails on one) costs that message only: the ones after it, read in the
    same go or later, are still delivered."""
    live = redis_live
    recorder = live.recorder
    iid = await live.new()
    channel = RedisKeys(live.prefix).channel(iid)
    async with raw_client(live) as client:
        pipe = client.pipeline(transaction=False)
        for message in ("enot-a-number payload", "e", "", "e7 fine"):
            pipe.execute_command("PUBLISH", channel, message)
        await pipe.execute()
        await recorder.wait_for(lambda: bool(recorder.events))
        await client.execute_command("PUBLISH", channel, "e")
        await client.execute_command("PUBLISH", channel, "e8 also fine")
        await recorder.wait_for(lambda: len(recorder.events) == 2)
    assert recorder.events == [(iid, 7, "fine"), (iid, 8, "also fine")]
    assert recorder.reconnects == 0  # nothing was wrong with the connection


async def test_an_append_that_cannot_be_sent_is_dropped_alone(redis_live: Live) -> None:
    """Appends go in batches; one Redis cannot even be sent (an argument with no wire form)
    would fail its batch every time, on a cluster after part of it had landed. It is
    refused at once and reported, every other lands in order, and appends queued after
    it are not held up."""
    live = redis_live
    events, recorder = live.store.events, live.recorder
    bad, good = await live.new("b0"), await live.new("g0")
    events.append(good, 1, "before", "g1")
    refused = events.append(bad, 1, object(), "b1")  # type: ignore[arg-type]
    events.append(good, 2, "after", "g2")
    await asyncio.wait_for(events.flush(), 10)
    events.append(good, 3, "later", None)
    await asyncio.wait_for(events.flush(), 10)
    await recorder.wait_for(lambda: len(recorder.events) == 3)
    assert recorder.events == [(good, 1, "before"), (good, 2, "after"), (good, 3, "later")]
    assert recorder.refused == [refused] and recorder.stale == [bad]
    snapshots = await events.snapshots([good, bad])
    assert [s.seq if s else None for s in snapshots.values()] == [3, 0]


@pytest.mark.needs_redis
async def test_a_channel_left_before_the_subscription_reconnects_stays_left(
    request: pytest.FixtureRequest, redis_prefix: str
) -> None:
    """Events are read from the subscription's raw replies; the rest (confirmations of
    subscribing and leaving) still update its record of channels, which a reconnect
    subscribes again: a channel left before the connection broke must not come back."""
    async with open_live("redis", request, redis_prefix) as live:
        kept, left = await live.new(), await live.new()
        await live.store.events.unsubscribe(left)
        await live.recorder.quiet()  # the confirmation of leaving has been read
        async with raw_client(live) as client:
            assert isinstance(client, Redis)
            name = f"{live.prefix}subscription"
            ours = [c for c in await client.client_list(_type="pubsub") if c["name"] == name]
            assert len(ours) == 1
            await client.client_kill_filter(_id=ours[0]["id"])
            await live.recorder.wait_for(lambda: live.recorder.reconnects == 1)
            renamed = [c for c in await client.client_list(_type="pubsub") if c["name"] == name]
            assert len(renamed) == 1 and renamed[0]["id"] != ours[0]["id"]
            # Subscribed again: the one kept and the control channel, not the one left.
            assert renamed[0]["sub"] == "2"
        live.store.events.append(left, 1, "nobody here listens", "s1")
        live.store.events.append(kept, 1, "still heard", "s1")
        await live.store.events.flush()
        await live.recorder.wait_for(lambda: bool(live.recorder.events))
        await live.recorder.quiet()
        assert live.recorder.events == [(kept, 1, "still heard")]
