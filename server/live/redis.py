"""Redis-backed live store, shared by any number of gateway processes.

Keys of one interview (under the configured prefix) share the hash tag ``{ID}``, so every
multi-key script stays on one shard of a Redis Cluster: ``{ID}:s`` state hash (seq,
active_ms, st = the engine's encoded state), ``{ID}:t`` current turn text, ``{ID}:l`` event
log (a Stream whose ids are the seqs), ``{ID}:c`` command inbox (a list), ``{ID}:lease``,
``{ID}:pres``, and per recording ``{ID}:upload:UPLOAD`` (a hash: turn, sample_rate,
next_chunk, size, status, claimed_ms, result) beside ``{ID}:audio:UPLOAD`` (its audio, one
APPEND per chunk). Channel ``ch:ID`` carries events (``e<seq> <json>``), pokes (``p``) and
replies to one connection (``r<connection id> <json>``). One pub/sub connection per
process, with channels subscribed while a local socket or runner needs them.

The same code runs on one server and on a Redis Cluster (see ``connect``): scripts that
run in pipelines go through ``_eval_many``, which works with redis-py's cluster pipeline.
The two bulk paths of a busy process (appends, lease renewals) go through ``_ManyCalls``:
on one server a single script call carries many, on a cluster each is its own call.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, get_args

import hiredis
from redis._parsers.hiredis import NOT_ENOUGH_DATA
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.cluster import RedisCluster
from redis.client import NEVER_DECODE
from redis.commands.core import AsyncScript
from redis.exceptions import (
    DataError,
    NoScriptError,
    RedisClusterException,
    RedisError,
    ResponseError,
)

from server.live.base import (
    KEEP_TEXT,
    AppendOutcome,
    ChunkAppend,
    Claim,
    ClaimOutcome,
    LiveListener,
    LiveStore,
    LogEntry,
    LogRead,
    MonitorEntries,
    Snapshot,
    StartClaim,
    TextUpdate,
    Upload,
    UploadStatus,
)
from server.live.connect import RedisClient, close_client, connect
from server.logs import log_throttled

log = logging.getLogger(__name__)

# Append = log + state + text + publish, atomically; refuses a seq that does not
# follow the stored one, which fences a process that lost its lease.
_APPEND = """
local current = tonumber(redis.call('HGET', KEYS[1], 'seq') or '-1')
local seq = tonumber(ARGV[1])
if current < 0 or seq ~= current + 1 then
  return redis.error_reply('STALE ' .. tostring(current))
end
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[3], ARGV[1] .. '-0', 'e', ARGV[2])
if seq == 1 then
  redis.call('PERSIST', KEYS[1])  -- prepared with a time limit; started now, kept until it ends
end
if ARGV[8] then
  redis.call('HSET', KEYS[1], 'seq', ARGV[1], 'active_ms', ARGV[6], 'st', ARGV[8])
else
  redis.call('HSET', KEYS[1], 'seq', ARGV[1], 'active_ms', ARGV[6])
end
if ARGV[4] == 's' then
  redis.call('SET', KEYS[2], ARGV[5])
elseif ARGV[4] == 'a' then
  redis.call('APPEND', KEYS[2], ARGV[5])
end
redis.call('PUBLISH', ARGV[7], 'e' .. ARGV[1] .. ' ' .. ARGV[2])
return seq
"""

_CREATE = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
redis.call('DEL', KEYS[2], KEYS[3], KEYS[4], KEYS[5])
redis.call('HSET', KEYS[1], 'seq', '0', 'active_ms', ARGV[2], 'st', ARGV[1])
if ARGV[3] ~= '' then
  redis.call('SET', KEYS[5], ARGV[3])
end
if tonumber(ARGV[4]) > 0 then
  redis.call('EXPIRE', KEYS[1], ARGV[4])
  redis.call('EXPIRE', KEYS[5], ARGV[4])
end
return 1
"""

_SNAPSHOT = """
local s = redis.call('HMGET', KEYS[1], 'seq', 'active_ms', 'st', 'fails')
if not s[1] then
  return false
end
local facts = ''
if KEYS[3] then
  facts = redis.call('GET', KEYS[3]) or ''
end
return {s[1], s[2] or '0', s[3] or '', redis.call('GET', KEYS[2]) or '', facts, s[4] or '0'}
"""

# The snapshot with facts; for a prepared interview never started (seq 0, facts kept), the
# lease too (SET NX, or already ours: renewed), as ``acquire`` takes it. -> snapshot + leased
_CLAIM_START = """
local s = redis.call('HMGET', KEYS[1], 'seq', 'active_ms', 'st', 'fails')
if not s[1] then
  return false
end
local facts = redis.call('GET', KEYS[3]) or ''
local leased = 0
if s[1] == '0' and facts ~= '' then
  if redis.call('SET', KEYS[4], ARGV[1], 'NX', 'PX', ARGV[2]) then
    leased = 1
  elseif redis.call('GET', KEYS[4]) == ARGV[1] then
    redis.call('PEXPIRE', KEYS[4], ARGV[2])
    leased = 1
  end
end
return {s[1], s[2] or '0', s[3] or '', redis.call('GET', KEYS[2]) or '', facts, s[4] or '0',
        leased}
"""

_FAILED = """
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
return redis.call('HINCRBY', KEYS[1], 'fails', 1)
"""

# Push = queue the command, keep the inbox a day, poke whoever drives the interview.
_PUSH = """
redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
redis.call('PUBLISH', ARGV[3], 'p')
return 1
"""

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

