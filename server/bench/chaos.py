"""``interview chaos``: many live interviews over two gateway processes while things break.

It starts its own Redis (``redis-server`` on a free port of 127.0.0.1, no persistence) and
its gateway processes, creates interviews in the given PostgreSQL database, and drives one
client per interview that answers every question, while it

- drops sockets at random (cleanly or abruptly) and reconnects to either process,
- SIGKILLs one gateway process mid-run and starts it again afterwards,
- stops Redis and starts it again (every interview's live state is lost: clients get
  ``resync`` and the transcript is rebuilt from the database).

Each client checks the protocol as it goes (``seq`` = last + 1 on every logged event, across
reconnects; ``resync`` handled as ``docs/protocol.md`` says) and keeps the transcript it was
shown; at the end it is compared with what the database has (``GET /api/interviews/{id}``),
and every answer that got ``answer.accepted`` must be in it.

Everything is bounded in time, talks to 127.0.0.1 only, and is stopped (processes, Redis,
the run's account and interviews) in ``finally``.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import random
import secrets
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from server.bench.run import (
    BenchError,
    Http,
    Process,
    _free_port,
    _is_loopback,
    delete_user,
    raise_nofile_limit,
    wait_http,
)

ANSWER = (
    "First, I would start from the user's problem and the constraints. In my last role I led "
    "a team of four engineers and we rebuilt the checkout service: we added an index on the "
    "orders table, introduced a Redis cache with a 60 second TTL, and moved slow work to a "
    "queue with retries and idempotency keys. Because we measured p95 latency before and "
    "after, we could show it dropped from 900 ms to 120 ms, and conversion rose by 3%. The "
    "trade-off was more moving parts, so we added dashboards, alerts and a runbook."
)
TRACEBACK = "Traceback (most recent call last)"
READY_TIMEOUT_S = 10.0
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Raise the open-files limit; on Linux, have the child killed if this process dies."""
    raise_nofile_limit()
    if sys.platform == "linux":
        with contextlib.suppress(Exception):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


class Child(Process):
    """A ``Process`` (own session, log file, stopped by its id) that dies with this one."""

    preexec = staticmethod(_die_with_parent)


# --- Redis of our own --------------------------------------------------------------------


class LocalRedis:
    """``redis-server`` on a free port of 127.0.0.1 without persistence: a restart loses all."""

    def __init__(self, workdir: Path, *, binary: str = "redis-server") -> None:
        found = shutil.which(binary)
        if found is None:
            raise BenchError(f"{binary} is not installed")
        self.binary = found
        self.workdir = workdir
        self.port = _free_port()
        self.process: Child | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self, timeout_s: float = 15.0) -> None:
        from redis.asyncio import Redis
        from redis.exceptions import RedisError

        self.starts += 1
        argv = [self.binary, "--bind", "127.0.0.1", "--port", str(self.port)]
        argv += ["--save", "", "--appendonly", "no", "--dir", str(self.workdir)]
        argv += ["--protected-mode", "yes", "--daemonize", "no"]
        self.process = Child(
            f"redis-{self.port}-{self.starts}", argv, dict(os.environ), self.workdir
        )
        deadline = time.monotonic() + timeout_s
        while True:
            if not self.process.running():
                raise BenchError(f"redis-server exited:\n{self.process.tail()}")
            client = Redis.from_url(self.url, socket_timeout=1)
            try:
                if await client.ping():
                    return
            except (RedisError, OSError):
                pass
            finally:
                await client.aclose()
            if time.monotonic() > deadline:
                raise BenchError(f"redis-server did not answer on port {self.port}")
            await asyncio.sleep(0.05)

    async def stop(self) -> None:
        """SIGTERM (it saves nothing: no save points, no AOF), SIGKILL if it lingers."""
        if self.process is not None:
            await self.process.stop()

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()

    async def restart(self, down_s: float) -> None:
        await self.stop()
        await asyncio.sleep(down_s)
        await self.start()


# --- gateway processes -------------------------------------------------------------------


