"""Async WebSocket load client for the engine's gateway and for the bare relay baseline.

The definitions are those of ``shared/perf-baseline/loadclient.py`` so the numbers compare:

* per-token latency: receive time - the token's own timestamp (the engine's stub stamps the
  moment it yielded the token; the relay stamps its slot in the pacing schedule);
* time to first token: first frame sent (``hello``, or the relay's prompt) → first token;
* inter-token gap: time between consecutive token arrivals on one socket (0 for tokens that
  share a frame);
* tokens/s: tokens received / (last stream end - first send), and the busiest 1-s bucket.

For the engine it also records the relay's definition ("sched": receive - the token's slot
in the stub's pacing schedule, i.e. first token's stamp + i x interval), which includes the
event-loop lag of the producer that the yield stamp leaves out.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from array import array
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

HANDSHAKES_AT_ONCE = 100
CONNECT_TIMEOUT_S = 30.0
CLOSE_TIMEOUT_S = 2.0

Mode = Literal["engine", "relay"]


def _floats() -> array[float]:
    return array("d")


@dataclass
class StreamStats:
    """What the streaming sockets of one run saw (times in ms unless named ``_s``)."""

    t0: float  # wall clock at the start of the window; 1-s buckets count from here
    lat_sched: array[float] = field(default_factory=_floats)
    gaps: array[float] = field(default_factory=_floats)
    zero_gaps: int = 0  # tokens that arrived in the same frame as the previous one
    ttft: array[float] = field(default_factory=_floats)
    buckets: dict[int, int] = field(default_factory=dict)
    # Per-token latency by receive second: the ramp and the steady state can be told apart.
    lat_by_s: dict[int, array[float]] = field(default_factory=dict)
    tokens: int = 0
    frames: int = 0
    opened: int = 0
    completed: int = 0
    first_send: float | None = None
    last_first: float = 0.0  # when the last stream got its first token: the ramp is over
    last_end: float | None = None
    errors: Counter[str] = field(default_factory=Counter)

    def all_lat(self, after_ramp: bool = False) -> array[float]:
        """Every token's latency, or those received in the seconds after the ramp."""
        first = int(self.last_first - self.t0) + 1 if after_ramp else -1
        out: array[float] = array("d")
        for bucket in sorted(self.lat_by_s):
            if bucket >= first:
                out.extend(self.lat_by_s[bucket])
        return out


class ProtocolViolation(Exception):
    pass


def percentiles(values: Sequence[float], ps: Sequence[float], zeros: int = 0) -> list[float | None]:
    """Nearest-rank percentiles (the baseline's) of ``values`` plus ``zeros`` extra zeros."""
    total = len(values) + zeros
    if total == 0:
        return [None for _ in ps]
    ordered = sorted(values)
    out: list[float | None] = []
    for p in ps:
        k = min(total - 1, max(0, round(p / 100 * (total - 1))))
        out.append(0.0 if k < zeros else ordered[k - zeros])
    return out


def _close_label(exc: ConnectionClosed) -> str:
    frame = exc.rcvd
    if frame is None:
        return "connection lost (no close frame)"
    return f"closed by server: {frame.code} {frame.reason[:60]}".rstrip()


def _label(exc: BaseException) -> str:
    text = str(exc)
    return type(exc).__name__ + (f": {text[:80]}" if text else "")