_HIT = """
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('TTL', KEYS[1])
if ttl < 0 then
  redis.call('EXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
"""

# Uploads: KEYS[1] the metadata hash, KEYS[2] the audio string. Every write moves both
# keys' expiry to the same instant (PEXPIREAT from the server's clock), so one never outlives
# the other. The clock is Redis's TIME, not the caller's: every gateway process judges a
# claim's age by one clock (the shard's), whatever their own clocks say. Redis 7 replicates
# scripts by their effects, so TIME may precede writes.
_UPLOAD_LIB = """
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function expire_both(ttl_s)
  local at = string.format('%d', now_ms() + tonumber(ttl_s) * 1000)
  redis.call('PEXPIREAT', KEYS[1], at)
  redis.call('PEXPIREAT', KEYS[2], at)
end
local function read()
  return redis.call('HMGET', KEYS[1], 'turn', 'sample_rate', 'next_chunk', 'size', 'status',
                    'claimed_ms', 'result')
end
"""

# -> {created 0/1, turn, sample_rate, next_chunk, size, status, claimed_ms, result}
_UPLOAD_OPEN = (
    _UPLOAD_LIB
    + """
local u = read()
if u[5] then
  return {0, unpack(u)}
end
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[1], 'turn', ARGV[1], 'sample_rate', ARGV[2], 'next_chunk', '0',
           'size', '0', 'status', 'open', 'claimed_ms', '0', 'result', '')
expire_both(ARGV[3])
return {1, unpack(read())}
"""
)

# ARGV: index, data, max_bytes, ttl_s -> {outcome, next_chunk, size}
_UPLOAD_APPEND = (
    _UPLOAD_LIB
    + """
local u = redis.call('HMGET', KEYS[1], 'status', 'next_chunk', 'size')
if not u[1] then
  return {'missing', 0, 0}
end
local next_chunk, size = tonumber(u[2]), tonumber(u[3])
local index = tonumber(ARGV[1])
local outcome = nil
if u[1] ~= 'open' then
  outcome = 'closed'
elseif index < next_chunk then
  outcome = 'duplicate'
elseif index > next_chunk then
  outcome = 'gap'
elseif size + string.len(ARGV[2]) > tonumber(ARGV[3]) then
  outcome = 'too_large'
end
if outcome then
  return {outcome, next_chunk, size}
end
redis.call('APPEND', KEYS[2], ARGV[2])
next_chunk = next_chunk + 1
size = size + string.len(ARGV[2])
redis.call('HSET', KEYS[1], 'next_chunk', string.format('%d', next_chunk),
           'size', string.format('%d', size))
expire_both(ARGV[4])
return {'ok', next_chunk, size}
"""
)

# ARGV: chunks, stale_ms -> {outcome, turn, sample_rate, ...} ({'missing'} alone). Keeps the
# expiry the last append set (a claim is not given a ttl).
_UPLOAD_CLAIM = (
    _UPLOAD_LIB
    + """
local u = read()
if not u[5] then
  return {'missing'}
end
if u[5] == 'done' then
  return {'done', unpack(u)}
end
if tonumber(u[3]) ~= tonumber(ARGV[1]) then
  return {'incomplete', unpack(u)}
end
local now = now_ms()
if u[5] == 'transcribing' and now - tonumber(u[6]) < tonumber(ARGV[2]) then
  return {'busy', unpack(u)}
end
redis.call('HSET', KEYS[1], 'status', 'transcribing', 'claimed_ms', string.format('%d', now))
return {'claimed', unpack(read())}
"""
)

# Gives up a claim: open again (its expiry kept); nothing unless it is being transcribed.
_UPLOAD_RELEASE = """
if redis.call('HGET', KEYS[1], 'status') == 'transcribing' then
  redis.call('HSET', KEYS[1], 'status', 'open', 'claimed_ms', '0')
  return 1
end
return 0
"""

# The audio, read undecoded; nil when the upload is missing or finished (audio dropped).
_UPLOAD_AUDIO = """
local u = redis.call('HMGET', KEYS[1], 'status', 'size')
if not u[1] or u[1] == 'done' then
  return false
end
local audio = redis.call('GET', KEYS[2])
if not audio then
  if tonumber(u[2]) > 0 then
    return false
  end
  return ''
end
return audio
"""

# ARGV: result, ttl_s. Nothing when the upload is missing.
_UPLOAD_FINISH = (
    _UPLOAD_LIB
    + """
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[1], 'status', 'done', 'result', ARGV[1])
expire_both(ARGV[2])
return 1
"""
)

_UPLOAD_FIELDS = ("turn", "sample_rate", "next_chunk", "size", "status", "claimed_ms", "result")

# Commands per pipeline of the periodic bulk calls. The replies to one pipeline are parsed
# without a pause, so a large one (a lease renewal for every interview of a busy process)
# would hold up every stream for tens of milliseconds, and a loop running near capacity
# takes several times as long again to catch up: slices keep each pause to a few ms.
_SLICE = 128
# Appends per batch: one batch at a time keeps each interview's appends in order, so
# its size bounds the rate (slices of 128 fell behind 800 streams: token latency p50 0.3 s).
_MAX_BATCH = 512
# What appends wait out, however long it lasts: an outage, a cluster mid-failover, a
# server refusing for now (OOM, BUSY). Not a ``DataError``: an argument that cannot be sent.
_TRANSIENT = (RedisError, RedisClusterException, OSError)
_TEXT_OR_NONE = (str, type(None))
# Attempts at a batch that fails otherwise, before its appends are sent one by one.
_SEND_ATTEMPTS = 3
_SUBSCRIBE_TIMEOUT_S = 5.0
_START_SUBSCRIBE_TIMEOUT_S = 1.0