class GatewayProcess:
    """One ``interview serve`` on a fixed port; it can be killed and started again there."""

    def __init__(self, index: int, env: dict[str, str], workdir: Path) -> None:
        self.index = index
        self.env = env
        self.workdir = workdir
        self.port = _free_port()
        self.process: Child | None = None
        self.logs: list[Path] = []
        self.starts = 0

    @property
    def ws_base(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/interviews/"

    def start(self) -> None:
        self.starts += 1
        argv = [sys.executable, "-m", "server.cli", "serve", "--host", "127.0.0.1"]
        argv += ["--port", str(self.port), "--no-migrate"]
        self.process = Child(f"gateway{self.index}-{self.starts}", argv, self.env, self.workdir)
        self.logs.append(self.process.log_path)

    async def ready(self, deadline: float) -> None:
        assert self.process is not None
        await wait_http(self.process, self.port, "/healthz", deadline)

    def running(self) -> bool:
        return self.process is not None and self.process.running()

    def sigkill(self) -> None:
        if self.process is not None:
            self.process.kill()  # SIGKILL to its process group

    async def stop(self) -> None:
        if self.process is not None:
            await self.process.stop()


@dataclass
class LogCount:
    """What gateway logs hold (JSON lines: one record per line)."""

    lines: int = 0
    tracebacks: int = 0  # records (or raw output lines) carrying a traceback
    by_message: Counter[str] = field(default_factory=Counter)


_LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40, "critical": 50}


def count_log(
    path: Path, *, since: float = 0.0, until: float = float("inf"), min_level: str = "debug"
) -> LogCount:
    """Records and tracebacks in a JSON-lines log; optionally only those at ``min_level`` or
    above, written between two Unix times (``since``/``until``)."""
    result = LogCount()
    floor = _LEVELS[min_level]
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return result
    for line in text.splitlines():
        if not line.strip():
            continue
        message, level, stamp = line[:100], "error", None
        if line.startswith("{"):
            with contextlib.suppress(orjson.JSONDecodeError, ValueError, TypeError):
                record = orjson.loads(line)
                level = str(record.get("level", ""))
                message = f"{level}: {record.get('msg', '')}".splitlines()[0][:100]
                stamp = _parse_ts(str(record.get("ts", "")))
        if stamp is not None and not since <= stamp <= until:
            continue
        if TRACEBACK in line:
            result.tracebacks += 1  # at any level
        if _LEVELS.get(level, 40) < floor:
            continue
        result.lines += 1
        result.by_message[message] += 1
    return result


