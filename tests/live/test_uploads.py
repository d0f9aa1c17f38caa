"""The ``Uploads`` contract (recordings of spoken answers, chunk by chunk), run on every
backend of this pass like ``test_live_store.py``: the in-process store always; Redis and a
local three-master Redis Cluster as well with ``TEST_BACKEND=services``."""

from __future__ import annotations

import asyncio
import random
import time
import uuid

from redis.crc import key_slot

from server.live.base import AppendOutcome, ChunkAppend, Claim, Upload, Uploads
from server.live.redis import RedisKeys
from tests.live.conftest import Live, cluster_client, keys_by_node, raw_client

RATE = 16_000
BIG = 10_000_000  # a max_bytes nothing in these tests reaches
TTL = 60
STALE = 60_000


def _new_id() -> str:
    return str(uuid.uuid4())


def _chunks(seed: int, count: int, *, largest: int = 300) -> list[bytes]:
    rng = random.Random(seed)
    return [rng.randbytes(rng.randint(1, largest)) for _ in range(count)]


async def _opened(uploads: Uploads, *, turn: int = 1) -> tuple[str, str]:
    iid, uid = _new_id(), _new_id()
    _, created = await uploads.open(iid, uid, turn=turn, sample_rate=RATE, ttl_s=TTL)
    assert created
    return iid, uid


async def _append_all(uploads: Uploads, iid: str, uid: str, chunks: list[bytes]) -> None:
    for index, data in enumerate(chunks):
        result = await uploads.append(iid, uid, index, data, max_bytes=BIG, ttl_s=TTL)
        assert result.outcome == "ok", (index, result)