# Calls of one script per EVALSHA of its ``_many_calls`` form (one server).
_MANY_CALLS = 1024

ScriptCall = tuple[AsyncScript, Sequence[str], Sequence[Any]]  # script, keys, args
KeysArgs = tuple[Sequence[str], Sequence[Any]]


def _now_ms() -> int:
    return int(time.time() * 1000)


async def _eval_many(client: RedisClient, calls: Sequence[ScriptCall]) -> list[Any]:
    """Run script calls as non-transactional pipelines of at most ``_SLICE``; each result,
    or its error.

    redis-py's cluster pipeline refuses ``evalsha()`` (and ``Script(client=pipe)``), but
    routes a raw EVALSHA by its keys like any keyed command, grouping calls per node. Nor
    does it load scripts first as the single-server pipeline does (one SCRIPT EXISTS per
    pipeline): a node without the script (a new node, a failover, SCRIPT FLUSH) answers
    NOSCRIPT without running it, so the script is loaded (on every primary of a cluster)
    and only those calls are sent again, still in their order.
    """
    results: list[Any] = []
    for start in range(0, len(calls), _SLICE):
        results += await _eval_slice(client, calls[start : start + _SLICE])
    return results


async def _eval_slice(client: RedisClient, calls: Sequence[ScriptCall]) -> list[Any]:
    results: list[Any] = [None] * len(calls)
    todo = list(range(len(calls)))
    for attempt in range(2):
        pipe = client.pipeline(transaction=False)
        for i in todo:
            script, keys, args = calls[i]
            pipe.execute_command("EVALSHA", script.sha, len(keys), *keys, *args)
        answers = await pipe.execute(raise_on_error=False)
        missing = []
        for i, answer in zip(todo, answers, strict=True):
            results[i] = answer
            if isinstance(answer, NoScriptError):
                missing.append(i)
        if not missing or attempt:
            break
        for script in {calls[i][0] for i in missing}:
            await client.script_load(script.script)
        todo = missing
    return results


def _many_calls(body: str) -> str:
    """``body`` (a script taking a fixed number of keys) as one script for many calls.
    KEYS: every call's keys in turn. ARGV: the keys per call, then for each call its number
    of args and its args. Answers each call's reply, or its error, in order: an error
    raised by one call (``redis.call`` on a key of the wrong type) fails only that call."""
    return (
        """
local function one(KEYS, ARGV)
"""
        + body
        + """
end
local per = tonumber(ARGV[1])
local out, k, a, n = {}, 0, 2, 0
while a <= #ARGV do
  local count = tonumber(ARGV[a])
  local keys, args = {}, {}
  for j = 1, per do keys[j] = KEYS[k + j] end
  for j = 1, count do args[j] = ARGV[a + j] end
  k, a, n = k + per, a + count + 1, n + 1
  local ok, answer = pcall(one, keys, args)
  if ok or type(answer) == 'table' then
    out[n] = answer
  else
    out[n] = redis.error_reply(tostring(answer))
  end
end
return out
"""
    )


class _ManyCalls:
    """A script called for many interviews at once (a batch of appends, a process's lease
    renewals). In a pipeline, redis-py spends ~14 µs of the gateway's CPU per call on
    encoding it and reading its reply, most of what an append or a renewal costs the
    process; on one server a single call of the script's ``_many_calls`` form carries up to
    ``_MANY_CALLS`` of them for a tenth of that. On a cluster the calls' keys lie on
    different shards, so each is its own EVALSHA (``_eval_many``)."""

    def __init__(self, client: RedisClient, body: str, keys_per_call: int) -> None:
        self.client = client
        self.one = client.register_script(body)
        self.keys_per_call = keys_per_call
        self._many = (
            None if isinstance(client, RedisCluster) else client.register_script(_many_calls(body))
        )

    async def run(self, calls: Sequence[KeysArgs]) -> list[Any]:
        """Each call's reply, or its error (a ``ResponseError``), in order."""
        if self._many is None:
            return await _eval_many(self.client, [(self.one, keys, args) for keys, args in calls])
        results: list[Any] = []
        for start in range(0, len(calls), _MANY_CALLS):
            some = calls[start : start + _MANY_CALLS]
            flat_args: list[Any] = [self.keys_per_call]
            for keys, args in some:
                assert len(keys) == self.keys_per_call
                flat_args.append(len(args))
                flat_args += args
            flat_keys = [key for keys, _ in some for key in keys]
            results += await self._many(keys=flat_keys, args=flat_args)
        return results


async def _per_key(
    client: RedisClient, keys: Sequence[str], command: Callable[[Any, str], object]
) -> list[Any]:
    """One command per key, as pipelines of at most ``_SLICE`` (not MGET and friends: the
    keys live on different shards of a cluster)."""
    results: list[Any] = []
    for start in range(0, len(keys), _SLICE):
        pipe = client.pipeline(transaction=False)
        for key in keys[start : start + _SLICE]:
            command(pipe, key)
        results += await pipe.execute()
    return results


def _parse_snapshot(raw: Any) -> Snapshot | None:
    """What ``_SNAPSHOT`` (and the start of ``_CLAIM_START``) answers."""
    if not raw:
        return None
    seq, active_ms, state, text, facts, failures = raw[:6]
    return Snapshot(int(seq), str(state), str(text), int(active_ms), str(facts), int(failures))