def _parse_ts(ts: str) -> float | None:
    """Our JSON log stamp (``2025-01-02T03:04:05.678Z``, UTC) as a Unix time."""
    import calendar

    try:
        whole, _, frac = ts.rstrip("Z").partition(".")
        parsed = time.strptime(whole, "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        return None
    return calendar.timegm(parsed) + (int(frac) / 1000 if frac.isdigit() else 0.0)


# --- one candidate -------------------------------------------------------------------------


@dataclass
class TurnSeen:
    question: str = ""
    answer: str | None = None
    answer_unknown: bool = False  # resynced while it was being scored: not shown to us


@dataclass
class ClientStats:
    events: int = 0
    connects: int = 0
    drops: int = 0  # sockets we dropped on purpose
    reconnects: int = 0
    stalls: int = 0  # no frame for stall_s: reconnected
    failed_connects: int = 0
    gaps: int = 0
    duplicates: int = 0
    resyncs: int = 0
    takeovers: int = 0  # a turn.start repeated: the turn was regenerated elsewhere
    answers_sent: int = 0
    ended_by_close: int = 0  # learnt the end from close code 4409, then reloaded over REST
    closes: Counter[str] = field(default_factory=Counter)
    refusals: Counter[str] = field(default_factory=Counter)
    violations: list[str] = field(default_factory=list)


class Candidate:
    """One interview's client: answers every question, drops and resumes, checks seq."""

    def __init__(
        self,
        interview_id: str,
        token: str,
        gateways: Sequence[GatewayProcess],
        *,
        rng: random.Random,
        drop_mean_s: float,
        interrupt_p: float,
        stall_s: float,
    ) -> None:
        self.interview_id = interview_id
        self.token = token
        self.gateways = gateways
        self.rng = rng
        self.drop_mean_s = drop_mean_s
        self.interrupt_p = interrupt_p
        self.stall_s = stall_s
        self.last_seq = 0
        self.epoch: str | None = None
        self.turns: dict[int, TurnSeen] = {}
        self.accepted: list[tuple[str, int, str]] = []  # (epoch, turn, text) of answer.accepted
        self.accepted_turns: set[tuple[str, int]] = set()
        self.started_turns: set[tuple[str, int]] = set()
        self.status: str | None = None  # finished | abandoned once ended
        self.stats = ClientStats()
        self._answer_no = 0
        self._sent: set[tuple[str, int]] = set()  # answered on the current socket
        self._interrupt_turn: tuple[str, int] | None = None
        self._deltas = 0
        self.gateway: GatewayProcess | None = None
        self.trace: list[str] = []  # what its last connections saw, for the report

    def _violation(self, what: str) -> None:
        self.stats.violations.append(what)
        self._note(f"VIOLATION {what}")

    def _note(self, what: str) -> None:
        stamp = time.strftime("%H:%M:%S", time.localtime()) + f".{int(time.time() * 10) % 10}"
        self.trace.append(f"{stamp} {what}")
        del self.trace[:-60]

    @property
    def done(self) -> bool:
        return self.status is not None

    async def run(self, deadline: float) -> None:
        failures = 0
        while not self.done and time.monotonic() < deadline:
            self.gateway = self.rng.choice(self.gateways)
            try:
                opened = await self._connection(self.gateway, deadline)
            except (OSError, TimeoutError, InvalidHandshake, BenchError) as exc:
                self._note(f"gateway{self.gateway.index}: {type(exc).__name__} {exc}"[:120])
                self.stats.failed_connects += 1
                self.stats.closes[f"connect failed: {type(exc).__name__}"] += 1
                opened = False
            if self.done:
                return
            failures = 0 if opened else failures + 1
            self.stats.reconnects += 1
            # Backoff with jitter, as docs/protocol.md recommends (short: this is a test).
            pause = min(2.0, 0.1 * 2 ** min(failures, 5))
            await asyncio.sleep(pause * self.rng.uniform(0.5, 1.5))

    async def _connection(self, gateway: GatewayProcess, deadline: float) -> bool:
        """One socket's life; whether a ``ready`` arrived on it."""
        ws = await connect(
            gateway.ws_base + self.interview_id, open_timeout=5, close_timeout=1, max_size=2**20
        )
        self.stats.connects += 1
        self._sent = set()
        got_ready = False
        drop_at = (
            time.monotonic() + self.rng.expovariate(1 / self.drop_mean_s)
            if self.drop_mean_s > 0
            else float("inf")
        )
        try:
            hello: dict[str, Any] = {
                "type": "hello",
                "token": self.token,
                "last_seq": self.last_seq,
            }
            if self.epoch:
                hello["epoch"] = self.epoch
            await ws.send(orjson.dumps(hello).decode())
            while not self.done:
                now = time.monotonic()
                if now >= deadline:
                    return got_ready
                if now >= drop_at:
                    self.stats.drops += 1
                    self._note(f"drop at seq {self.last_seq}")
                    if self.rng.random() < 0.5:
                        ws.transport.abort()  # vanish: the server sees 1006
                    else:
                        await ws.close()
                    return got_ready
                # The server may take a while to answer hello (a takeover waits for a lease).
                silence = self.stall_s if got_ready else READY_TIMEOUT_S
                wait = min(silence, drop_at - now, deadline - now)
                try:
                    raw = await asyncio.wait_for(ws.recv(), wait)
                except TimeoutError:
                    if time.monotonic() >= drop_at or time.monotonic() >= deadline:
                        continue
                    self.stats.stalls += 1
                    self._note(f"silent for {silence:g} s at seq {self.last_seq}")
                    ws.transport.abort()
                    return got_ready
                frame = orjson.loads(raw)
                if frame.get("type") == "ready":
                    got_ready = True
                    await self._on_ready(ws, frame)
                else:
                    await self._on_frame(ws, frame)
        except ConnectionClosed as closed:
            code = closed.rcvd.code if closed.rcvd else 1006
            self._note(f"closed {code} {closed.rcvd.reason if closed.rcvd else ''}")
            self.stats.closes[str(code)] += 1
            if code == 4409 and self.status is None:
                # Ended, and its live data is gone (e.g. Redis restarted): the protocol says
                # load the report over REST. Its turns become this client's transcript.
                self.stats.ended_by_close += 1
                detail = await self._detail()
                self.turns = {
                    t["index"]: TurnSeen(t["question"], t["answer"]) for t in detail["turns"]
                }
                self.status = str(detail["status"])
            if code in (4400, 4401, 4404, 4413):
                self._violation(f"closed with {code}: {closed.rcvd}")
                self.status = f"closed {code}"
        finally:
            with contextlib.suppress(Exception):
                ws.transport.abort()
        return got_ready

    async def _on_ready(self, ws: ClientConnection, ready: dict[str, Any]) -> None:
        self._note(
            f"gateway{self.gateway.index if self.gateway else '?'} ready: "
            f"resumed={ready['resumed']} phase={ready['phase']} turn={ready['turn']} "
            f"head={ready['head_seq']} last={self.last_seq}"
        )
        self.epoch = ready["epoch"]
        if not ready["resumed"]:
            resync = orjson.loads(await asyncio.wait_for(ws.recv(), self.stall_s))
            if resync.get("type") != "resync":
                self._violation(f"ready.resumed false without resync: {resync}")
                return
            self.stats.resyncs += 1
            self._note(f"resync {resync.get('reason')} at head {ready['head_seq']}")
            await self._reload(ready)
            self.last_seq = ready["head_seq"]
        elif ready["head_seq"] < self.last_seq:
            self._violation(
                f"resumed at head {ready['head_seq']} below our last seq {self.last_seq}"
            )
        if ready["phase"] == "ended":
            if not ready["resumed"]:
                self.status = ready["status"]  # reloaded over REST just now
            return  # otherwise its last events are replayed, then the socket closes (4409)
        if ready["phase"] == "listening":
            await self._answer(ws, ready["turn"])

    async def _reload(self, ready: dict[str, Any]) -> None:
        """After ``resync``: every finished turn over REST, the turn in progress from ready."""
        detail = await self._detail()
        self.turns = {t["index"]: TurnSeen(t["question"], t["answer"]) for t in detail["turns"]}
        turn = ready["turn"]
        if turn not in self.turns and ready["phase"] in ("asking", "listening", "scoring"):
            self.turns[turn] = TurnSeen(ready["text"], answer_unknown=ready["phase"] == "scoring")
        # Turns this epoch starts from here on are its own.
        self.started_turns = {(self.epoch or "", t) for t in self.turns}

    async def _detail(self) -> dict[str, Any]:
        last: Exception | None = None
        for gateway in [self.gateway, *self.gateways]:
            if gateway is None:
                continue
            http = Http(gateway.port)
            try:
                status, body = await http.call(
                    "GET", f"/api/interviews/{self.interview_id}", token=self.token
                )
                if status == 200:
                    return dict(body)
                last = BenchError(f"GET interview: HTTP {status}")
            except (OSError, TimeoutError, ValueError) as exc:
                last = exc
            finally:
                http.close()
        raise BenchError(f"could not reload the interview: {last!r}")

    async def _answer(self, ws: ClientConnection, turn: int) -> None:
        key = (self.epoch or "", turn)
        if key in self._sent or key in self.accepted_turns:
            return
        self._sent.add(key)
        self._note(f"answer turn {turn} at seq {self.last_seq}")
        self._answer_no += 1
        text = f"{ANSWER} (answer {self.interview_id[:8]}-{self._answer_no})"
        await ws.send(orjson.dumps({"type": "answer", "text": text, "turn": turn}).decode())
        self.stats.answers_sent += 1

    async def _on_frame(self, ws: ClientConnection, frame: dict[str, Any]) -> None:
        seq = frame.get("seq", 0)
        kind = frame.get("type")
        if not seq:
            if kind == "error":
                self.stats.refusals[str(frame.get("code"))] += 1
                self._note(f"refused: {frame.get('code')}")
            return
        if frame.get("epoch") != self.epoch:
            self._violation(f"event of epoch {frame.get('epoch')} in {self.epoch}")
        if seq <= self.last_seq:
            self.stats.duplicates += 1
            return
        if seq != self.last_seq + 1:
            self.stats.gaps += 1
            self._violation(f"gap: expected seq {self.last_seq + 1}, got {seq}")
        self.last_seq = seq
        self.stats.events += 1
        epoch = self.epoch or ""
        if kind == "turn.start":
            turn = frame["turn"]
            if (epoch, turn) in self.started_turns:
                self.stats.takeovers += 1
            self.started_turns.add((epoch, turn))
            self._note(f"turn.start {turn} at seq {seq}")
            self.turns[turn] = TurnSeen()
            self._deltas = 0
            self._interrupt_turn = (epoch, turn) if self.rng.random() < self.interrupt_p else None
        elif kind == "turn.delta":
            seen = self.turns.setdefault(frame["turn"], TurnSeen())
            seen.question += frame["text"]
            self._deltas += 1
            if self._interrupt_turn == (epoch, frame["turn"]) and self._deltas >= 3:
                self._interrupt_turn = None
                await self._answer(ws, frame["turn"])  # while it speaks: it stops and takes it
        elif kind == "turn.end":
            self._note(f"turn.end {frame['turn']} at seq {seq} interrupted={frame['interrupted']}")
            self.turns.setdefault(frame["turn"], TurnSeen()).question = frame["text"]
            await self._answer(ws, frame["turn"])
        elif kind == "answer.accepted":
            self._note(f"accepted turn {frame['turn']} at seq {seq}")
            seen = self.turns.setdefault(frame["turn"], TurnSeen())
            seen.answer, seen.answer_unknown = frame["text"], False
            self.accepted.append((epoch, frame["turn"], frame["text"]))
            self.accepted_turns.add((epoch, frame["turn"]))
        elif kind == "ended":
            self._note(f"ended at seq {seq}")
            self.status = frame["status"]


# --- the run ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChaosOptions:
    interviews: int = 50  # concurrent interviews
    seconds: float = 60.0  # the chaos window: kills and restarts happen inside it
    refill: bool = False  # start a new interview whenever one ends, until the window closes
    processes: int = 2
    question_count: int = 3
    pace_ms: int = 40
    drop_mean_s: float = 3.0  # mean socket life before a random drop (0: never)
    interrupt_p: float = 0.1  # chance to answer while the question is still streaming
    kill_every_s: float | None = None  # SIGKILL a gateway this often (None: once)
    redis_every_s: float | None = None  # restart Redis this often (None: once)
    kill: bool = True
    redis_restart: bool = True
    redis_down_s: float = 1.0
    kill_down_s: float = 1.0
    lease_ttl_ms: int = 1500
    stall_s: float = 4.0
    finish_s: float = 60.0  # after the window, how long unfinished interviews get
    seed: int | None = None
    log_level: str = "INFO"


@dataclass
class ChaosReport:
    interviews: int = 0
    finished: int = 0
    unfinished: list[str] = field(default_factory=list)
    events: int = 0
    connects: int = 0
    reconnects: int = 0
    drops: int = 0
    stalls: int = 0
    failed_connects: int = 0
    gaps: int = 0
    duplicates: int = 0
    resyncs: int = 0
    takeovers: int = 0
    answers_sent: int = 0
    answers_accepted: int = 0
    mismatches: list[str] = field(default_factory=list)
    answers_unknown: int = 0  # resynced while scoring: the client never saw that answer
    lost_answers: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    traces: dict[str, list[str]] = field(default_factory=dict)  # of the interviews above
    closes: Counter[str] = field(default_factory=Counter)
    refusals: Counter[str] = field(default_factory=Counter)
    kills: list[float] = field(default_factory=list)  # seconds into the run
    redis_restarts: list[float] = field(default_factory=list)
    outages: list[tuple[float, float]] = field(default_factory=list)  # Redis down/up, Unix time
    log_lines: int = 0
    log_tracebacks: int = 0
    log_top: list[tuple[str, int]] = field(default_factory=list)
    logs_kept: str = ""  # the run's directory, kept because the run did not pass
    duration_s: float = 0.0

    def figures(self) -> dict[str, Any]:
        return {
            "interviews": self.interviews,
            "finished": self.finished,
            "unfinished": len(self.unfinished),
            "events": self.events,
            "reconnects": self.reconnects,
            "drops": self.drops,
            "stalls": self.stalls,
            "gaps": self.gaps,
            "duplicates": self.duplicates,
            "resyncs": self.resyncs,
            "mismatches": len(self.mismatches),
            "answers_accepted": self.answers_accepted,
            "answers_unknown": self.answers_unknown,
            "lost_answers": len(self.lost_answers),
            "takeovers": self.takeovers,
            "kills": len(self.kills),
            "redis_restarts": len(self.redis_restarts),
            "log_lines": self.log_lines,
            "log_tracebacks": self.log_tracebacks,
            "duration_s": round(self.duration_s, 1),
        }


def gateway_env(
    *, database_url: str, redis_url: str, prefix: str, workdir: Path, opts: ChaosOptions
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTERVIEW_")}
    env.pop("GEMINI_API_KEY", None)
    env.update(
        INTERVIEW_ENV="development",
        INTERVIEW_DATABASE_URL=database_url,
        INTERVIEW_REDIS_URL=redis_url,
        INTERVIEW_REDIS_KEY_PREFIX=prefix,
        INTERVIEW_JWT_SECRET=secrets.token_hex(32),
        INTERVIEW_INTERVIEWER="offline",
        INTERVIEW_OFFLINE_PACE_MS=str(opts.pace_ms),
        INTERVIEW_LEASE_TTL_MS=str(opts.lease_ttl_ms),
        INTERVIEW_FREE_CREDITS="100000",
        INTERVIEW_REGISTER_LIMIT_PER_IP="1000",
        INTERVIEW_LOGIN_LIMIT_PER_IP="1000",
        INTERVIEW_DATA_DIR=str(workdir),
        INTERVIEW_CLIENT_DIST=str(workdir / "no-client"),
        INTERVIEW_LOG_FORMAT="json",
        INTERVIEW_LOG_LEVEL=opts.log_level,
        INTERVIEW_SHUTDOWN_GRACE_S="3",
        PYTHONUNBUFFERED="1",
    )
    return env


class Chaos:
    def __init__(
        self,
        opts: ChaosOptions,
        database_url: str,
        *,
        progress: Callable[[str], None] | None = None,
        workdir: Path | None = None,
    ) -> None:
        host = urlsplit(database_url).hostname
        if not database_url.startswith("postgresql") or not _is_loopback(host):
            raise BenchError("the database must be PostgreSQL on 127.0.0.1")
        self.opts = opts
        self.database_url = database_url
        self.progress = progress or (lambda _: None)
        self.own_workdir = workdir is None
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="interview-chaos-"))
        self.rng = random.Random(opts.seed)
        self.redis = LocalRedis(self.workdir)
        self.gateways: list[GatewayProcess] = []
        self.email = f"chaos-{secrets.token_hex(5)}@example.com"
        self.candidates: list[Candidate] = []
        self.report = ChaosReport()
        self.t0 = 0.0

    async def run(self) -> ChaosReport:
        started = time.monotonic()
        try:
            await self._run()
        finally:
            await self._cleanup()
            self.report.duration_s = time.monotonic() - started
        return self.report

    async def _run(self) -> None:
        opts = self.opts
        await self.redis.start()
        env = gateway_env(
            database_url=self.database_url,
            redis_url=self.redis.url,
            prefix=f"chaos-{secrets.token_hex(4)}:",
            workdir=self.workdir,
            opts=opts,
        )
        self.gateways = [GatewayProcess(i, env, self.workdir) for i in range(opts.processes)]
        for gateway in self.gateways:
            gateway.start()
        setup_deadline = time.monotonic() + 60
        await asyncio.gather(*(g.ready(setup_deadline) for g in self.gateways))
        self.progress(f"{len(self.gateways)} gateways up; Redis on port {self.redis.port}")
        token = await self._register()
        self.t0 = time.monotonic()
        window_end = self.t0 + opts.seconds
        deadline = window_end + opts.finish_s
        chaos = asyncio.create_task(self._chaos(window_end), name="chaos")
        slots = [self._slot(i, token, window_end, deadline) for i in range(opts.interviews)]
        try:
            await asyncio.gather(*slots)
        finally:
            chaos.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await chaos
        # Whatever was stopped on purpose is back: verification reads through any gateway.
        await self._everything_up()
        await self._verify()

    async def _register(self) -> str:
        http = Http(self.gateways[0].port)
        try:
            status, body = await http.call(
                "POST",
                "/api/auth/register",
                {"email": self.email, "password": secrets.token_urlsafe(16)},
            )
        finally:
            http.close()
        if status != 201:
            raise BenchError(f"register: HTTP {status} {body}")
        return str(body["access_token"])

    async def _create(self, token: str) -> str:
        spec = {
            "track": self.rng.choice(["backend", "frontend", "data_ml", "product", "behavioral"]),
            "level": "mid",
            "question_count": self.opts.question_count,
            "answer_time_limit_s": 60,
        }
        for attempt in range(20):
            gateway = self.rng.choice(self.gateways)
            http = Http(gateway.port)
            try:
                status, body = await http.call("POST", "/api/interviews", spec, token)
                if status == 201:
                    return str(body["id"])
                if status < 500:
                    raise BenchError(f"create interview: HTTP {status} {body}")
            except (OSError, TimeoutError, ValueError):
                pass
            finally:
                http.close()
            await asyncio.sleep(0.2 * (attempt + 1))
        raise BenchError("could not create an interview")

    async def _slot(self, index: int, token: str, window_end: float, deadline: float) -> None:
        await asyncio.sleep(index * 0.02)  # a ramp, not one burst of hellos
        while True:
            interview_id = await self._create(token)
            candidate = Candidate(
                interview_id,
                token,
                self.gateways,
                rng=random.Random(self.rng.random()),
                drop_mean_s=self.opts.drop_mean_s,
                interrupt_p=self.opts.interrupt_p,
                stall_s=self.opts.stall_s,
            )
            self.candidates.append(candidate)
            await candidate.run(deadline)
            if not self.opts.refill or time.monotonic() >= window_end:
                return

    def _at(self) -> float:
        return round(time.monotonic() - self.t0, 1)

    async def _chaos(self, window_end: float) -> None:
        opts = self.opts
        span = opts.seconds
        events: list[tuple[float, str]] = []
        if opts.kill:
            every = opts.kill_every_s or span
            t = min(span * 0.2, every * 0.5)
            while t < span:
                events.append((t, "kill"))
                t += every
        if opts.redis_restart:
            every = opts.redis_every_s or span
            t = min(span * 0.5, every * 0.75)
            while t < span:
                events.append((t, "redis"))
                t += every
        victim = 0
        for at, what in sorted(events):
            await asyncio.sleep(max(0.0, self.t0 + at - time.monotonic()))
            if what == "kill":
                gateway = self.gateways[victim % len(self.gateways)]
                victim += 1
                self.progress(f"t={self._at()} s: SIGKILL gateway {gateway.index}")
                self.report.kills.append(self._at())
                gateway.sigkill()
                await asyncio.sleep(opts.kill_down_s)
                gateway.start()
                await gateway.ready(time.monotonic() + 60)
                self.progress(f"t={self._at()} s: gateway {gateway.index} is back")
            else:
                self.progress(f"t={self._at()} s: restarting Redis")
                self.report.redis_restarts.append(self._at())
                down = time.time()
                await self.redis.restart(opts.redis_down_s)
                self.report.outages.append((down, time.time()))
                self.progress(f"t={self._at()} s: Redis is back (empty)")

    async def _everything_up(self) -> None:
        if self.redis.process is None or not self.redis.process.running():
            await self.redis.start()
        for gateway in self.gateways:
            if not gateway.running():
                gateway.start()
                await gateway.ready(time.monotonic() + 60)

    async def _verify(self) -> None:
        report = self.report
        sem = asyncio.Semaphore(10)

        async def check(candidate: Candidate) -> None:
            async with sem:
                await self._check(candidate)

        await asyncio.gather(*(check(c) for c in self.candidates))
        for c in self.candidates:
            s = c.stats
            report.interviews += 1
            report.events += s.events
            report.connects += s.connects
            report.reconnects += s.reconnects
            report.drops += s.drops
            report.stalls += s.stalls
            report.failed_connects += s.failed_connects
            report.gaps += s.gaps
            report.duplicates += s.duplicates
            report.resyncs += s.resyncs
            report.takeovers += s.takeovers
            report.answers_sent += s.answers_sent
            report.answers_accepted += len(c.accepted)
            report.closes.update(s.closes)
            report.refusals.update(s.refusals)
            report.violations += [f"{c.interview_id}: {v}" for v in s.violations]

    async def _check(self, candidate: Candidate) -> None:
        report = self.report
        iid = candidate.interview_id
        if candidate.stats.violations:  # where in its story it happened
            report.traces[iid] = candidate.trace
        if candidate.status not in ("finished", "abandoned"):
            report.unfinished.append(f"{iid}: {candidate.status or 'not ended'}")
            report.traces[iid] = candidate.trace
            return
        report.finished += 1
        detail = await candidate._detail()
        saved = {t["index"]: t for t in detail["turns"]}
        for index, seen in sorted(candidate.turns.items()):
            row = saved.get(index)
            if row is None:
                if seen.question:
                    report.mismatches.append(f"{iid} turn {index}: shown but not saved")
                continue
            if row["question"] != seen.question:
                report.mismatches.append(
                    f"{iid} turn {index}: question shown {seen.question[:40]!r}, "
                    f"saved {row['question'][:40]!r}"
                )
            if seen.answer_unknown:
                report.answers_unknown += 1
            elif row["answer"] != seen.answer:
                report.mismatches.append(
                    f"{iid} turn {index}: answer shown {str(seen.answer)[-14:]!r}, "
                    f"saved {str(row['answer'])[-14:]!r}"
                )
        for index in saved.keys() - candidate.turns.keys():
            report.mismatches.append(f"{iid} turn {index}: saved but never shown")
        answers = {t["answer"] for t in detail["turns"] if t["answer"]}
        for epoch, turn, text in candidate.accepted:
            if text not in answers:
                row = saved.get(turn)
                instead = str(row["answer"])[-14:] if row else "no such turn"
                report.lost_answers.append(
                    f"{iid} turn {turn} (epoch {epoch[:8]}): {text[-14:]!r}, saved {instead!r}"
                )
        if any(iid in item for item in (*report.mismatches, *report.lost_answers)):
            report.traces[iid] = candidate.trace

    def count_logs(self) -> LogCount:
        total = LogCount()
        for gateway in self.gateways:
            for path in gateway.logs:
                one = count_log(path)
                total.lines += one.lines
                total.tracebacks += one.tracebacks
                total.by_message.update(one.by_message)
        return total

    async def _cleanup(self) -> None:
        await asyncio.gather(*(g.stop() for g in self.gateways), return_exceptions=True)
        logs = self.count_logs()
        self.report.log_lines = logs.lines
        self.report.log_tracebacks = logs.tracebacks
        self.report.log_top = logs.by_message.most_common(12)
        await self.redis.stop()
        try:
            await delete_user(self.database_url, self.email)
        except Exception as exc:
            self.report.violations.append(f"clean-up: could not delete the chaos account: {exc!r}")
        if not self.own_workdir:
            return
        if passed(self.report):
            shutil.rmtree(self.workdir, ignore_errors=True)
        else:  # what went wrong is in the gateways' logs: kept for whoever reads the report
            self.report.logs_kept = str(self.workdir)