class TestUploads:
    async def test_opening_creates_an_empty_upload_once(self, live: Live) -> None:
        uploads = live.store.uploads
        iid, uid = _new_id(), _new_id()
        first, created = await uploads.open(iid, uid, turn=3, sample_rate=RATE, ttl_s=TTL)
        assert created
        assert first == Upload(3, RATE, 0, 0, "open", 0, "")
        assert await uploads.get(iid, uid) == first
        assert await uploads.audio(iid, uid) == b""  # open, no chunk yet
        await _append_all(uploads, iid, uid, [b"\x00\x01\x02"])
        again, created = await uploads.open(iid, uid, turn=4, sample_rate=48_000, ttl_s=TTL)
        assert not created
        assert again == Upload(3, RATE, 1, 3, "open", 0, "")  # the first, unchanged
        assert await uploads.audio(iid, uid) == b"\x00\x01\x02"

    async def test_chunks_in_order_are_stored_exactly(self, live: Live) -> None:
        uploads = live.store.uploads
        iid, uid = await _opened(uploads)
        chunks = [
            b"\x00",
            b"\x00" * 64,  # zero bytes
            b"\xff\xfe\xc3\x28\x80",  # not UTF-8
            bytes(range(256)),
            random.Random(7).randbytes(64 * 1024),
            *_chunks(1, 10),
        ]
        size = 0
        for index, data in enumerate(chunks):
            size += len(data)
            result = await uploads.append(iid, uid, index, data, max_bytes=BIG, ttl_s=TTL)
            assert result == ChunkAppend("ok", index + 1, size)
        assert await uploads.audio(iid, uid) == b"".join(chunks)
        assert await uploads.get(iid, uid) == Upload(1, RATE, len(chunks), size, "open")

    async def test_a_duplicate_or_a_gap_is_refused_and_stores_nothing(self, live: Live) -> None:
        uploads = live.store.uploads
        iid, uid = await _opened(uploads)
        c0, c1 = b"first\x00", b"second"
        assert await uploads.append(iid, uid, 0, c0, max_bytes=BIG, ttl_s=TTL) == ChunkAppend(
            "ok", 1, 6
        )
        refused: list[tuple[int, bytes, AppendOutcome]] = [
            (0, c0, "duplicate"),  # resent after a reconnect
            (0, b"other", "duplicate"),
            (2, b"gap", "gap"),
            (7, b"far", "gap"),
        ]
        for index, data, outcome in refused:
            result = await uploads.append(iid, uid, index, data, max_bytes=BIG, ttl_s=TTL)
            assert result == ChunkAppend(outcome, 1, 6)
        assert await uploads.audio(iid, uid) == c0
        assert await uploads.append(iid, uid, 1, c1, max_bytes=BIG, ttl_s=TTL) == ChunkAppend(
            "ok", 2, 12
        )
        assert await uploads.audio(iid, uid) == c0 + c1

    async def test_a_chunk_past_max_bytes_is_refused_and_stores_nothing(self, live: Live) -> None:
        uploads = live.store.uploads
        iid, uid = await _opened(uploads)

        async def append(index: int, data: bytes) -> ChunkAppend:
            return await uploads.append(iid, uid, index, data, max_bytes=10, ttl_s=TTL)

        assert await append(0, b"123456") == ChunkAppend("ok", 1, 6)
        assert await append(1, b"78901") == ChunkAppend("too_large", 1, 6)
        assert await uploads.audio(iid, uid) == b"123456"
        assert await append(1, b"7890") == ChunkAppend("ok", 2, 10)  # exactly max_bytes
        assert await append(2, b"x") == ChunkAppend("too_large", 2, 10)
        assert await uploads.audio(iid, uid) == b"1234567890"
        assert (await uploads.get(iid, uid)) == Upload(1, RATE, 2, 10, "open")

    async def test_a_claim_with_the_wrong_count_is_incomplete_and_leaves_it_open(
        self, live: Live
    ) -> None:
        uploads = live.store.uploads
        iid, uid = await _opened(uploads)
        chunks = _chunks(2, 3)
        await _append_all(uploads, iid, uid, chunks[:2])
        size = len(chunks[0]) + len(chunks[1])
        for announced in (3, 1):  # fewer chunks arrived than announced, or more
            claim = await uploads.claim(iid, uid, chunks=announced, stale_ms=STALE)
            assert claim == Claim("incomplete", Upload(1, RATE, 2, size, "open"))
        result = await uploads.append(iid, uid, 2, chunks[2], max_bytes=BIG, ttl_s=TTL)
        assert result.outcome == "ok"  # the client resends what was missing
        claim = await uploads.claim(iid, uid, chunks=3, stale_ms=STALE)
        assert claim.outcome == "claimed"
        assert await uploads.audio(iid, uid) == b"".join(chunks)  # readable while transcribed

    async def test_a_claim_is_busy_until_it_is_stale(self, live: Live) -> None:
        uploads = live.store.uploads
        iid, uid = await _opened(uploads)
        await _append_all(uploads, iid, uid, [b"ab", b"cd"])
        first = await uploads.claim(iid, uid, chunks=2, stale_ms=300)
        assert first.outcome == "claimed" and first.upload is not None
        assert first.upload.status == "transcribing"
        assert (first.upload.next_chunk, first.upload.size) == (2, 4)
        assert abs(first.upload.claimed_ms - time.time() * 1000) < 5000  # unix ms
        assert await uploads.get(iid, uid) == first.upload
        assert await uploads.claim(iid, uid, chunks=2, stale_ms=300) == Claim("busy", first.upload)
        await asyncio.sleep(0.4)  # its claimer died
        again = await uploads.claim(iid, uid, chunks=2, stale_ms=300)
        assert again.outcome == "claimed" and again.upload is not None
        assert again.upload.claimed_ms >= first.upload.claimed_ms + 300

    async def test_a_released_claim_can_be_claimed_at_once(self, live: Live) -> None:
        uploads = live.store.uploads
        iid, uid = await _opened(uploads)
        await _append_all(uploads, iid, uid, [b"ab"])
        await uploads.release(iid, uid)  # not claimed: nothing happens
        assert await uploads.get(iid, uid) == Upload(1, RATE, 1, 2, "open")
        assert (await uploads.claim(iid, uid, chunks=1, stale_ms=STALE)).outcome == "claimed"
        await uploads.release(iid, uid)  # the transcription failed
        assert await uploads.get(iid, uid) == Upload(1, RATE, 1, 2, "open", 0, "")
        assert (await uploads.claim(iid, uid, chunks=1, stale_ms=STALE)).outcome == "claimed"
        await uploads.finish(iid, uid, "result", ttl_s=TTL)
        await uploads.release(iid, uid)  # done stays done
        assert (await uploads.claim(iid, uid, chunks=1, stale_ms=STALE)).outcome == "done"

    async def test_a_claimed_or_finished_upload_refuses_chunks(self, live: Live) -> None:
        uploads = live.store.uploads
        iid, uid = await _opened(uploads)
        await _append_all(uploads, iid, uid, [b"ab"])
        assert (await uploads.claim(iid, uid, chunks=1, stale_ms=STALE)).outcome == "claimed"
        for index in (0, 1, 5):  # whatever the index
            result = await uploads.append(iid, uid, index, b"zz", max_bytes=BIG, ttl_s=TTL)
            assert result == ChunkAppend("closed", 1, 2)
        await uploads.finish(iid, uid, "result", ttl_s=TTL)
        result = await uploads.append(iid, uid, 1, b"zz", max_bytes=BIG, ttl_s=TTL)
        assert result == ChunkAppend("closed", 1, 2)

    async def test_finishing_keeps_the_result_and_drops_the_audio(self, live: Live) -> None:
        uploads = live.store.uploads
        iid, uid = await _opened(uploads, turn=5)
        await _append_all(uploads, iid, uid, [b"\x00\x00", b"\x01\x01"])
        claimed = await uploads.claim(iid, uid, chunks=2, stale_ms=STALE)
        assert claimed.outcome == "claimed" and claimed.upload is not None
        result = '{"type": "transcript.final", "text": "naïve — 東京 🎤"}'
        await uploads.finish(iid, uid, result, ttl_s=TTL)
        done = Upload(5, RATE, 2, 4, "done", claimed.upload.claimed_ms, result)
        assert await uploads.get(iid, uid) == done
        assert await uploads.audio(iid, uid) is None  # dropped
        for announced in (2, 9):  # done, whatever the count
            assert await uploads.claim(iid, uid, chunks=announced, stale_ms=0) == Claim(
                "done", done
            )
        again, created = await uploads.open(iid, uid, turn=6, sample_rate=RATE, ttl_s=TTL)
        assert (again, created) == (done, False)

    async def test_a_discarded_upload_is_forgotten(self, live: Live) -> None:
        uploads = live.store.uploads
        iid, uid = await _opened(uploads)
        await _append_all(uploads, iid, uid, [b"abc", b"def"])
        await uploads.discard(iid, uid)
        assert await uploads.get(iid, uid) is None
        assert await uploads.audio(iid, uid) is None
        assert await uploads.append(iid, uid, 2, b"g", max_bytes=BIG, ttl_s=TTL) == ChunkAppend(
            "missing", 0, 0
        )
        assert await uploads.claim(iid, uid, chunks=2, stale_ms=STALE) == Claim("missing", None)
        await uploads.discard(iid, uid)  # twice: nothing happens
        fresh, created = await uploads.open(iid, uid, turn=2, sample_rate=RATE, ttl_s=TTL)
        assert created and fresh == Upload(2, RATE, 0, 0, "open")
        assert await uploads.audio(iid, uid) == b""

    async def test_a_missing_upload_is_missing_everywhere(self, live: Live) -> None:
        uploads = live.store.uploads
        iid, uid = _new_id(), _new_id()
        assert await uploads.get(iid, uid) is None
        assert await uploads.audio(iid, uid) is None
        assert await uploads.append(iid, uid, 0, b"a", max_bytes=BIG, ttl_s=TTL) == ChunkAppend(
            "missing", 0, 0
        )
        assert await uploads.claim(iid, uid, chunks=0, stale_ms=STALE) == Claim("missing", None)
        await uploads.release(iid, uid)
        await uploads.finish(iid, uid, "result", ttl_s=TTL)  # creates nothing
        await uploads.discard(iid, uid)
        assert await uploads.get(iid, uid) is None
        assert await uploads.audio(iid, uid) is None

    async def test_the_same_upload_id_in_two_interviews_is_two_uploads(self, live: Live) -> None:
        uploads = live.store.uploads
        a, b, uid = _new_id(), _new_id(), _new_id()
        assert (await uploads.open(a, uid, turn=1, sample_rate=RATE, ttl_s=TTL))[1]
        assert (await uploads.open(b, uid, turn=2, sample_rate=48_000, ttl_s=TTL))[1]
        await _append_all(uploads, a, uid, [b"for a", b" only"])
        await _append_all(uploads, b, uid, [b"b"])
        claimed = await uploads.claim(a, uid, chunks=2, stale_ms=STALE)
        assert claimed.outcome == "claimed" and claimed.upload is not None
        assert await uploads.get(b, uid) == Upload(2, 48_000, 1, 1, "open")
        assert await uploads.audio(a, uid) == b"for a only"
        assert await uploads.audio(b, uid) == b"b"
        await uploads.finish(a, uid, "done a", ttl_s=TTL)
        assert await uploads.audio(b, uid) == b"b"
        await uploads.discard(b, uid)
        done_a = Upload(1, RATE, 2, 10, "done", claimed.upload.claimed_ms, "done a")
        assert await uploads.get(a, uid) == done_a
        assert await uploads.get(b, uid) is None

    async def test_an_upload_expires_ttl_s_after_its_last_write(self, live: Live) -> None:
        uploads = live.store.uploads
        iid = _new_id()
        for uid in ("idle", "written", "finished"):
            assert (await uploads.open(iid, uid, turn=1, sample_rate=RATE, ttl_s=1))[1]
        assert (await uploads.claim(iid, "finished", chunks=0, stale_ms=STALE)).outcome == (
            "claimed"
        )
        await asyncio.sleep(0.6)
        result = await uploads.append(iid, "written", 0, b"ab", max_bytes=BIG, ttl_s=1)
        assert result.outcome == "ok"
        await uploads.finish(iid, "finished", "result", ttl_s=1)
        await asyncio.sleep(0.6)  # 1.2 s after opening, 0.6 s after the last writes
        assert await uploads.get(iid, "idle") is None
        assert await uploads.audio(iid, "idle") is None
        assert (
            await uploads.append(iid, "idle", 0, b"late", max_bytes=BIG, ttl_s=1)
        ).outcome == "missing"
        assert await uploads.get(iid, "written") == Upload(1, RATE, 1, 2, "open")
        assert await uploads.audio(iid, "written") == b"ab"
        finished = await uploads.get(iid, "finished")
        assert finished is not None and finished.result == "result"
        await asyncio.sleep(0.6)  # 1.2 s after the last writes
        for uid in ("written", "finished"):
            assert await uploads.get(iid, uid) is None
            assert await uploads.audio(iid, uid) is None
        again, created = await uploads.open(iid, "idle", turn=2, sample_rate=RATE, ttl_s=TTL)
        assert created and again == Upload(2, RATE, 0, 0, "open")
        assert await uploads.audio(iid, "idle") == b""

    async def test_concurrent_appends_keep_exactly_the_chunks_that_came_in_order(
        self, live: Live
    ) -> None:
        uploads = live.store.uploads
        for seed in range(3):
            iid, uid = await _opened(uploads)
            chunks = _chunks(seed, 20)
            order = list(range(20))
            random.Random(seed).shuffle(order)
            results = await asyncio.gather(
                *(
                    asyncio.create_task(
                        uploads.append(iid, uid, index, chunks[index], max_bytes=BIG, ttl_s=TTL)
                    )
                    for index in order
                )
            )
            by_index = dict(zip(order, results, strict=True))
            accepted = sorted(index for index, r in by_index.items() if r.outcome == "ok")
            kept = len(accepted)
            assert kept >= 1 and accepted == list(range(kept))  # chunk 0 always fits
            for index, result in by_index.items():
                if result.outcome == "ok":
                    size = sum(len(c) for c in chunks[: index + 1])
                    assert (result.next_chunk, result.size) == (index + 1, size)
                else:
                    assert result.outcome in ("gap", "duplicate"), result
            size = sum(len(c) for c in chunks[:kept])
            assert await uploads.get(iid, uid) == Upload(1, RATE, kept, size, "open")
            assert await uploads.audio(iid, uid) == b"".join(chunks[:kept])
            # The client resends from the start: what was kept is a duplicate, the rest fits.
            for index, data in enumerate(chunks):
                result = await uploads.append(iid, uid, index, data, max_bytes=BIG, ttl_s=TTL)
                assert result.outcome == ("duplicate" if index < kept else "ok")
            assert await uploads.audio(iid, uid) == b"".join(chunks)