def _buffered_replies(pubsub: PubSub) -> Callable[[], Any]:
    """The subscription's next reply already read from the socket (None when there is none)."""
    parser = getattr(pubsub.connection, "_parser", None)
    reader = getattr(parser, "_reader", None)
    if not isinstance(reader, hiredis.Reader):
        return lambda: None

    def next_reply() -> Any:
        reply = reader.gets()
        return None if reply is NOT_ENOUGH_DATA else reply

    return next_reply


def _raise_first(results: list[Any]) -> list[Any]:
    for result in results:
        if isinstance(result, Exception):
            raise result
    return results


class RedisKeys:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.channel_prefix = f"{prefix}ch:"

    def of(self, interview_id: str, kind: str) -> str:
        return f"{self.prefix}{{{interview_id}}}:{kind}"

    def channel(self, interview_id: str) -> str:
        return self.channel_prefix + interview_id

    def upload(self, interview_id: str, upload_id: str) -> list[str]:
        """An upload's metadata hash and audio string, under the interview's hash tag."""
        return [
            self.of(interview_id, f"upload:{upload_id}"),
            self.of(interview_id, f"audio:{upload_id}"),
        ]


class RedisEventLog:
    def __init__(
        self, client: RedisClient, subscriber: Redis, keys: RedisKeys, *, log_cap: int
    ) -> None:
        self.redis = client
        self.keys = keys
        self.log_cap = log_cap
        # Pub/sub gets its own connection: it blocks on reads for its whole life. On a
        # cluster it talks to one node: PUBLISH reaches subscribers on every node.
        self._sub_redis = subscriber
        self._pubsub: PubSub | None = None
        self._sub_lock = asyncio.Lock()
        self._channels: set[str] = set()
        self._pending: set[str] = set()
        # Channels sent in a SUBSCRIBE whose confirmation the listener has not read yet.
        self._unconfirmed: dict[str, asyncio.Future[None]] = {}
        self._queue: asyncio.Queue[tuple[str, list[Any], int]] = asyncio.Queue()
        self._queued = 0  # appends queued so far: each one's number is its place in line
        self._idle = asyncio.Event()
        self._idle.set()
        self._tasks: list[asyncio.Task[None]] = []
        self._closing = False
        self.listener: LiveListener | None = None
        self._control = keys.prefix + "ctl"
        self._channel_prefix_len = len(keys.channel_prefix)
        self._append = _ManyCalls(client, _APPEND, keys_per_call=3)
        self._failed = client.register_script(_FAILED)
        self._create = client.register_script(_CREATE)
        self._snapshot = client.register_script(_SNAPSHOT)

    async def start(self, listener: LiveListener) -> None:
        self.listener = listener
        # Subscribe confirmations are read too: ``subscribe`` waits for them.
        self._pubsub = self._sub_redis.pubsub(ignore_subscribe_messages=False)
        confirmed = asyncio.get_running_loop().create_future()
        self._unconfirmed[self._control] = confirmed
        self._tasks = [
            asyncio.create_task(self._listen(), name="redis-live-listen"),
            asyncio.create_task(self._publish(), name="redis-live-publish"),
        ]
        # Revocations and monitor updates arrive on the control channel: be subscribed to
        # it before serving, so none published from here on is missed. Bounded: with Redis
        # down, start-up goes on and the listener subscribes when it can.
        await asyncio.wait({confirmed}, timeout=_START_SUBSCRIBE_TIMEOUT_S)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.flush(), timeout=5)
        # redis-py can turn a cancellation mid-connect into a ConnectionError, which the
        # loops would retry: they also stop on this flag, and we never wait unbounded.
        self._closing = True
        for channel in list(self._unconfirmed):
            self._confirm(channel)
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=3)
        if self._pubsub is not None:
            with contextlib.suppress(Exception):
                await self._pubsub.aclose()  # type: ignore[no-untyped-call]
        await self._sub_redis.aclose()

    # --- fan-out ------------------------------------------------------------------

    async def subscribe(self, interview_ids: Iterable[str]) -> None:
        if self._pubsub is None:
            return
        wanted = {self.keys.channel(iid) for iid in interview_ids}
        new = wanted - self._channels
        loop = asyncio.get_running_loop()
        for channel in new:
            self._unconfirmed[channel] = loop.create_future()
        waits = [self._unconfirmed[c] for c in wanted if c in self._unconfirmed]
        if new:
            self._channels |= new
            self._pending |= new
            async with self._sub_lock:
                # Whoever gets the lock first sends every channel asked for meanwhile: a
                # burst of interview starts costs one SUBSCRIBE, not one each.
                if self._pending:
                    batch = list(self._pending)
                    self._pending.clear()
                    try:
                        await self._pubsub.subscribe(*batch)
                    except BaseException:
                        self._channels.difference_update(batch)  # let a later call retry
                        for channel in batch:
                            self._confirm(channel)
                        raise
        if waits:
            # SUBSCRIBE only sends. Until Redis has processed it, an event published on
            # another connection (or another node) is not delivered here: return once the
            # listener has read the confirmations, so whatever is appended afterwards is.
            _, unconfirmed = await asyncio.wait(waits, timeout=_SUBSCRIBE_TIMEOUT_S)
            if unconfirmed:
                log_throttled(
                    log, "live subscription not confirmed in time", channels=len(unconfirmed)
                )

    def _confirm(self, channel: str) -> None:
        future = self._unconfirmed.pop(channel, None)
        if future is not None and not future.done():
            future.set_result(None)

    async def unsubscribe(self, interview_id: str) -> None:
        channel = self.keys.channel(interview_id)
        if channel not in self._channels or self._pubsub is None:
            return
        self._channels.discard(channel)
        self._pending.discard(channel)
        self._confirm(channel)  # nobody waits for a subscription that is going away
        async with self._sub_lock:
            # While the subscription reconnects, redis-py may also fail with an AttributeError
            # (no connection yet); a channel left subscribed only delivers what nobody reads.
            with contextlib.suppress(RedisError, OSError, AttributeError):
                await self._pubsub.unsubscribe(channel)

    async def _listen(self) -> None:
        assert self._pubsub is not None and self.listener is not None
        pubsub, listener = self._pubsub, self.listener
        failed = False
        while not self._closing:
            try:
                if not pubsub.subscribed:
                    # The control channel (revocations) keeps the connection subscribed when
                    # no interview is; subscribing here lets start-up succeed with Redis down.
                    # Under the lock: PubSub opens its connection on the first command, and
                    # two first commands at once would open two, one of them never read.
                    async with self._sub_lock:
                        await pubsub.subscribe(self._control)
                if failed:
                    # Reconnect (redis-py resubscribes every channel as it does) before saying
                    # so: repairing gaps while Redis is still down would only fail.
                    async with self._sub_lock:
                        await pubsub.ping()
                    failed = False
                    log.info("live subscription re-established")
                    listener.on_reconnect()
                # As ``listen()`` does (blocking reads: no timer per message), but an event
                # is dispatched from the raw reply: ``handle_message`` builds a dict and
                # awaits its metrics hooks for each, a third of what a message cost the
                # process. Every other reply goes through it (it keeps the subscription's
                # own record of channels, which a reconnect subscribes again).
                while pubsub.subscribed:
                    response = await pubsub.parse_response(block=True)
                    # The replies already read with it are parsed here without an await
                    # each: redis-py's read path (health check, retry wrapper, timeouts)
                    # cost more than the message, and a busy process reads dozens at once.
                    reader = _buffered_replies(pubsub)
                    while response is not None:
                        if isinstance(response, list) and response[0] == "message":
                            try:
                                self._dispatch(response[1], response[2])
                            except Exception as exc:  # one bad message, not a deaf process
                                log_throttled(
                                    log,
                                    "live message not handled",
                                    level=logging.ERROR,
                                    channel=response[1][:200],
                                    error=f"{type(exc).__name__}: {exc}"[:200],
                                )
                        elif isinstance(response, Exception):
                            raise response  # an error reply, as redis-py raises the first
                        else:
                            message = await pubsub.handle_message(response)  # type: ignore[no-untyped-call]
                            if message is not None and message["type"] == "subscribe":
                                self._confirm(message["channel"])
                        response = reader()
            except (RedisError, OSError) as exc:
                # The PubSub object resubscribes on the next call; what was published
                # meanwhile is gone, so the gateway repairs gaps from the log. An error
                # reply (a ResponseError) is handled the same way: the listener must not
                # die of it, leaving the process deaf to every interview.
                if not failed:
                    log.warning("live subscription lost, reconnecting", extra={"error": str(exc)})
                failed = True
                await asyncio.sleep(0.5)

    def _dispatch(self, channel: str, data: str) -> None:
        """One published message: an event, a poke or a reply, or a control message."""
        listener = self.listener
        assert listener is not None
        if channel == self._control:
            if data[0] == "v":  # v<user id> <token version>
                user_id, _, version = data[1:].partition(" ")
                listener.on_revoked(user_id, int(version))
            elif data[0] == "m":  # m<monitor payload>
                listener.on_monitor(data[1:])
            return
        interview_id = channel[self._channel_prefix_len :]
        kind = data[0]
        if kind == "e":
            space = data.index(" ")
            listener.on_event(interview_id, int(data[1:space]), data[space + 1 :])
        elif kind == "p":
            listener.on_poke(interview_id)
        elif kind == "r":
            space = data.index(" ")
            listener.on_reply(interview_id, data[1:space], data[space + 1 :])

    # --- state and log -----------------------------------------------------------

    def append(
        self,
        interview_id: str,
        seq: int,
        payload: str,
        state: str | None,
        text: TextUpdate = KEEP_TEXT,
    ) -> int:
        args: list[Any] = [
            seq,
            payload,
            self.log_cap,
            text.mode,
            text.text,
            _now_ms(),
            self.keys.channel(interview_id),
        ]
        if state is not None:
            args.append(state)
        self._queued += 1
        if type(payload) is not str or type(state) not in _TEXT_OR_NONE:
            # Redis could never be sent this (no wire form): refused now, alone, as Redis
            # refuses an append. In a batch it would fail every append with it, and on a
            # cluster after some of them had landed on other nodes.
            log.error("append refused: payload or state is not text", extra={"seq": seq})
            if self.listener is not None:
                asyncio.get_running_loop().call_soon(
                    self.listener.on_stale, interview_id, self._queued
                )
            return self._queued
        self._idle.clear()
        self._queue.put_nowait((interview_id, args, self._queued))
        return self._queued

    async def _publish(self) -> None:
        """Sends whatever appends are queued as one batch (~3x faster than one await each)."""
        while not self._closing:
            if self._queue.empty():
                self._idle.set()
            batch = [await self._queue.get()]
            while not self._queue.empty() and len(batch) < _MAX_BATCH:
                batch.append(self._queue.get_nowait())
            await self._deliver(batch)

    async def _deliver(self, batch: list[tuple[str, list[Any], int]]) -> None:
        """Sends ``batch`` until it lands. An outage is waited out, however long: nothing
        is lost. Any other failure (an append Redis cannot be sent, a fault of the client)
        is tried ``_SEND_ATTEMPTS`` times; then the appends go one by one, and one that
        still fails is dropped and reported refused, so it cannot hold up the others."""
        failures = 0
        while not self._closing:
            try:
                await self._send(batch)
                return
            except Exception as exc:
                if isinstance(exc, _TRANSIENT) and not isinstance(exc, DataError):
                    # Expected during an outage: one line a second, with a count.
                    log_throttled(
                        log,
                        "live append failed, retrying",
                        error=f"{type(exc).__name__}: {exc}"[:200],
                        appends=len(batch),
                    )
                    await asyncio.sleep(0.2)
                    continue
                failures += 1
                log_throttled(
                    log,
                    "live append failed",
                    level=logging.ERROR,
                    error=f"{type(exc).__name__}: {exc}"[:200],
                    appends=len(batch),
                    attempt=failures,
                )
                if failures >= _SEND_ATTEMPTS:
                    if len(batch) > 1:
                        for one in batch:
                            await self._deliver([one])
                        return
                    interview_id, args, number = batch[0]
                    log.error(
                        "append dropped: it cannot be sent",
                        extra={"interview_id": interview_id, "seq": args[0]},
                    )
                    if self.listener is not None:
                        self.listener.on_stale(interview_id, number)
                    return
            await asyncio.sleep(0.2)

    async def _send(self, batch: list[tuple[str, list[Any], int]]) -> None:
        calls = [
            ([self.keys.of(interview_id, k) for k in ("s", "t", "l")], args)
            for interview_id, args, _ in batch
        ]
        results = await self._append.run(calls)
        for (interview_id, args, number), result in zip(batch, results, strict=True):
            if not isinstance(result, ResponseError):
                continue
            if "STALE" not in str(result):
                log_throttled(
                    log,
                    "append failed",
                    level=logging.ERROR,
                    interview_id=interview_id,
                    error=str(result)[:200],
                )
                continue
            # Refused: another process drives the interview now, or its live state is gone
            # ("STALE -1": after a Redis restart, every append queued meanwhile). Each is
            # reported; the runner that wrote it stops on the first.
            stored = str(result).removeprefix("STALE").strip()
            log_throttled(
                log,
                "append refused: interview driven elsewhere or live state lost",
                interview_id=interview_id,
                seq=args[0],
                stored=stored,
            )
            if self.listener is not None:
                self.listener.on_stale(interview_id, number)

    async def flush(self) -> None:
        await self._idle.wait()

    async def create(
        self, interview_id: str, state: str, *, facts: str = "", ttl_s: int = 0
    ) -> bool:
        keys = [self.keys.of(interview_id, k) for k in ("s", "t", "l", "c", "f")]
        return bool(await self._create(keys=keys, args=[state, _now_ms(), facts, ttl_s]))

    def _snapshot_keys(self, interview_id: str, with_facts: bool = False) -> list[str]:
        kinds = ("s", "t", "f") if with_facts else ("s", "t")
        return [self.keys.of(interview_id, kind) for kind in kinds]

    async def snapshot(self, interview_id: str, *, with_facts: bool = False) -> Snapshot | None:
        keys = self._snapshot_keys(interview_id, with_facts)
        return _parse_snapshot(await self._snapshot(keys=keys))

    async def snapshots(self, interview_ids: Iterable[str]) -> dict[str, Snapshot | None]:
        ids = list(interview_ids)
        if not ids:
            return {}
        calls = [(self._snapshot, self._snapshot_keys(iid), ()) for iid in ids]
        results = _raise_first(await _eval_many(self.redis, calls))
        return {iid: _parse_snapshot(raw) for iid, raw in zip(ids, results, strict=True)}

    async def record_failure(self, interview_id: str) -> int:
        return int(await self._failed(keys=[self.keys.of(interview_id, "s")]))

    async def read_log(self, interview_id: str, after_seq: int) -> LogRead:
        key = self.keys.of(interview_id, "l")
        pipe = self.redis.pipeline(transaction=False)
        pipe.xrange(key, "-", "+", count=1)
        pipe.xrange(key, f"{after_seq + 1}-0", "+")
        first, rows = await pipe.execute()
        if not first:
            return LogRead([], 0)
        oldest = int(first[0][0].split("-", 1)[0])
        entries = [
            LogEntry(int(entry_id.split("-", 1)[0]), fields["e"]) for entry_id, fields in rows
        ]
        return LogRead(entries, oldest)

    async def expire(self, interview_id: str, ttl_s: int) -> None:
        pipe = self.redis.pipeline(transaction=False)
        for kind in ("s", "t", "l", "f"):
            pipe.expire(self.keys.of(interview_id, kind), ttl_s)
        await pipe.execute()

    async def reply(self, interview_id: str, connection_id: str, payload: str) -> None:
        await self.redis.publish(self.keys.channel(interview_id), f"r{connection_id} {payload}")

    async def poke(self, interview_id: str) -> None:
        await self.redis.publish(self.keys.channel(interview_id), "p")

    async def announce_revocation(self, user_id: str, token_version: int) -> None:
        await self.redis.publish(self._control, f"v{user_id} {token_version}")