def render(report: ChaosReport) -> str:
    f = report.figures()
    lines = [
        f"interviews {f['interviews']} (finished {f['finished']}, unfinished {f['unfinished']}) "
        f"in {f['duration_s']} s",
        f"events {f['events']}  reconnects {f['reconnects']} (drops {f['drops']}, "
        f"stalls {f['stalls']}, failed connects {report.failed_connects})  "
        f"resyncs {f['resyncs']}  takeovers {f['takeovers']}",
        f"gaps {f['gaps']}  duplicates {f['duplicates']}  mismatches {f['mismatches']}  "
        f"lost answers {f['lost_answers']} of {f['answers_accepted']} accepted "
        f"(unknown after resync {f['answers_unknown']})",
        f"chaos: SIGKILL at {report.kills} s, Redis restarts at {report.redis_restarts} s",
        f"gateway logs: {f['log_lines']} lines, {f['log_tracebacks']} tracebacks",
    ]
    if report.closes:
        lines.append("close codes: " + ", ".join(f"{k}x{v}" for k, v in report.closes.items()))
    if report.refusals:
        lines.append("refusals: " + ", ".join(f"{k}x{v}" for k, v in report.refusals.items()))
    for message, count in report.log_top:
        lines.append(f"  log x{count}: {message}")
    for title, items in (
        ("unfinished", report.unfinished),
        ("mismatches", report.mismatches),
        ("lost answers", report.lost_answers),
        ("protocol violations", report.violations),
    ):
        if items:
            lines.append(f"{title}:")
            lines += [f"  {item}" for item in items[:10]]
            if len(items) > 10:
                lines.append(f"  … and {len(items) - 10} more")
    for iid, trace in list(report.traces.items())[:5]:
        lines.append(f"what the client of {iid} saw last:")
        lines += [f"  {note}" for note in trace]
    if report.logs_kept:
        lines.append(f"gateway and Redis logs kept in {report.logs_kept}")
    return "\n".join(lines)