class LoadGen:
    """Opens idle and streaming sockets against one run's servers and keeps the statistics."""

    def __init__(
        self, mode: Mode, *, tokens: int, interval_ms: float, access_token: str = ""
    ) -> None:
        self.mode = mode
        self.tokens = tokens
        self.interval_ms = interval_ms
        self._hello = orjson.dumps({"type": "hello", "token": access_token, "last_seq": 0})
        self._prompt = orjson.dumps(
            {
                "t": "prompt",
                "text": "Tell me about yourself.",
                "n": tokens,
                "delay": interval_ms / 1000,
            }
        )
        self._handshakes = asyncio.Semaphore(HANDSHAKES_AT_ONCE)
        self._sockets: set[ClientConnection] = set()
        self._idle_tasks: list[asyncio.Task[None]] = []
        self._stream_tasks: list[asyncio.Task[None]] = []
        self._closing = False
        self.idle_errors: Counter[str] = Counter()

    # --- connections --------------------------------------------------------------------

    async def _connect(self, url: str) -> ClientConnection:
        ws = await connect(
            url,
            compression=None,
            ping_interval=None,  # the server pings; the library answers on its own
            open_timeout=CONNECT_TIMEOUT_S,
            close_timeout=CLOSE_TIMEOUT_S,
            max_size=2**22,
        )
        self._sockets.add(ws)
        return ws

    async def _greet(self, ws: ClientConnection) -> None:
        """Send hello (engine) and wait for ready, or send the relay's prompt."""
        if self.mode == "relay":
            await ws.send(self._prompt, text=True)
            return
        await ws.send(self._hello, text=True)
        ready = orjson.loads(await ws.recv())
        kind = ready.get("type") if isinstance(ready, dict) else None
        if kind != "ready":
            raise ProtocolViolation(f"first frame is {kind!r}, not ready")

    async def _release(self, ws: ClientConnection) -> None:
        self._sockets.discard(ws)
        with contextlib.suppress(Exception):
            await ws.close()

    # --- idle interviews ----------------------------------------------------------------

    async def open_idle(self, urls: Sequence[str], deadline: float) -> int:
        """Connect the idle interviews.

        The engine's hear their first question out; the relay's never prompt.

        Returns how many are connected and idle when all are (or ``deadline`` passed).
        """
        loop = asyncio.get_running_loop()
        ready = [loop.create_future() for _ in urls]
        self._idle_tasks = [
            asyncio.create_task(self._idle_session(url, fut))
            for url, fut in zip(urls, ready, strict=True)
        ]
        if not ready:
            return 0
        _, pending = await asyncio.wait(ready, timeout=max(0.0, deadline - time.monotonic()))
        if pending:
            self.idle_errors["idle: not idle before the cap"] += len(pending)
        return sum(1 for fut in ready if fut.done() and fut.result())

    async def _idle_session(self, url: str, ready: asyncio.Future[bool]) -> None:
        errors = self.idle_errors
        try:
            async with self._handshakes:
                try:
                    ws = await self._connect(url)
                except Exception as exc:
                    errors[f"idle: connect failed: {_label(exc)}"] += 1
                    return
                if self.mode == "engine":
                    # The engine's first question starts on hello; it is heard out below.
                    # A relay socket stays idle by never prompting (the baseline's --active):
                    # a prompt would make it one more stream, not an idle connection.
                    await self._greet(ws)
            ok = True
            if self.mode == "engine":
                ok = await self._engine_turn(ws, 0.0, None, errors)
            ready.set_result(ok)
            async for _ in ws:  # nothing is expected until the answer deadline
                pass
            if not self._closing:
                errors[f"idle: closed by server: {ws.close_code}"] += 1
        except ConnectionClosed as exc:
            if not self._closing:
                errors[f"idle: {_close_label(exc)}"] += 1
        except ProtocolViolation as exc:
            errors[f"idle: {exc}"] += 1
        except Exception as exc:
            if not self._closing:
                errors[f"idle: {_label(exc)}"] += 1
        finally:
            if not ready.done():
                ready.set_result(False)

    # --- streaming interviews -----------------------------------------------------------

    async def stream(
        self, urls: Sequence[str], deadline: float, on_window_end: Callable[[], None]
    ) -> StreamStats:
        """Start every stream (handshakes 100 at a time) and wait for all to end or the cap.

        ``on_window_end`` runs the moment the last stream ended (or the cap passed), before
        any clean-up, so CPU figures cover exactly the measured window.
        """
        st = StreamStats(t0=time.time())
        self._stream_tasks = [asyncio.create_task(self._stream_session(url, st)) for url in urls]
        pending: set[asyncio.Task[None]] = set()
        if self._stream_tasks:
            _, pending = await asyncio.wait(
                self._stream_tasks, timeout=max(0.0, deadline - time.monotonic())
            )
        on_window_end()
        if pending:
            st.errors["missing turn.end (cap reached)"] += len(pending)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        return st

    async def _stream_session(self, url: str, st: StreamStats) -> None:
        errors = st.errors
        ws: ClientConnection | None = None
        try:
            async with self._handshakes:
                try:
                    ws = await self._connect(url)
                except Exception as exc:
                    errors[f"connect failed: {_label(exc)}"] += 1
                    return
                t_send = time.time()
                if st.first_send is None or t_send < st.first_send:
                    st.first_send = t_send
                await self._greet(ws)
            st.opened += 1
            if self.mode == "engine":
                ok = await self._engine_turn(ws, t_send, st, errors)
            else:
                ok = await self._relay_turn(ws, t_send, st, errors)
            end = time.time()
            if ok:
                st.completed += 1
            if st.last_end is None or end > st.last_end:
                st.last_end = end
            await self._release(ws)
        except ConnectionClosed as exc:
            errors[f"{_close_label(exc)} (before turn.end)"] += 1
        except ProtocolViolation as exc:
            errors[str(exc)] += 1
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            errors[_label(exc)] += 1

    async def _engine_turn(
        self,
        ws: ClientConnection,
        t_send: float,
        st: StreamStats | None,
        errors: Counter[str],
    ) -> bool:
        """Read the interviewer's first turn up to ``turn.end``, checking seq and content.

        With ``st`` each token's latency is recorded; without it (idle interviews) only
        the protocol is checked.
        """
        loads = orjson.loads
        clock = time.time
        recv = ws.recv
        interval = self.interval_ms
        epoch: object = None
        last_seq = 0
        got = 0
        chars = 0
        ts0 = 0.0
        last_arrival = 0.0
        while True:
            raw = await recv()
            now = clock()
            ev = loads(raw)
            seq = ev.get("seq", 0)
            if seq:
                if seq != last_seq + 1:
                    errors["seq gap" if seq > last_seq + 1 else "seq duplicate/reordered"] += 1
                if seq > last_seq:
                    last_seq = seq
                if epoch is None:
                    epoch = ev.get("epoch")
                elif ev.get("epoch") != epoch:
                    errors["epoch changed mid-turn"] += 1
            kind = ev.get("type")
            if kind == "turn.delta":
                text: str = ev["text"]
                chars += len(text)
                if st is None:
                    got += text.count(" ")
                    continue
                toks = text.split()
                n = len(toks)
                if not n:
                    continue
                st.frames += 1
                st.tokens += n
                if got == 0:
                    ts0 = float(toks[0][1:])
                    st.ttft.append((now - t_send) * 1000)
                    st.last_first = max(st.last_first, now)
                else:
                    st.gaps.append((now - last_arrival) * 1000)
                st.zero_gaps += n - 1
                last_arrival = now
                bucket = int(now - st.t0)
                st.buckets[bucket] = st.buckets.get(bucket, 0) + n
                lat = st.lat_by_s.get(bucket)
                if lat is None:
                    lat = st.lat_by_s[bucket] = array("d")
                lat_append = lat.append
                sched_append = st.lat_sched.append
                now_ms = now * 1000
                slot = ts0 + got * interval
                for tok in toks:
                    lat_append(now_ms - float(tok[1:]))
                    sched_append(now_ms - slot)
                    slot += interval
                got += n
            elif kind == "turn.end":
                if len(ev.get("text", "")) != chars:
                    errors["turn.end text differs from the deltas"] += 1
                if got != self.tokens:
                    errors[f"turn had {got} tokens, not {self.tokens}"] += 1
                return True
            elif kind == "error":
                errors[f"error event: {ev.get('code')}"] += 1
            elif kind == "ended":
                errors["interview ended before turn.end"] += 1
                return False

    async def _relay_turn(
        self, ws: ClientConnection, t_send: float, st: StreamStats, errors: Counter[str]
    ) -> bool:
        """Read the relay's stream up to its end marker (the baseline client's parsing)."""
        loads = orjson.loads
        clock = time.time
        recv = ws.recv
        expect = 0
        got = 0
        last_arrival = 0.0
        while True:
            raw = await recv()
            now = clock()
            obj = loads(raw)
            items = obj if isinstance(obj, list) else (obj,)
            now_ms = now * 1000
            bucket = int(now - st.t0)
            lat = st.lat_by_s.get(bucket)
            if lat is None:
                lat = st.lat_by_s[bucket] = array("d")
            n = 0
            end = False
            for item in items:
                if item["t"] == "tok":
                    seq = item["seq"]
                    if seq != expect:
                        errors["seq gap" if seq > expect else "seq duplicate/reordered"] += 1
                    expect = seq + 1
                    lat.append(now_ms - item["ts"] * 1000)
                    n += 1
                elif item["t"] == "end":
                    end = True
            if n:
                st.frames += 1
                st.tokens += n
                if got == 0:
                    st.ttft.append((now - t_send) * 1000)
                    st.last_first = max(st.last_first, now)
                else:
                    st.gaps.append((now - last_arrival) * 1000)
                st.zero_gaps += n - 1
                last_arrival = now
                got += n
                st.buckets[bucket] = st.buckets.get(bucket, 0) + n
            if end:
                if got != self.tokens:
                    errors[f"turn had {got} tokens, not {self.tokens}"] += 1
                return True

    # --- teardown -----------------------------------------------------------------------

    async def close_all(self, grace_s: float = 10.0) -> None:
        """Close every socket still open (idle ones included), abort the slow ones."""
        self._closing = True
        tasks = [t for t in (*self._idle_tasks, *self._stream_tasks) if not t.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        sockets = list(self._sockets)
        self._sockets.clear()

        async def close(ws: ClientConnection) -> None:
            with contextlib.suppress(Exception):
                await ws.close()

        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(grace_s):
                await asyncio.gather(*(close(ws) for ws in sockets))
        for ws in sockets:
            with contextlib.suppress(Exception):
                ws.transport.abort()