class RedisLeases:
    def __init__(self, client: RedisClient, keys: RedisKeys) -> None:
        self.redis = client
        self.keys = keys
        self._renew = _ManyCalls(client, _RENEW, keys_per_call=1)
        self._release = client.register_script(_RELEASE)
        self._claim_start = client.register_script(_CLAIM_START)

    async def claim_start(self, interview_id: str, holder: str, ttl_ms: int) -> StartClaim | None:
        keys = [self.keys.of(interview_id, kind) for kind in ("s", "t", "f", "lease")]
        raw = await self._claim_start(keys=keys, args=[holder, ttl_ms])
        snapshot = _parse_snapshot(raw)
        return None if snapshot is None else StartClaim(snapshot, raw[6] == 1)

    async def acquire(self, interview_id: str, holder: str, ttl_ms: int) -> bool:
        key = self.keys.of(interview_id, "lease")
        if await self.redis.set(key, holder, nx=True, px=ttl_ms):
            return True
        # A retried SET NX that had succeeded answers None: confirm by reading.
        current = await self.redis.get(key)
        if current == holder:
            await self.redis.pexpire(key, ttl_ms)
            return True
        return False

    async def renew(
        self, holder: str, interview_ids: Iterable[str], ttl_ms: int
    ) -> dict[str, bool]:
        ids = list(interview_ids)
        if not ids:
            return {}
        calls = [([self.keys.of(iid, "lease")], (holder, ttl_ms)) for iid in ids]
        results = _raise_first(await self._renew.run(calls))
        return {interview_id: bool(ok) for interview_id, ok in zip(ids, results, strict=True)}

    async def release(self, interview_id: str, holder: str) -> None:
        await self._release(keys=[self.keys.of(interview_id, "lease")], args=[holder])

    async def holder(self, interview_id: str) -> str | None:
        holder = await self.redis.get(self.keys.of(interview_id, "lease"))
        return None if holder is None else str(holder)

    async def unleased(self, interview_ids: Iterable[str]) -> list[str]:
        ids = list(interview_ids)
        if not ids:
            return []
        keys = [self.keys.of(iid, "lease") for iid in ids]
        holders = await _per_key(self.redis, keys, lambda pipe, key: pipe.get(key))
        return [iid for iid, holder in zip(ids, holders, strict=True) if holder is None]

    async def touch_presence(self, interview_ids: Iterable[str], ttl_ms: int) -> None:
        ids = list(interview_ids)
        if not ids:
            return
        keys = [self.keys.of(iid, "pres") for iid in ids]
        await _per_key(self.redis, keys, lambda pipe, key: pipe.set(key, "1", px=ttl_ms))

    async def has_presence(self, interview_id: str) -> bool:
        return bool(await self.redis.exists(self.keys.of(interview_id, "pres")))

    async def present(self, interview_ids: Iterable[str]) -> set[str]:
        ids = list(interview_ids)
        if not ids:
            return set()
        keys = [self.keys.of(iid, "pres") for iid in ids]
        found = await _per_key(self.redis, keys, lambda pipe, key: pipe.exists(key))
        return {iid for iid, exists in zip(ids, found, strict=True) if exists}


