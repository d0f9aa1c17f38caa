"""``interview bench``: start the servers, drive the load, print one row per design and N.

Every run is bounded by ``duration_cap``, talks to 127.0.0.1 only, starts its own processes
(stopped in ``finally``, also on Ctrl-C) and uses its own Redis key prefix (deleted after).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
import typer

from server.bench.loadgen import LoadGen, StreamStats, percentiles
from server.bench.probe import ENV as PROBE_ENV
from server.bench.side import AdminLoad, SideContext, SideLoad
from server.bench.voice import VOICE_SENTENCE, VoiceLoad, read_pcm, synthesise
from server.config import PROJECT_ROOT, Settings

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
DEFAULT_BASELINE_DIR = PROJECT_ROOT.parent / "shared" / "perf-baseline"
# The baseline's reference configuration (see its README).
RELAY_ENV = {"FANOUT": "hub", "PUB": "pipe", "BATCH": "1", "AGG_MS": "50", "JSON": "orjson"}
CREATE_CONCURRENCY = 20
STOP_GRACE_S = 8.0
PROBE_PATH = Path(__file__).with_name("probe.py")
# PostgreSQL 15 flushes a backend's statistics up to ~10 s after it went idle.
PG_STATS_SETTLE_S = 11.5
START_SETTLE_S = 1.0  # after the last turn: batched writes (LiveMarker) land
P99_TARGET_MS = 100.0
LOOPBACK_NAMES = frozenset({"localhost", "::1"})

CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


class BenchError(Exception):
    """A run could not be set up; the message says why."""


@dataclass(frozen=True)
class BenchOptions:
    sessions: tuple[int, ...]
    idle: int = 0
    processes: int = 1
    tokens: int = 200
    interval_ms: float = 20.0
    flush_ms: int | None = None
    redis_url: str = DEFAULT_REDIS_URL
    database_url: str | None = None
    baseline_dir: Path | None = None
    duration_cap: float = 90.0
    json_path: Path | None = None
    # > 0: instead of the load runs, profile the cost of starting this many interviews.
    profile_starts: int = 0
    # The interpreter that runs the gateway (another checkout's venv, to compare versions).
    engine_python: str | None = None
    # > 0: each engine run is repeated with this many spoken answers transcribed at once
    # while the interviews stream (the embedded recogniser, on the gateway under test).
    voice: int = 0
    # > 0: each engine run is repeated with this many admin monitors open, and one
    # administrator watching a streaming interview.
    admins: int = 0
    # Runs per (design, N), interleaved (engine, relay, engine, relay, ...): the summary
    # compares their medians, as one run's tail on a shared machine is mostly noise.
    repeat: int = 1


# --- processes and /proc -------------------------------------------------------------


def raise_nofile_limit() -> int:
    """Raise this process's open-files soft limit to the hard limit; returns the new limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        return hard
    return soft


def _child_setup() -> None:
    raise_nofile_limit()


def cpu_seconds(pid: int) -> float | None:
    """utime + stime of a process (all its threads), from /proc/<pid>/stat."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def machine_busy_seconds() -> float | None:
    """CPU time all cores spent busy since boot, from /proc/stat."""
    try:
        with open("/proc/stat") as f:
            user, nice, system, _idle, _iowait, irq, softirq = (
                int(v) for v in f.readline().split()[1:8]
            )
    except (OSError, ValueError):
        return None
    return (user + nice + system + irq + softirq) / CLK_TCK


def rss_mib(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * PAGE_SIZE / 2**20
    except OSError:
        return None


def _total(values: Sequence[float | None]) -> float | None:
    return None if any(v is None for v in values) else sum(v for v in values if v is not None)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Process:
    """A child process in its own session, its output in a log file; stopped by its id."""

    # Runs in the child before it executes (subclasses add to it).
    preexec: Callable[[], None] = staticmethod(_child_setup)

    def __init__(self, name: str, argv: list[str], env: dict[str, str], cwd: Path) -> None:
        self.name = name
        self.log_path = cwd / f"{name.replace(' ', '-')}.log"
        with open(self.log_path, "wb") as log:
            self.popen = subprocess.Popen(
                argv,
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=self.preexec,
                start_new_session=True,
            )
        self.pid = self.popen.pid

    def running(self) -> bool:
        return self.popen.poll() is None

    async def wait(self, deadline: float) -> int | None:
        # Polling, not a waiter thread: preexec_fn in later spawns and threads do not mix.
        while self.popen.poll() is None and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        return self.popen.poll()

    def _signal(self, sig: int) -> None:
        # The child leads its own process group (start_new_session): signal only that group.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, sig)

    async def stop(self) -> None:
        if self.running():
            self._signal(signal.SIGTERM)
            await self.wait(time.monotonic() + STOP_GRACE_S)
        self.kill()

    def kill(self) -> None:
        # Never signal a reaped child: its pid may belong to someone else by now.
        if self.running():
            self._signal(signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout=5)

    def tail(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def problems(self) -> Counter[str]:
        """Warnings and errors the process logged (JSON lines), by message."""
        found: Counter[str] = Counter()
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return found
        for line in lines:
            if line.startswith("{"):
                try:
                    record = orjson.loads(line)
                except orjson.JSONDecodeError:
                    continue
                level = str(record.get("level", ""))
                if level in ("warning", "error", "critical"):
                    message = str(record.get("msg", "")).splitlines()[0][:120]
                    exc_lines = str(record.get("exc", "")).splitlines()
                    detail = str(record.get("error") or (exc_lines[-1] if exc_lines else ""))
                    found[f"{level}: {message} {detail[:100]}".rstrip()] += 1
            elif "Error" in line or "Traceback" in line or "WARNING" in line:
                found[f"output: {line.strip()[:140]}"] += 1
        return found


# --- HTTP --------------------------------------------------------------------------------


class Http:
    """One keep-alive HTTP/1.1 connection to a local server: just enough for JSON calls."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None

    async def call(
        self, method: str, path: str, body: Any = None, token: str | None = None
    ) -> tuple[int, Any]:
        payload = orjson.dumps(body) if body is not None else b""
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
        )
        if token:
            head += f"Authorization: Bearer {token}\r\n"
        try:
            async with asyncio.timeout(30):
                if self._writer is None or self._reader is None:
                    self._reader, self._writer = await asyncio.open_connection(
                        "127.0.0.1", self.port
                    )
                reader = self._reader
                self._writer.write(head.encode() + b"\r\n" + payload)
                status_line = await reader.readline()
                if not status_line:
                    raise ConnectionError("the server closed the connection")
                status = int(status_line.split()[1])
                length, keep = 0, True
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.decode("latin-1").partition(":")
                    name = name.strip().lower()
                    if name == "content-length":
                        length = int(value)
                    elif name == "connection" and value.strip().lower() == "close":
                        keep = False
                    elif name == "transfer-encoding":
                        raise ConnectionError("chunked responses are not supported here")
                data = await reader.readexactly(length)
        except BaseException:
            self.close()
            raise
        if not keep:
            self.close()
        return status, orjson.loads(data) if data else None