# --- the command ---------------------------------------------------------------------------


async def _fresh_database(admin_dsn: str) -> tuple[str, str]:
    """A new, migrated database on the PostgreSQL server of ``admin_dsn``: (name, URL)."""
    import asyncpg  # type: ignore[import-untyped]

    from server.store.migrate import upgrade

    parts = urlsplit(admin_dsn)
    if not _is_loopback(parts.hostname):
        raise BenchError(f"PostgreSQL must be on 127.0.0.1 (got {parts.hostname})")
    name = f"interview_chaos_{secrets.token_hex(6)}"
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    url = parts._replace(scheme="postgresql+asyncpg", path=f"/{name}").geturl()
    await upgrade(url)
    return name, url


async def _drop_database(admin_dsn: str, name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def chaos_main(
    opts: ChaosOptions,
    *,
    database_url: str | None,
    admin_dsn: str,
    progress: Callable[[str], None],
) -> ChaosReport:
    """One run; without ``database_url`` on a fresh database that is dropped afterwards."""
    created: str | None = None
    if database_url is None:
        created, database_url = await _fresh_database(admin_dsn)
        progress(f"fresh database {created}")
    try:
        return await Chaos(opts, database_url, progress=progress).run()
    finally:
        if created is not None:
            await _drop_database(admin_dsn, created)


def passed(report: ChaosReport) -> bool:
    """Nothing lost, duplicated, skipped or left unfinished."""
    return not (
        report.unfinished
        or report.gaps
        or report.duplicates
        or report.mismatches
        or report.lost_answers
        or report.violations
        or report.log_tracebacks
    )


def run_chaos(
    opts: ChaosOptions, *, database_url: str | None, admin_dsn: str, json_path: Path | None
) -> int:
    """``interview chaos``: run, print the figures; 0 when nothing was lost, else 1."""
    import typer

    raise_nofile_limit()

    def progress(message: str) -> None:
        typer.echo(f"[{time.strftime('%H:%M:%S')}] {message}", err=True)

    try:
        report = asyncio.run(
            chaos_main(opts, database_url=database_url, admin_dsn=admin_dsn, progress=progress)
        )
    except BenchError as exc:
        typer.secho(str(exc), fg="red", err=True)
        return 2
    except KeyboardInterrupt:
        typer.secho("Interrupted; stopped everything this run started.", fg="yellow", err=True)
        return 130
    typer.echo(render(report))
    if json_path is not None:
        with open(json_path, "ab") as f:
            f.write(orjson.dumps(report.figures()) + b"\n")
    return 0 if passed(report) else 1