class RedisInbox:
    def __init__(self, client: RedisClient, keys: RedisKeys) -> None:
        self.redis = client
        self.keys = keys
        self._push = client.register_script(_PUSH)

    async def push(self, interview_id: str, command: str) -> None:
        # A script rather than a pipeline: a cluster pipeline refuses PUBLISH.
        await self._push(
            keys=[self.keys.of(interview_id, "c")],
            args=[command, 24 * 3600, self.keys.channel(interview_id)],
        )

    async def pop(self, interview_id: str) -> list[str]:
        commands = await self.redis.lpop(self.keys.of(interview_id, "c"), 100)
        return [str(c) for c in commands] if isinstance(commands, list) else []

    async def expire(self, interview_id: str, ttl_s: int) -> None:
        await self.redis.expire(self.keys.of(interview_id, "c"), ttl_s)


class RedisCounters:
    def __init__(self, client: RedisClient, keys: RedisKeys) -> None:
        self.redis = client
        self.keys = keys
        self._hit = client.register_script(_HIT)

    async def hit(self, key: str, window_s: int) -> tuple[int, int]:
        count, ttl = await self._hit(keys=[f"{self.keys.prefix}rl:{key}"], args=[window_s])
        return int(count), max(1, int(ttl))

    async def get_int(self, key: str) -> int | None:
        value = await self.redis.get(f"{self.keys.prefix}v:{key}")
        return None if value is None else int(value)

    async def set_int(self, key: str, value: int, ttl_s: int) -> None:
        await self.redis.set(f"{self.keys.prefix}v:{key}", value, ex=ttl_s)