async def wait_http(proc: Process, port: int, path: str, deadline: float) -> None:
    """Poll ``path`` until it answers 200; fail fast if the process died."""
    http = Http(port)
    try:
        while True:
            if not proc.running():
                raise BenchError(f"{proc.name} exited with {proc.popen.poll()}:\n{proc.tail()}")
            with contextlib.suppress(OSError, TimeoutError, ValueError, IndexError):
                status, _ = await http.call("GET", path)
                if status == 200:
                    return
            if time.monotonic() > deadline:
                raise BenchError(f"{proc.name} not ready (GET {path}) before the cap")
            await asyncio.sleep(0.1)
    finally:
        http.close()


# --- Redis and the database --------------------------------------------------------------


def _is_loopback(host: str | None) -> bool:
    return host is not None and (host.startswith("127.") or host in LOOPBACK_NAMES)


def check_local(opts: BenchOptions) -> None:
    """The load and every server stay on this machine."""
    redis = urlsplit(opts.redis_url)
    if redis.scheme != "unix" and not _is_loopback(redis.hostname):
        raise BenchError(f"--redis-url must point at 127.0.0.1 (got {redis.hostname})")
    if opts.database_url and not opts.database_url.startswith("sqlite"):
        host = urlsplit(opts.database_url).hostname
        if not _is_loopback(host):
            raise BenchError(f"--database-url must point at 127.0.0.1 (got {host})")


async def redis_pid(url: str) -> int | None:
    """Redis's pid, when it runs on this machine (so /proc has its CPU time)."""
    from redis.asyncio import Redis

    client = Redis.from_url(url)
    try:
        info = await client.info("server")
    finally:
        await client.aclose()
    pid = int(info.get("process_id", 0))
    return pid if "redis" in _comm(pid) else None