# --- Redis only: the keys of an upload ------------------------------------------------


def test_an_uploads_keys_carry_the_interviews_hash_tag() -> None:
    keys = RedisKeys("interview:")
    iid = _new_id()
    assert keys.upload(iid, "u1") == [
        f"interview:{{{iid}}}:upload:u1",
        f"interview:{{{iid}}}:audio:u1",
    ]
    # No upload id names another upload's audio: the kinds differ before the id.
    assert set(keys.upload(iid, "u1:audio")).isdisjoint(keys.upload(iid, "u1"))
    assert {key_slot(key.encode()) for key in keys.upload(iid, "u1")} == {key_slot(iid.encode())}


async def test_an_upload_is_two_keys_on_its_interviews_node_expiring_together(
    redis_live: Live,
) -> None:
    uploads = redis_live.store.uploads
    iid, uid = await _opened(uploads)
    await _append_all(uploads, iid, uid, [b"\x00\xff", b"\x01"])
    meta, audio = RedisKeys(redis_live.prefix).upload(iid, uid)
    by_node = await keys_by_node(redis_live)
    assert [found for found in by_node.values() if found] == [{meta, audio}]
    async with raw_client(redis_live) as client:
        deadlines = {await client.pexpiretime(meta), await client.pexpiretime(audio)}
        assert len(deadlines) == 1 and deadlines.pop() > time.time() * 1000 + (TTL - 5) * 1000
    assert (await uploads.claim(iid, uid, chunks=2, stale_ms=STALE)).outcome == "claimed"
    await uploads.finish(iid, uid, "result", ttl_s=TTL)
    by_node = await keys_by_node(redis_live)
    assert [found for found in by_node.values() if found] == [{meta}]  # the audio is gone