# What the scripts answer, checked against the protocol's literals (KeyError otherwise).
_STATUSES: dict[str, UploadStatus] = {s: s for s in get_args(UploadStatus)}
_APPEND_OUTCOMES: dict[str, AppendOutcome] = {o: o for o in get_args(AppendOutcome)}
_CLAIM_OUTCOMES: dict[str, ClaimOutcome] = {o: o for o in get_args(ClaimOutcome)}


def _parse_upload(fields: Sequence[Any]) -> Upload | None:
    turn, sample_rate, next_chunk, size, status, claimed_ms, result = fields
    if status is None:
        return None
    return Upload(
        int(turn),
        int(sample_rate),
        int(next_chunk),
        int(size),
        _STATUSES[status],
        int(claimed_ms or 0),
        str(result or ""),
    )


class RedisUploads:
    """Recordings, chunk by chunk: every call is one round trip (a script, where it writes)."""

    def __init__(self, client: RedisClient, keys: RedisKeys) -> None:
        self.redis = client
        self.keys = keys
        self._open = client.register_script(_UPLOAD_OPEN)
        self._append = client.register_script(_UPLOAD_APPEND)
        self._claim = client.register_script(_UPLOAD_CLAIM)
        self._release = client.register_script(_UPLOAD_RELEASE)
        self._audio = client.register_script(_UPLOAD_AUDIO)
        self._finish = client.register_script(_UPLOAD_FINISH)

    async def open(
        self, interview_id: str, upload_id: str, *, turn: int, sample_rate: int, ttl_s: int
    ) -> tuple[Upload, bool]:
        keys = self.keys.upload(interview_id, upload_id)
        created, *fields = await self._open(keys=keys, args=[turn, sample_rate, ttl_s])
        upload = _parse_upload(fields)
        assert upload is not None
        return upload, bool(created)

    async def append(
        self,
        interview_id: str,
        upload_id: str,
        index: int,
        data: bytes,
        *,
        max_bytes: int,
        ttl_s: int,
    ) -> ChunkAppend:
        keys = self.keys.upload(interview_id, upload_id)
        outcome, next_chunk, size = await self._append(
            keys=keys, args=[index, data, max_bytes, ttl_s]
        )
        return ChunkAppend(_APPEND_OUTCOMES[outcome], int(next_chunk), int(size))

    async def claim(
        self, interview_id: str, upload_id: str, *, chunks: int, stale_ms: int
    ) -> Claim:
        keys = self.keys.upload(interview_id, upload_id)
        outcome, *fields = await self._claim(keys=keys, args=[chunks, stale_ms])
        if outcome == "missing":
            return Claim("missing", None)
        return Claim(_CLAIM_OUTCOMES[outcome], _parse_upload(fields))

    async def release(self, interview_id: str, upload_id: str) -> None:
        await self._release(keys=self.keys.upload(interview_id, upload_id)[:1])

    async def audio(self, interview_id: str, upload_id: str) -> bytes | None:
        # The client decodes replies to str, audio is binary: this reply is read undecoded,
        # so the script is called by hand (loaded again on NOSCRIPT, as AsyncScript does).
        keys = self.keys.upload(interview_id, upload_id)
        command: list[str | int] = ["EVALSHA", self._audio.sha, len(keys), *keys]
        try:
            raw = await self.redis.execute_command(*command, **{NEVER_DECODE: True})
        except NoScriptError:
            await self.redis.script_load(self._audio.script)
            raw = await self.redis.execute_command(*command, **{NEVER_DECODE: True})
        return None if raw is None else bytes(raw)

    async def finish(self, interview_id: str, upload_id: str, result: str, *, ttl_s: int) -> None:
        keys = self.keys.upload(interview_id, upload_id)
        await self._finish(keys=keys, args=[result, ttl_s])

    async def get(self, interview_id: str, upload_id: str) -> Upload | None:
        meta = self.keys.upload(interview_id, upload_id)[0]
        return _parse_upload(await self.redis.hmget(meta, list(_UPLOAD_FIELDS)))

    async def discard(self, interview_id: str, upload_id: str) -> None:
        await self.redis.delete(*self.keys.upload(interview_id, upload_id))