def _comm(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read()
    except OSError:
        return ""


async def delete_keys(url: str, prefix: str) -> int:
    """Delete every key under ``prefix``; returns how many are left (0 = clean)."""
    from redis.asyncio import Redis

    client = Redis.from_url(url)
    try:
        batch: list[bytes] = []
        async for key in client.scan_iter(match=prefix + "*", count=1000):
            batch.append(key)
            if len(batch) >= 1000:
                await client.unlink(*batch)
                batch.clear()
        if batch:
            await client.unlink(*batch)
        left = 0
        async for _ in client.scan_iter(match=prefix + "*", count=1000):
            left += 1
        return left
    finally:
        await client.aclose()


def delete_keys_sync(url: str, prefix: str) -> None:
    """Fallback for an interrupted run whose async clean-up did not get to finish."""
    from redis import Redis

    client = Redis.from_url(url)
    try:
        keys = list(client.scan_iter(match=prefix + "*", count=1000))
        for start in range(0, len(keys), 1000):
            client.unlink(*keys[start : start + 1000])
    finally:
        client.close()


async def delete_user(database_url: str, email: str) -> None:
    """Remove the run's account; its interviews go with it (ON DELETE CASCADE)."""
    from sqlalchemy import delete

    from server.store.db import create_engine
    from server.store.models import User

    engine = create_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(delete(User).where(User.email == email))
    finally:
        await engine.dispose()


def _probe_dump_number(path: Path) -> int:
    try:
        return int(orjson.loads(path.read_bytes())["dump"])
    except (OSError, ValueError, KeyError, orjson.JSONDecodeError):
        return 0


async def redis_commandstats(url: str) -> dict[str, float]:
    """Redis INFO commandstats as flat totals: calls and usec, all and per command.

    Server-wide: other clients of the same Redis are counted too, and commands run inside
    scripts (EVALSHA) are counted as well as the script call itself.
    """
    from redis.asyncio import Redis

    client = Redis.from_url(url)
    try:
        info = await client.info("commandstats")
    finally:
        await client.aclose()
    out: dict[str, float] = {"calls": 0, "usec": 0}
    for name, stats in info.items():
        cmd = name.removeprefix("cmdstat_")
        out["calls"] += stats.get("calls", 0)
        out["usec"] += stats.get("usec", 0)
        out["calls:" + cmd] = stats.get("calls", 0)
    return out


PG_STAT_COLUMNS = (
    "xact_commit",
    "xact_rollback",
    "tup_returned",
    "tup_fetched",
    "tup_inserted",
    "tup_updated",
    "tup_deleted",
    "blks_hit",
)


async def pg_database_stats(db_url: str) -> dict[str, float]:
    """pg_stat_database's counters for the run's database (it lags: see PG_STATS_SETTLE_S).

    Only this database's rows, but every client of that database counts, the bench's own
    reads of this view included (one transaction each).
    """
    import asyncpg  # type: ignore[import-untyped]

    parts = urlsplit(db_url)
    dsn = parts._replace(scheme="postgresql").geturl()
    conn = await asyncpg.connect(dsn)
    try:
        row = await conn.fetchrow(
            f"SELECT {', '.join(PG_STAT_COLUMNS)} FROM pg_stat_database WHERE datname = $1",
            parts.path.lstrip("/"),
        )
    finally:
        await conn.close()
    return {k: float(row[k]) for k in PG_STAT_COLUMNS} if row else {}


# --- one run -------------------------------------------------------------------------------


def _r(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def stream_metrics(st: StreamStats, mode: str, window_s: float) -> dict[str, Any]:
    lat = st.all_lat()
    lat50, lat95, lat99 = percentiles(lat, (50, 95, 99))
    (steady99,) = percentiles(st.all_lat(after_ramp=True), (99,))
    sched = lat if mode == "relay" else st.lat_sched
    sched50, sched99 = percentiles(sched, (50, 99))
    ttft50, ttft99 = percentiles(st.ttft, (50, 99))
    gap50, gap99 = percentiles(st.gaps, (50, 99), zeros=st.zero_gaps)
    span = (st.last_end - st.first_send) if st.last_end and st.first_send else window_s
    ramp = (st.last_first - st.first_send) if st.last_first and st.first_send else None
    return {
        "opened": st.opened,
        "completed": st.completed,
        "tokens": st.tokens,
        "frames": st.frames,
        "tok_per_s": round(st.tokens / span) if span > 0 else 0,
        "peak_1s_tok_per_s": max(st.buckets.values()) if st.buckets else 0,
        "ttft_p50_ms": _r(ttft50),
        "ttft_p99_ms": _r(ttft99),
        "lat_p50_ms": _r(lat50, 2),
        "lat_p95_ms": _r(lat95, 2),
        "lat_p99_ms": _r(lat99, 2),
        "lat_max_ms": _r(max(lat) if lat else None),
        "steady_lat_p99_ms": _r(steady99, 2),
        "sched_lat_p50_ms": _r(sched50, 2),
        "sched_lat_p99_ms": _r(sched99, 2),
        "gap_p50_ms": _r(gap50),
        "gap_p99_ms": _r(gap99),
        "gap_max_ms": _r(max(st.gaps) if st.gaps else None),
        # Seconds into the window -> that second's p99, to tell the ramp from the steady state.
        "lat_p99_by_s": {
            str(s): _r(percentiles(v, (99,))[0]) for s, v in sorted(st.lat_by_s.items())
        },
        # First hello to the last stream's first token: interview starts per second = N / this.
        "ramp_s": _r(ramp, 2),
        "stream_span_s": round(span, 2),
        "window_s": round(window_s, 2),
    }


class Bench:
    def __init__(self, opts: BenchOptions) -> None:
        self.opts = opts
        self.workdir = Path(tempfile.mkdtemp(prefix="interview-bench-"))
        self.processes: list[Process] = []
        self.pending_prefixes: set[str] = set()
        self.results: list[dict[str, Any]] = []
        self.redis_pid: int | None = None
        self.keep_workdir = False
        baseline = opts.baseline_dir or DEFAULT_BASELINE_DIR
        self.baseline_dir: Path | None = (
            baseline.resolve() if (baseline / "server_redis.py").is_file() else None
        )
        self.baseline_asked = baseline
        self._voice_audio: bytes | None = None
        self.flush_ms = opts.flush_ms
        if self.flush_ms is None:
            # Default: what the server would use (its env, else its built-in default).
            inherited = os.environ.get("INTERVIEW_STREAM_FLUSH_MS")
            default = Settings.model_fields["stream_flush_ms"].default
            self.flush_ms = int(inherited) if inherited else int(default)

    # --- process bookkeeping -------------------------------------------------------------

    def spawn(self, name: str, argv: list[str], env: dict[str, str], cwd: Path) -> Process:
        proc = Process(name, argv, env, cwd)
        self.processes.append(proc)
        return proc

    def kill_leftovers(self) -> None:
        for proc in self.processes:
            proc.kill()
        for prefix in list(self.pending_prefixes):
            with contextlib.suppress(Exception):
                delete_keys_sync(self.opts.redis_url, prefix)
                self.pending_prefixes.discard(prefix)

    # --- the whole bench ---------------------------------------------------------------

    def header(self) -> list[str]:
        o = self.opts
        db = o.database_url or "fresh SQLite file per run"
        lines = [
            f"interview bench: {os.cpu_count()} CPUs, {o.tokens} tokens every "
            f"{o.interval_ms:g} ms, engine flush {self.flush_ms} ms, idle {o.idle}, "
            f"cap {o.duration_cap:g} s/run",
            f"  redis {o.redis_url}  database {db}",
        ]
        if self.baseline_dir is not None:
            relay = " ".join(f"{k}={v}" for k, v in RELAY_ENV.items())
            lines.append(f"  bare relay: {self.baseline_dir}/server_redis.py ({relay})")
        else:
            lines.append(
                f"  bare relay: {self.baseline_asked} not found; running without the baseline"
            )
        ours = self._engine_settings(self.workdir, "", "", 0)
        inherited = sorted(k for k in os.environ if k.startswith("INTERVIEW_") and k not in ours)
        if inherited:
            lines.append("  inherited by the servers: " + ", ".join(inherited))
        if o.processes > 1 and not (o.database_url or "").startswith("postgresql"):
            lines.append(
                "  note: 2 processes on SQLite serialise on its write lock; "
                "--database-url postgresql+asyncpg://... is the fair setup"
            )
        return lines

    async def main(self) -> None:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        if task is not None:
            loop.add_signal_handler(signal.SIGTERM, task.cancel)
        check_local(self.opts)
        try:
            self.redis_pid = await redis_pid(self.opts.redis_url)
        except Exception as exc:
            raise BenchError(f"Redis is not reachable at {self.opts.redis_url}: {exc}") from exc
        for line in self.header():
            typer.echo(line)
        designs: list[tuple[str, Callable[[int], Any]]] = [
            (f"engine {self.opts.processes}p", self.engine_run)
        ]
        side = self._side_load()
        if side is not None:
            # The comparison is the same engine run with and without the side load.
            designs.append(
                (
                    f"engine {self.opts.processes}p {side.label}",
                    lambda n: self.engine_run(n, side=self._side_load()),
                )
            )
        elif self.opts.profile_starts:
            pass  # the start profile has no relay counterpart (the relay has no start)
        elif self.baseline_dir is not None:
            designs.append(("bare relay", self.relay_run))
        for n in self.opts.sessions:
            for rep in range(1, self.opts.repeat + 1):
                for design, run in designs:
                    label = f"{design} N={n}" + (f" run {rep}" if self.opts.repeat > 1 else "")
                    _progress(f"{label} idle={self.opts.idle}: starting")
                    started = time.monotonic()
                    result = await run(n)
                    result["run_s"] = round(time.monotonic() - started, 1)
                    result["rep"] = rep
                    self.results.append(result)
                    self._append_json(result)
                    _progress(f"{label}: done in {result['run_s']} s")

    def _append_json(self, result: dict[str, Any]) -> None:
        if self.opts.json_path is None:
            return
        with open(self.opts.json_path, "ab") as f:
            f.write(orjson.dumps(result) + b"\n")

    def _base_result(self, design: str, n: int) -> dict[str, Any]:
        o = self.opts
        return {
            "time": datetime.now(UTC).isoformat(timespec="seconds"),
            "design": design,
            "n": n,
            "idle": o.idle,
            "processes": o.processes if design.startswith("engine") else 1,
            "tokens_per_stream": o.tokens,
            "interval_ms": o.interval_ms,
            "flush_ms": self.flush_ms if design.startswith("engine") else int(RELAY_ENV["AGG_MS"]),
            "database": (
                (urlsplit(o.database_url).scheme if o.database_url else "sqlite")
                if design.startswith("engine")
                else None
            ),
            "errors": {},
        }

    def _engine_env(self, run_dir: Path, db_url: str, prefix: str, credits: int) -> dict[str, str]:
        return {**os.environ, **self._engine_settings(run_dir, db_url, prefix, credits)}

    def _engine_settings(
        self, run_dir: Path, db_url: str, prefix: str, credits: int
    ) -> dict[str, str]:
        return {
            "INTERVIEW_ENV": "development",
            "INTERVIEW_DATA_DIR": str(run_dir),
            "INTERVIEW_DATABASE_URL": db_url,
            "INTERVIEW_REDIS_URL": self.opts.redis_url,
            "INTERVIEW_REDIS_KEY_PREFIX": prefix,
            "INTERVIEW_INTERVIEWER": "stub",
            "INTERVIEW_STUB_TOKENS": str(self.opts.tokens),
            "INTERVIEW_STUB_INTERVAL_MS": f"{self.opts.interval_ms:g}",
            "INTERVIEW_STREAM_FLUSH_MS": str(self.flush_ms),
            "INTERVIEW_FREE_CREDITS": str(credits),
            "INTERVIEW_REGISTER_LIMIT_PER_IP": "1000",
            "INTERVIEW_LOGIN_LIMIT_PER_IP": "1000",
            "INTERVIEW_JWT_SECRET": secrets.token_hex(32),
            "INTERVIEW_LOG_FORMAT": "json",
            "INTERVIEW_LOG_LEVEL": "WARNING",
            "INTERVIEW_SHUTDOWN_GRACE_S": "3",
            "PYTHONUNBUFFERED": "1",
        }

    def _side_load(self) -> SideLoad | None:
        if self.opts.voice:
            return VoiceLoad(self.opts.voice, self._voice_pcm)
        if self.opts.admins:
            return AdminLoad(self.opts.admins)
        return None

    async def engine_run(self, n: int, side: SideLoad | None = None) -> dict[str, Any]:
        o = self.opts
        extra = side.interviews if side is not None else 0
        design = f"engine {o.processes}p" + (f" {side.label}" if side is not None else "")
        result = self._base_result(design, n)
        deadline = time.monotonic() + o.duration_cap
        run_dir = Path(tempfile.mkdtemp(prefix=f"engine-{o.processes}p-{n}-", dir=self.workdir))
        db_url = o.database_url or f"sqlite+aiosqlite:///{run_dir / 'bench.db'}"
        prefix = f"bench-{secrets.token_hex(5)}:"
        email = f"bench-{secrets.token_hex(5)}@example.com"
        env = self._engine_env(run_dir, db_url, prefix, n + o.idle + extra + 10)
        python = o.engine_python or sys.executable
        cli = [python, "-m", "server.cli"]
        procs: list[Process] = []
        gen: LoadGen | None = None
        self.pending_prefixes.add(prefix)
        result["redis_prefix"] = prefix
        probes: list[Path] = []
        try:
            migrate = self.spawn(f"{design} migrate", [*cli, "migrate"], env, run_dir)
            if await migrate.wait(deadline) != 0:
                migrate.kill()
                raise BenchError(f"interview migrate failed:\n{migrate.tail()}")
            ports = [_free_port() for _ in range(o.processes)]
            for i, port in enumerate(ports):
                serve = ["serve", "--host", "127.0.0.1", "--port", str(port), "--no-migrate"]
                proc_env = env
                if o.profile_starts:
                    # Counters inside the gateway, installed by the bench-only launcher.
                    probes.append(run_dir / f"probe-{i}.json")
                    proc_env = {**env, PROBE_ENV: str(probes[-1])}
                    argv = [python, str(PROBE_PATH), *serve]
                else:
                    argv = [*cli, *serve]
                procs.append(self.spawn(f"{design} gateway{i}", argv, proc_env, run_dir))
            await asyncio.gather(
                *(
                    wait_http(p, port, "/readyz", deadline)
                    for p, port in zip(procs, ports, strict=True)
                )
            )
            t_create = time.monotonic()
            token = await _register(ports[0], email)
            # One process creates them all: on SQLite, two writers would only queue anyway.
            ids = await _create_interviews(ports[0], token, n + o.idle + extra, deadline)
            result["create_s"] = round(time.monotonic() - t_create, 2)
            urls = [
                f"ws://127.0.0.1:{ports[i % len(ports)]}/ws/interviews/{iid}"
                for i, iid in enumerate(ids)
            ]
            gen = LoadGen("engine", tokens=o.tokens, interval_ms=o.interval_ms, access_token=token)
            if o.profile_starts:
                await self._profile(gen, result, procs, probes, urls, db_url, deadline)
            elif side is not None:
                streams = urls[: len(urls) - extra]
                context = SideContext(
                    urls=urls[len(urls) - extra :],
                    token=token,
                    ports=ports,
                    watch_url=streams[o.idle] if len(streams) > o.idle else None,
                    env=env,
                    cli=cli,
                    cwd=run_dir,
                )
                try:
                    await side.prepare(context)
                    await self._measure(
                        gen, result, [p.pid for p in procs], streams, deadline, during=side.during()
                    )
                finally:
                    await side.close()
                side.report(result)
            else:
                await self._measure(gen, result, [p.pid for p in procs], urls, deadline)
        except BenchError as exc:
            result["failed"] = str(exc)
            _progress(f"{design} N={n}: FAILED: {exc}")
        finally:
            if gen is not None:
                await gen.close_all()
            await asyncio.gather(*(p.stop() for p in procs))
            await self._cleanup_prefix(prefix, result)
            if o.database_url:
                try:
                    await delete_user(db_url, email)
                except Exception as exc:
                    result.setdefault("cleanup", []).append(f"delete bench user: {exc!r}")
            result["server_log"] = _merge_problems(procs)
            self._tidy(run_dir, result)
        return result

    async def relay_run(self, n: int) -> dict[str, Any]:
        o = self.opts
        assert self.baseline_dir is not None
        result = self._base_result("bare relay", n)
        deadline = time.monotonic() + o.duration_cap
        run_dir = Path(tempfile.mkdtemp(prefix=f"relay-{n}-", dir=self.workdir))
        port = _free_port()
        env = dict(os.environ)
        env.update(RELAY_ENV)
        env.update({"REDIS_URL": o.redis_url, "PYTHONDONTWRITEBYTECODE": "1"})
        argv = [sys.executable, "-m", "uvicorn", "server_redis:app"]
        argv += ["--app-dir", str(self.baseline_dir), "--host", "127.0.0.1", "--port", str(port)]
        argv += ["--workers", "1", "--loop", "uvloop", "--http", "httptools"]
        argv += ["--ws", "websockets-sansio", "--ws-per-message-deflate", "false"]
        argv += ["--backlog", "4096", "--timeout-graceful-shutdown", "3", "--log-level", "warning"]
        proc: Process | None = None
        gen: LoadGen | None = None
        try:
            proc = self.spawn("bare relay", argv, env, run_dir)
            await wait_http(proc, port, "/openapi.json", deadline)
            run_id = secrets.token_hex(4)  # the relay's channels are session:<id>; keep ours apart
            urls = [f"ws://127.0.0.1:{port}/ws/bench{run_id}-{i}" for i in range(n + o.idle)]
            gen = LoadGen("relay", tokens=o.tokens, interval_ms=o.interval_ms)
            await self._measure(gen, result, [proc.pid], urls, deadline)
        except BenchError as exc:
            result["failed"] = str(exc)
            _progress(f"bare relay N={n}: FAILED: {exc}")
        finally:
            if gen is not None:
                await gen.close_all()
            if proc is not None:
                await proc.stop()
            result["server_log"] = _merge_problems([proc] if proc else [])
            self._tidy(run_dir, result)
        return result

    def _voice_pcm(self) -> bytes:
        """One spoken answer (about 10 s), made once per bench (when first needed)."""
        if self._voice_audio is None:
            (path,) = synthesise([VOICE_SENTENCE], self.workdir)
            self._voice_audio = read_pcm(path)
        return self._voice_audio

    async def _measure(
        self,
        gen: LoadGen,
        result: dict[str, Any],
        pids: list[int],
        urls: list[str],
        deadline: float,
        during: Coroutine[Any, Any, None] | None = None,
    ) -> None:
        """Idle interviews first, then the streaming ones, measured until the last turn.end;
        ``during`` starts when the streams start (and is awaited before returning)."""
        o = self.opts
        idle_urls, stream_urls = urls[: o.idle], urls[o.idle :]
        rss_before = _total([rss_mib(pid) for pid in pids])
        t_idle = time.monotonic()
        idle_ok = await gen.open_idle(idle_urls, deadline)
        result["idle_connected"] = idle_ok
        result["idle_s"] = round(time.monotonic() - t_idle, 2)
        if idle_urls:
            await asyncio.sleep(0.5)  # let the idle streams' buffers be freed
        rss_idle = _total([rss_mib(pid) for pid in pids])
        _progress(f"  {idle_ok}/{len(idle_urls)} idle; streaming {len(stream_urls)}")

        marks: dict[str, Any] = {}

        def sample() -> dict[str, Any]:
            return {
                "t": time.monotonic(),
                "srv": _total([cpu_seconds(pid) for pid in pids]),
                "redis": cpu_seconds(self.redis_pid) if self.redis_pid else None,
                "client": time.process_time(),
                "machine": machine_busy_seconds(),
            }

        start = sample()
        side = asyncio.create_task(during) if during is not None else None
        st = await gen.stream(stream_urls, deadline, lambda: marks.update(sample()))
        if side is not None:
            await side
        rss_end = _total([rss_mib(pid) for pid in pids])
        wall = marks["t"] - start["t"]
        result.update(stream_metrics(st, gen.mode, wall))

        def pct(key: str) -> float | None:
            a, b = start[key], marks[key]
            return None if a is None or b is None or wall <= 0 else round(100 * (b - a) / wall, 1)

        result["srv_cpu_pct"] = pct("srv")
        result["redis_cpu_pct"] = pct("redis")
        result["client_cpu_pct"] = pct("client")
        parts = [result["srv_cpu_pct"], result["redis_cpu_pct"], result["client_cpu_pct"]]
        busy = pct("machine")
        if busy is not None and None not in parts:
            # Whatever else ran on the machine meanwhile: the numbers are only as clean as this.
            result["other_cpu_pct"] = round(max(0.0, busy - sum(parts)), 1)
        result["rss_before_mib"] = _r(rss_before)
        result["rss_idle_mib"] = _r(rss_idle)
        result["rss_end_mib"] = _r(rss_end)
        if o.idle and idle_ok and rss_before is not None and rss_idle is not None:
            result["rss_per_idle_kib"] = round((rss_idle - rss_before) * 1024 / idle_ok, 1)
        errors = Counter(gen.idle_errors)
        errors.update(st.errors)
        result["errors"] = dict(errors)

    # --- the start profile ----------------------------------------------------------------

    async def _profile_sample(
        self, procs: Sequence[Process], probes: Sequence[Path], db_url: str | None
    ) -> dict[str, Any]:
        """Counters of the gateways (probe dumps), their CPU, Redis and PostgreSQL stats."""
        before = [_probe_dump_number(p) for p in probes]
        for proc in procs:
            proc._signal(signal.SIGUSR1)
        counts: Counter[str] = Counter()
        for path, old in zip(probes, before, strict=True):
            give_up = time.monotonic() + 5
            while _probe_dump_number(path) == old:
                if time.monotonic() > give_up:
                    raise BenchError(f"no counter dump in {path}")
                await asyncio.sleep(0.01)
            counts.update(orjson.loads(path.read_bytes())["counts"])
        sample: dict[str, Any] = {
            "t": time.monotonic(),
            "counts": counts,
            "srv_cpu": _total([cpu_seconds(p.pid) for p in procs]),
            "redis_cpu": cpu_seconds(self.redis_pid) if self.redis_pid else None,
            "redis": await redis_commandstats(self.opts.redis_url),
        }
        if db_url and db_url.startswith("postgresql"):
            sample["pg"] = await pg_database_stats(db_url)
        return sample

    async def _profile(
        self,
        gen: LoadGen,
        result: dict[str, Any],
        procs: Sequence[Process],
        probes: Sequence[Path],
        urls: list[str],
        db_url: str,
        deadline: float,
    ) -> None:
        """Start every interview at once; count what each start cost the gateway.

        Window: first hello → every stream's turn.end (+1 s for batched writes). Background
        (lease upkeep and the like) is measured over a quiet stretch just before and
        subtracted in proportion. PostgreSQL's own counters are read after its stats settle.
        """
        n = len(urls)
        await asyncio.sleep(PG_STATS_SETTLE_S)  # the REST creates' stats land first
        quiet0 = await self._profile_sample(procs, probes, db_url)
        await asyncio.sleep(3.0)
        quiet1 = await self._profile_sample(procs, probes, db_url)
        _progress(f"  starting {n} interviews at once")
        st = await gen.stream(urls, deadline, lambda: None)
        await asyncio.sleep(START_SETTLE_S)
        end = await self._profile_sample(procs, probes, db_url)
        await asyncio.sleep(PG_STATS_SETTLE_S)
        pg_end = await self._profile_sample(procs, probes, db_url)
        result.update(stream_metrics(st, gen.mode, end["t"] - quiet1["t"]))
        errors = Counter(st.errors)
        result["errors"] = dict(errors)

        quiet_s = quiet1["t"] - quiet0["t"]
        window_s = end["t"] - quiet1["t"]
        scale = window_s / quiet_s

        def per_start(
            a: float | None, b: float | None, qa: float | None, qb: float | None
        ) -> float | None:
            if None in (a, b, qa, qb):
                return None
            assert a is not None and b is not None and qa is not None and qb is not None
            return float(((b - a) - (qb - qa) * scale) / n)

        prof: dict[str, Any] = {
            "n": n,
            "window_s": round(window_s, 2),
            "quiet_s": round(quiet_s, 2),
        }
        prof["background_per_s"] = {
            k: round((quiet1["counts"][k] - quiet0["counts"][k]) / quiet_s, 2)
            for k in ("sql", "redis_cmds", "redis_sends")
        }
        keys = sorted(set(end["counts"]) | set(quiet1["counts"]))
        prof["gateway_per_start"] = {
            k: round(
                per_start(
                    quiet1["counts"][k], end["counts"][k], quiet0["counts"][k], quiet1["counts"][k]
                )
                or 0.0,
                3,
            )
            for k in keys
        }
        cpu = per_start(quiet1["srv_cpu"], end["srv_cpu"], quiet0["srv_cpu"], quiet1["srv_cpu"])
        prof["srv_cpu_us_per_start"] = None if cpu is None else round(cpu * 1e6)
        rcpu = per_start(
            quiet1["redis_cpu"], end["redis_cpu"], quiet0["redis_cpu"], quiet1["redis_cpu"]
        )
        prof["redis_cpu_us_per_start"] = None if rcpu is None else round(rcpu * 1e6)
        r0, r1, rq0 = quiet1["redis"], end["redis"], quiet0["redis"]
        prof["redis_info_per_start"] = {
            k: round((r1.get(k, 0) - r0.get(k, 0) - (r0.get(k, 0) - rq0.get(k, 0)) * scale) / n, 3)
            for k in sorted(set(r1) | set(r0))
            if r1.get(k, 0) != r0.get(k, 0)
        }
        if "pg" in pg_end:
            p0, p1 = quiet1["pg"], pg_end["pg"]
            prof["pg_per_start"] = {k: round((p1[k] - p0[k]) / n, 3) for k in p1}
            prof["pg_settle_s"] = round(pg_end["t"] - end["t"], 1)
        ttft50, ttft90, ttft99 = percentiles(st.ttft, (50, 90, 99))
        ramp = (st.last_first - st.first_send) if st.last_first and st.first_send else None
        prof["hello_to_first_delta_ms"] = {
            "p50": _r(ttft50),
            "p90": _r(ttft90),
            "p99": _r(ttft99),
            "max": _r(max(st.ttft) if st.ttft else None),
        }
        prof["ramp_s"] = _r(ramp, 3)
        prof["starts_per_s"] = round(len(st.ttft) / ramp, 1) if ramp else None
        prof["starts_per_s_per_process"] = (
            round(len(st.ttft) / ramp / len(procs), 1) if ramp else None
        )
        result["profile"] = prof

    async def _cleanup_prefix(self, prefix: str, result: dict[str, Any]) -> None:
        try:
            left = await delete_keys(self.opts.redis_url, prefix)
        except Exception as exc:
            result.setdefault("cleanup", []).append(f"redis keys: {exc!r}")
            return
        if left:
            result.setdefault("cleanup", []).append(f"{left} redis keys left under {prefix}")
        else:
            self.pending_prefixes.discard(prefix)

    def _tidy(self, run_dir: Path, result: dict[str, Any]) -> None:
        for db in run_dir.glob("bench.db*"):
            db.unlink(missing_ok=True)
        if result.get("server_log") or result.get("failed"):
            self.keep_workdir = True
            result["log_dir"] = str(run_dir)

    def finish(self) -> None:
        if self.keep_workdir:
            typer.echo(f"Server logs kept in {self.workdir}")
        else:
            shutil.rmtree(self.workdir, ignore_errors=True)


async def _register(port: int, email: str) -> str:
    http = Http(port)
    try:
        status, body = await http.call(
            "POST", "/api/auth/register", {"email": email, "password": secrets.token_urlsafe(16)}
        )
    finally:
        http.close()
    if status != 201:
        raise BenchError(f"register: HTTP {status} {body}")
    return str(body["access_token"])


async def _create_interviews(port: int, token: str, count: int, deadline: float) -> list[str]:
    ids: list[str] = []
    remaining = count
    spec = {"track": "backend", "level": "mid", "question_count": 1, "answer_time_limit_s": 1800}

    async def worker() -> None:
        nonlocal remaining
        http = Http(port)
        try:
            while remaining > 0:
                remaining -= 1
                status, body = await http.call("POST", "/api/interviews", spec, token)
                if status != 201:
                    raise BenchError(f"create interview: HTTP {status} {body}")
                ids.append(str(body["id"]))
        finally:
            http.close()

    try:
        async with asyncio.timeout(max(0.0, deadline - time.monotonic())):
            await asyncio.gather(*(worker() for _ in range(min(CREATE_CONCURRENCY, count))))
    except TimeoutError:
        raise BenchError(f"created only {len(ids)} of {count} interviews before the cap") from None
    return ids


def _merge_problems(procs: Sequence[Process]) -> dict[str, int]:
    total: Counter[str] = Counter()
    for proc in procs:
        total.update(proc.problems())
    return dict(total)


def _progress(message: str) -> None:
    typer.echo(f"[{time.strftime('%H:%M:%S')}] {message}", err=True)


# --- the table ------------------------------------------------------------------------------

COLUMNS: list[tuple[str, str]] = [
    ("design", "design"),
    ("N", "n"),
    ("idle", "idle"),
    ("done", "completed"),
    ("tok/s avg", "tok_per_s"),
    ("tok/s peak", "peak_1s_tok_per_s"),
    ("TTFT p50", "ttft_p50_ms"),
    ("TTFT p99", "ttft_p99_ms"),
    ("lat p50", "lat_p50_ms"),
    ("lat p95", "lat_p95_ms"),
    ("lat p99", "lat_p99_ms"),
    ("sched p99", "sched_lat_p99_ms"),
    ("steady p99", "steady_lat_p99_ms"),
    ("gap p99", "gap_p99_ms"),
    ("srv CPU%", "srv_cpu_pct"),
    ("redis CPU%", "redis_cpu_pct"),
    ("client CPU%", "client_cpu_pct"),
    ("other CPU%", "other_cpu_pct"),
    ("RSS MiB", "rss_end_mib"),
    ("KiB/idle", "rss_per_idle_kib"),
    ("errors", "errors"),
]


def _cell(result: dict[str, Any], key: str) -> str:
    value = result.get(key)
    if key == "errors":
        return str(sum(result.get("errors", {}).values())) + (
            " FAILED" if "failed" in result else ""
        )
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.1f}" if abs(value) >= 10 or key.endswith("pct") else f"{value:.2f}"
    return str(value)


def pool(results: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One result per (design, N): a single run as it is; several runs as the median of
    each number, their errors added up, and the first failure if any failed."""
    groups: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for r in results:
        groups.setdefault((r["design"], r["n"]), []).append(r)
    pooled = []
    for runs in groups.values():
        if len(runs) == 1:
            pooled.append({**runs[0], "runs": 1})
            continue
        merged = {k: v for k, v in runs[0].items() if k not in ("rep", "failed")}
        numbers = {
            key
            for r in runs
            for key, value in r.items()
            if isinstance(value, int | float) and not isinstance(value, bool) and key != "rep"
        }
        for key in numbers:
            values = [r[key] for r in runs if isinstance(r.get(key), int | float)]
            # What the runs share (N, idle, processes) stays as it is, an int.
            merged[key] = values[0] if len(set(values)) == 1 else statistics.median(values)
        errors: Counter[str] = Counter()
        for r in runs:
            errors.update(r.get("errors", {}))
        merged["errors"] = dict(errors)
        failures = [r["failed"] for r in runs if "failed" in r]
        if failures:
            merged["failed"] = failures[0]
        merged["runs"] = len(runs)
        pooled.append(merged)
    return pooled


def _table(results: Sequence[dict[str, Any]], columns: Sequence[tuple[str, str]]) -> list[str]:
    rows = [[title for title, _ in columns]]
    rows += [[_cell(r, key) for _, key in columns] for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(len(columns))]
    lines = [
        "| " + " | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) + " |"
        for row in rows
    ]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return lines


def render(results: Sequence[dict[str, Any]], sweep: bool) -> str:
    repeated = any(r.get("rep", 1) > 1 for r in results)
    lines = _table(results, [("run", "rep"), *COLUMNS] if repeated else COLUMNS)
    lines += [
        "Times in ms. lat: receive - the token's own stamp (engine: the stub's yield time; relay: "
        "its schedule slot).",
        "sched: receive - the token's schedule slot, for both (the relay's definition). steady: "
        "lat of the tokens received from the second after every stream had its first token.",
        "gap: between token arrivals on a socket (0 within a frame). CPU: 100 = one core, over "
        "the streaming window; other = the rest of the machine. RSS: summed over the gateway "
        "processes, at the end.",
        "KiB/idle: (RSS with the idle interviews connected - RSS before) / idle.",
    ]
    for r in results:
        details = []
        if "failed" in r:
            details.append(f"run failed: {r['failed'].splitlines()[0]}")
        details += [f"{k} x{v}" for k, v in sorted(r.get("errors", {}).items())]
        details += [f"server log: {k} x{v}" for k, v in sorted(r.get("server_log", {}).items())]
        details += [f"clean-up: {c}" for c in r.get("cleanup", [])]
        if details:
            run = f" run {r['rep']}" if repeated else ""
            lines.append(f"{r['design']} N={r['n']}{run}:")
            lines += [f"  {d}" for d in details[:12]]
            if len(details) > 12:
                lines.append(f"  … {len(details) - 12} more (see --json)")
    designs = list(dict.fromkeys(r["design"] for r in results))
    pooled = pool(results)
    if len(pooled) < len(results):
        lines.append("")
        lines.append("Medians over the runs of each design and N (what the lines below compare):")
        lines += _table(pooled, [("runs", "runs"), *COLUMNS])
    results = pooled
    if sweep:
        for design in designs:
            best, unbroken = _largest_ok(results, design)
            lines.append(
                f"largest N with lat p99 ≤ {P99_TARGET_MS:g} ms and no errors, {design}: "
                + (str(best) if best is not None else "none of the tried N")
                + ("" if unbroken == best else f" (every tried N up to {unbroken} passed)")
            )
    lines += _ratios(results, designs, sweep)
    lines += _side_lines(results)
    return "\n".join(lines)


def _ratios(results: Sequence[dict[str, Any]], designs: list[str], sweep: bool) -> list[str]:
    relay = {r["n"]: r for r in results if r["design"] == "bare relay"}
    lines = []
    for design in designs:
        if design == "bare relay" or not relay:
            continue
        for r in results:
            base = relay.get(r["n"])
            if r["design"] != design or base is None:
                continue
            parts = []
            for label, key in (
                ("lat p99", "lat_p99_ms"),
                ("sched p99", "sched_lat_p99_ms"),
                ("steady p99", "steady_lat_p99_ms"),
                ("TTFT p99", "ttft_p99_ms"),
                ("srv CPU", "srv_cpu_pct"),
                ("RSS/idle", "rss_per_idle_kib"),
            ):
                a, b = r.get(key), base.get(key)
                if a is not None and b:
                    parts.append(f"{label} x{a / b:.2f}")
            lines.append(f"{design} / bare relay at N={r['n']}: " + ", ".join(parts))
        if sweep:
            mine, theirs = _largest_ok(results, design), _largest_ok(results, "bare relay")
            for label, a, b in (
                ("largest N within target", mine[0], theirs[0]),
                ("largest N with every smaller tried N within target", mine[1], theirs[1]),
            ):
                if a and b:
                    lines.append(f"{design} / bare relay, {label}: {a / b:.2f}")
    return lines


def _side_lines(results: Sequence[dict[str, Any]]) -> list[str]:
    """Each run with a side load (voice, admins) against the same N without it."""
    plain = {r["n"]: r for r in results if r["design"].startswith("engine") and "side" not in r}
    lines = []
    for r in results:
        side = r.get("side")
        if side is None:
            continue
        line = f"{r['design']} N={r['n']}: {side}"
        base = plain.get(r["n"])
        if base is not None:
            for label, key, unit in (
                ("lat p99", "lat_p99_ms", " ms"),
                ("steady p99", "steady_lat_p99_ms", " ms"),
                ("srv CPU", "srv_cpu_pct", " %"),
            ):
                a, b = r.get(key), base.get(key)
                if a is not None and b:
                    line += f"; {label} {a}{unit} vs {b}{unit} without (x{a / b:.2f})"
        lines.append(line)
    return lines


def _largest_ok(results: Sequence[dict[str, Any]], design: str) -> tuple[int | None, int | None]:
    """The largest N of a sweep within the latency target, and the largest N below which
    every tried N was within it too (a noisy run can pass above a miss)."""
    tried = sorted(
        (
            int(r["n"]),
            not r.get("errors")
            and "failed" not in r
            and r.get("lat_p99_ms") is not None
            and r["lat_p99_ms"] <= P99_TARGET_MS,
        )
        for r in results
        if r["design"] == design
    )
    passing = [n for n, ok in tried if ok]
    unbroken = None
    for n, ok in tried:
        if not ok:
            break
        unbroken = n
    return (max(passing) if passing else None), unbroken


def render_profile(results: Sequence[dict[str, Any]]) -> str:
    """One block per start profile: latency, starts/s and what one start cost."""
    lines: list[str] = []
    for r in results:
        prof = r.get("profile")
        head = f"start profile: {r['design']}, {r['n']} interviews started at once"
        if "failed" in r or prof is None:
            lines.append(f"{head}: FAILED: {r.get('failed', 'no profile')}")
            continue
        h = prof["hello_to_first_delta_ms"]
        per = prof["gateway_per_start"]
        lines += [
            head,
            "| metric | value |",
            "|---|---|",
            f"| hello → first turn.delta p50 / p90 / p99 / max (ms) | {h['p50']} / {h['p90']} / "
            f"{h['p99']} / {h['max']} |",
            f"| ramp: first hello → last first delta (s) | {prof['ramp_s']} |",
            f"| starts/s (per process) | {prof['starts_per_s']} "
            f"({prof['starts_per_s_per_process']}) |",
            f"| gateway CPU µs per start | {prof['srv_cpu_us_per_start']} |",
            f"| Redis CPU µs per start | {prof['redis_cpu_us_per_start']} |",
            f"| SQL statements per start (probe) | {per.get('sql', 0)} |",
            f"| SQL commits / rollbacks / pool checkouts per start | {per.get('sql_commit', 0)} / "
            f"{per.get('sql_rollback', 0)} / {per.get('sql_checkout', 0)} |",
            f"| Redis commands per start (probe, client side) | {per.get('redis_cmds', 0)} |",
            f"| Redis sends = round trips per start (probe) | {per.get('redis_sends', 0)} |",
        ]
        info = prof.get("redis_info_per_start", {})
        lines.append(
            f"| Redis INFO commandstats calls / usec per start | {info.get('calls', 0)} / "
            f"{info.get('usec', 0)} |"
        )
        pg = prof.get("pg_per_start")
        if pg:
            lines.append(
                f"| pg_stat_database xacts (commit+rollback) per start | "
                f"{round(pg['xact_commit'] + pg['xact_rollback'], 3)} |"
            )
            lines.append(
                "| pg tuples returned / fetched / inserted / updated per start | "
                f"{pg['tup_returned']} / {pg['tup_fetched']} / {pg['tup_inserted']} / "
                f"{pg['tup_updated']} |"
            )
        lines.append(f"| errors | {sum(r.get('errors', {}).values())} |")
        sql = {k[4:]: v for k, v in per.items() if k.startswith("sql:") and v}
        cmds = {k[6:]: v for k, v in per.items() if k.startswith("redis:") and v}
        calls = {k[6:]: v for k, v in info.items() if k.startswith("calls:") and v}
        lines.append(
            "SQL by verb per start: " + ", ".join(f"{k} {v}" for k, v in sorted(sql.items()))
        )
        stmts = sorted(
            ((k[5:], v) for k, v in per.items() if k.startswith("stmt:") and v),
            key=lambda kv: -kv[1],
        )
        lines += [f"  {v} x {k}" for k, v in stmts[:8]]
        lines.append(
            "Redis commands per start (client): "
            + ", ".join(f"{k} {v}" for k, v in sorted(cmds.items(), key=lambda kv: -kv[1]))
        )
        lines.append(
            "Redis commandstats per start (server, incl. inside scripts): "
            + ", ".join(f"{k} {v}" for k, v in sorted(calls.items(), key=lambda kv: -kv[1]))
        )
        lines.append(
            f"background per s (subtracted): {prof['background_per_s']}; window "
            f"{prof['window_s']} s; PostgreSQL read {prof.get('pg_settle_s')} s later"
        )
        for k, v in sorted(r.get("errors", {}).items()):
            lines.append(f"  {k} x{v}")
        for k, v in sorted(r.get("server_log", {}).items()):
            lines.append(f"  server log: {k} x{v}")
    return "\n".join(lines)


# --- entry point ---------------------------------------------------------------------------


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def run_bench(opts: BenchOptions) -> int:
    """Run every (design, N); print the table. Returns the exit code."""
    limit = raise_nofile_limit()
    needed = max(opts.sessions) + opts.idle
    if limit < needed + 200:
        typer.secho(
            f"Open-files limit {limit} is low for {needed} sockets; raise `ulimit -Hn`.",
            fg="yellow",
            err=True,
        )
    bench = Bench(opts)
    code = 0
    try:
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            runner.run(bench.main())
    except BenchError as exc:
        typer.secho(str(exc), fg="red", err=True)
        code = 2
    except (KeyboardInterrupt, asyncio.CancelledError):
        typer.secho("Interrupted; stopped everything this bench started.", fg="yellow", err=True)
        code = 130
    except Exception:
        traceback.print_exc()
        typer.secho("The bench failed; stopped everything it started.", fg="red", err=True)
        code = 1
    finally:
        bench.kill_leftovers()
    if bench.results and opts.profile_starts:
        typer.echo(render_profile(bench.results))
    elif bench.results:
        typer.echo(render(bench.results, sweep=len(opts.sessions) > 1))
        if any("failed" in r for r in bench.results) and code == 0:
            code = 1
    bench.finish()
    return code