async def test_uploads_of_one_interview_share_its_slot_on_the_cluster(cluster_live: Live) -> None:
    uploads = cluster_live.store.uploads
    keys = RedisKeys(cluster_live.prefix)
    ids = [_new_id() for _ in range(12)]
    for iid in ids:
        for uid in ("u1", "u2"):
            assert (await uploads.open(iid, uid, turn=1, sample_rate=RATE, ttl_s=TTL))[1]
            await _append_all(uploads, iid, uid, [b"chunk"])
    async with cluster_client(cluster_live.url or "") as client:
        for iid in ids:
            own = [*keys.upload(iid, "u1"), *keys.upload(iid, "u2"), keys.of(iid, "s")]
            # CLUSTER KEYSLOT asks the server itself, not redis-py's copy of the hash.
            slots = {await client.cluster_keyslot(key) for key in own}
            assert slots == {key_slot(iid.encode())}
    by_node = await keys_by_node(cluster_live)
    assert sum(1 for found in by_node.values() if found) > 1  # they do spread over shards


async def test_upload_scripts_are_loaded_again_after_a_script_flush(cluster_live: Live) -> None:
    """A node that lost its scripts (a new node, a failover) answers NOSCRIPT: each call
    loads its script again, the undecoded audio read included."""
    uploads = cluster_live.store.uploads
    iid, uid = _new_id(), _new_id()

    async def flush() -> None:
        async with cluster_client(cluster_live.url or "") as client:
            await client.script_flush()

    await flush()
    assert (await uploads.open(iid, uid, turn=1, sample_rate=RATE, ttl_s=TTL))[1]
    await flush()
    assert (await uploads.append(iid, uid, 0, b"\x00\xff", max_bytes=BIG, ttl_s=TTL)).outcome == (
        "ok"
    )
    await flush()
    assert await uploads.audio(iid, uid) == b"\x00\xff"
    await flush()
    assert (await uploads.claim(iid, uid, chunks=1, stale_ms=STALE)).outcome == "claimed"
    await flush()
    await uploads.release(iid, uid)
    assert (await uploads.claim(iid, uid, chunks=1, stale_ms=STALE)).outcome == "claimed"
    await flush()
    await uploads.finish(iid, uid, "result", ttl_s=TTL)
    upload = await uploads.get(iid, uid)
    assert upload is not None and (upload.status, upload.result) == ("done", "result")