class RedisMonitor:
    """Summaries in one hash (``{prefix}monitor``: one slot on a cluster), with each
    process's latest sign of life under ``@process`` (no interview id starts with ``@``);
    updates on the control channel every process already listens to."""

    def __init__(self, client: RedisClient, keys: RedisKeys) -> None:
        self.redis = client
        self.key = keys.prefix + "monitor"
        self.channel = keys.prefix + "ctl"

    async def publish(
        self,
        entries: Mapping[str, str],
        removed: Sequence[str],
        payload: str,
        *,
        process: str,
        alive_ms: int | None,
    ) -> None:
        stored: dict[Any, Any] = dict(entries)
        gone = list(removed)
        if alive_ms is None:
            gone.append(_PROCESS + process)
        else:
            stored[_PROCESS + process] = str(alive_ms)
        if stored:
            await self.redis.hset(self.key, mapping=stored)
        if gone:
            await self.redis.hdel(self.key, *gone)
        await self.redis.publish(self.channel, "m" + payload)

    async def entries(self) -> MonitorEntries:
        found = await self.redis.hgetall(self.key)
        summaries: dict[str, str] = {}
        alive: dict[str, int] = {}
        for key, value in found.items():
            field = str(key)
            if not field.startswith(_PROCESS):
                summaries[field] = str(value)
            elif str(value).isdigit():
                alive[field[len(_PROCESS) :]] = int(value)
        return MonitorEntries(summaries, alive)

    async def forget(self, interview_ids: Sequence[str], processes: Sequence[str] = ()) -> None:
        fields = [*interview_ids, *(_PROCESS + process for process in processes)]
        if fields:
            await self.redis.hdel(self.key, *fields)


_PROCESS = "@"


def redis_live_store(
    url: str, *, prefix: str = "interview:", max_connections: int = 64, log_cap: int = 10_000
) -> LiveStore:
    """The live store on Redis; ``url`` may name a single server or a Redis Cluster."""
    name = "".join(c if c.isalnum() or c in ":-_" else "_" for c in prefix)
    client, subscriber = connect(
        url, max_connections=max_connections, subscriber_name=f"{name}subscription"
    )
    keys = RedisKeys(prefix)
    events = RedisEventLog(client, subscriber, keys, log_cap=log_cap)

    async def ping() -> None:
        await client.ping()

    async def close() -> None:
        await events.close()
        await close_client(client)

    return LiveStore(
        name="redis",
        events=events,
        leases=RedisLeases(client, keys),
        inbox=RedisInbox(client, keys),
        counters=RedisCounters(client, keys),
        uploads=RedisUploads(client, keys),
        monitor=RedisMonitor(client, keys),
        ping=ping,
        close=close,
    )
