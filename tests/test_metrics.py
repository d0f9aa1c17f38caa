"""Prometheus metrics at GET /metrics: what moves during real interviews, who may read them,
and the sums over the worker processes of ``interview serve --workers 2``."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from server.app import create_app
from server.config import Settings
from tests.fakes.gemini import Fail, FakeGemini, Reply, Stream
from tests.test_cli import INTERVIEW, _env, _free_port
from tests.wsclient import (
    STRONG_ANSWER,
    InterviewClient,
    LiveServer,
    answer_everything,
    new_session,
)

Labels = frozenset[tuple[str, str]]
Samples = dict[tuple[str, Labels], float]


def parse(text: str) -> Samples:
    """Every sample of an exposition, by name and labels."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sample ``name`` with exactly ``labels`` (0 when it has not appeared yet)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


async def scrape(base: str, **headers: str) -> Samples:
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        response = await http.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return parse(response.text)


async def settle(base: str, check: Callable[[Samples], bool], timeout: float = 10.0) -> Samples:
    """Scrape until ``check(samples)`` holds (values written in the background catch up)."""
    deadline = time.monotonic() + timeout
    while True:
        samples = await scrape(base)
        if check(samples) or time.monotonic() > deadline:
            return samples
        await asyncio.sleep(0.05)


def assert_no_ids_in_labels(samples: Samples, *ids: str) -> None:
    """No label (name or value) of any sample carries one of ``ids``."""
    for name, labels in samples:
        for label, text in labels:
            for identifier in ids:
                assert identifier not in text and identifier not in label, (name, labels)


async def user_id(http: str, headers: dict[str, str]) -> str:
    async with httpx.AsyncClient(base_url=http, timeout=10) as client:
        me = await client.get("/api/me", headers=headers)
    assert me.status_code == 200, me.text
    found: str = me.json()["id"]
    return found


# --- one process, a real server ------------------------------------------------------------


@pytest.fixture
async def live(settings: Settings) -> AsyncIterator[LiveServer]:
    tuned = settings.model_copy(update={"offline_pace_ms": 2})
    async with LiveServer(tuned).running() as server:
        yield server


async def test_an_offline_interview_moves_the_socket_frame_and_token_latency_metrics(
    live: LiveServer,
) -> None:
    """Sockets and interviews are gauged while open, every frame counted, deltas timed."""
    before = await scrape(live.http)
    session = await new_session(live.http, question_count=2)
    client = InterviewClient(live.ws_url(session.interview_id), session.token)
    await client.connect()

    during = await scrape(live.http)
    sockets_before = value(before, "interview_ws_active_sockets")
    assert value(during, "interview_ws_active_sockets") == sockets_before + 1
    interviews_before = value(before, "interview_live_interviews")
    assert value(during, "interview_live_interviews") == interviews_before + 1

    ended = await answer_everything(client)
    assert ended["status"] == "finished"
    answers = len(client.of_type("answer.accepted"))
    await client.close()

    after = await settle(
        live.http,
        lambda s: (
            value(s, "interview_ws_active_sockets") == sockets_before
            and value(s, "interview_live_interviews") == interviews_before
        ),
    )
    assert value(after, "interview_ws_active_sockets") == sockets_before
    assert value(after, "interview_live_interviews") == interviews_before

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    # In: the hello and one answer per question; out: at least every frame the client read.
    assert moved("interview_ws_frames_total", direction="in") == 1 + answers
    assert moved("interview_ws_frames_total", direction="out") >= len(client.frames)
    deltas = len(client.of_type("turn.delta"))
    timed = moved("interview_token_latency_seconds_count")
    assert 0 < timed <= deltas
    assert moved("interview_token_latency_seconds_sum") > 0
    assert moved("interview_token_latency_seconds_bucket", le="+Inf") == timed

    assert_no_ids_in_labels(
        after, session.interview_id, await user_id(live.http, session.headers), session.token
    )


@pytest.fixture
async def fake() -> AsyncIterator[FakeGemini]:
    async with FakeGemini(models=("gemini-metrics",)) as server:
        yield server


async def test_a_gemini_interview_counts_provider_calls_tokens_cost_and_time_to_first_token(
    settings: Settings, fake: FakeGemini
) -> None:
    """The usage sink feeds the provider metrics: by model and kind, with no interview id."""
    tuned = settings.model_copy(
        update={
            "gemini_api_key": SecretStr("test-key"),
            "gemini_model": "gemini-metrics",
            "gemini_base_url": fake.base_url,
            "gemini_api_version": "v1beta",
            "gemini_prices": {"gemini-metrics": (1.0, 4.0)},
        }
    )
    chunks = ("Hello, I'm your interviewer. ", "Tell me about a time you ", "made it faster.")
    fake.script("stream", Stream(chunks=chunks, delay_s=0.02, usage=(200, 40)))
    score = {
        "reply": "answer",
        "incorrect_statements": [],
        "criteria": [
            {
                "criterion": c,
                "evidence": "we added an index",
                "rationale": "Matches the anchor.",
                "value": 4,
                "suggestion": "More.",
            }
            for c in ("coverage", "structure", "specificity", "clarity")
        ],
        "notes": "",
        "follow_up_focus": "",
        "follow_up_worthy": False,
    }
    report = {
        "overall_score": 4.0,
        "strengths": ["Numbers"],
        "weaknesses": ["Trade-offs"],
        "next_steps": ["Practise", "Lead with the result", "Time answers"],
    }
    fake.script("generate", Reply.of(score, usage=(300, 80)), Reply.of(report, usage=(500, 120)))
    model = {"model": "gemini-metrics"}
    async with LiveServer(tuned).running() as live:
        before = await scrape(live.http)
        session = await new_session(live.http, question_count=1)
        client = InterviewClient(live.ws_url(session.interview_id), session.token)
        await client.connect()
        ended = await answer_everything(client, STRONG_ANSWER)
        assert ended["status"] == "finished"
        await client.close()

        def calls(s: Samples, kind: str) -> float:
            return value(s, "interview_provider_calls_total", kind=kind, outcome="ok", **model)

        after = await settle(live.http, lambda s: calls(s, "report") - calls(before, "report") == 1)
        owner = await user_id(live.http, session.headers)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    for kind in ("turn", "score", "report"):
        assert calls(after, kind) - calls(before, kind) == 1, kind
        assert moved("interview_provider_call_duration_seconds_count", kind=kind, **model) == 1
    assert moved("interview_provider_tokens_total", direction="in", **model) == 200 + 300 + 500
    assert moved("interview_provider_tokens_total", direction="out", **model) == 40 + 80 + 120
    # 1000 tokens in at $1/M and 240 out at $4/M.
    cost = moved("interview_provider_cost_usd_total", **model)
    assert cost == pytest.approx((1000 * 1.0 + 240 * 4.0) / 1_000_000)
    # Only the streamed turn has a time to first token.
    assert moved("interview_provider_ttft_seconds_count", **model) == 1
    assert moved("interview_provider_ttft_seconds_sum", **model) > 0
    assert not any(
        name == "interview_provider_errors_total" and ("model", "gemini-metrics") in labels
        for name, labels in after
    )
    assert_no_ids_in_labels(after, session.interview_id, owner, session.token)


async def test_a_failed_provider_call_and_the_switch_to_the_offline_interviewer_are_counted(
    settings: Settings, fake: FakeGemini
) -> None:
    """A refused turn is an error by its code; the interview goes on offline, counted once."""
    tuned = settings.model_copy(
        update={
            "gemini_api_key": SecretStr("test-key"),
            "gemini_model": "gemini-metrics",
            "gemini_base_url": fake.base_url,
            "gemini_fallback_offline": True,
            "offline_pace_ms": 1,
        }
    )
    fake.forever("stream", Fail(400, "The request is invalid"))  # not retried
    turn = {"model": "gemini-metrics", "kind": "turn"}
    async with LiveServer(tuned).running() as live:
        before = await scrape(live.http)
        session = await new_session(live.http, question_count=1)
        client = InterviewClient(live.ws_url(session.interview_id), session.token)
        await client.connect()
        changed = await client.until("interviewer.changed", timeout=30)
        assert changed["offline"] is True
        await client.close()
        after = await scrape(live.http)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("interview_offline_fallbacks_total") == 1
    assert moved("interview_provider_calls_total", outcome="error", **turn) == 1
    assert moved("interview_provider_errors_total", error_code="400", **turn) == 1
    assert moved("interview_provider_ttft_seconds_count", model="gemini-metrics") == 0


# --- who may read them ---------------------------------------------------------------------


async def _get_metrics(
    settings: Settings, *, peer: tuple[str, int] = ("127.0.0.1", 50000), **headers: str
) -> httpx.Response:
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app, client=peer)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        return await http.get("/metrics", headers=headers)


async def test_with_a_metrics_token_only_a_scraper_presenting_it_gets_the_metrics(
    settings: Settings,
) -> None:
    """No token or a wrong one: 401, from loopback too; the right bearer token: 200."""
    guarded = settings.model_copy(update={"metrics_token": SecretStr("scrape-token-0123456789")})
    missing = await _get_metrics(guarded)
    assert missing.status_code == 401 and missing.json()["code"] == "not_authenticated"
    assert missing.headers["www-authenticate"] == "Bearer"
    wrong = await _get_metrics(guarded, authorization="Bearer scrape-token-01234567890")
    assert wrong.status_code == 401
    other_scheme = await _get_metrics(guarded, authorization="Basic scrape-token-0123456789")
    assert other_scheme.status_code == 401
    right = await _get_metrics(
        guarded, peer=("203.0.113.9", 1234), authorization="Bearer scrape-token-0123456789"
    )
    assert right.status_code == 200
    assert "interview_ws_active_sockets" in {
        family.name for family in text_string_to_metric_families(right.text)
    }


async def test_without_a_token_only_loopback_peers_not_relayed_by_a_proxy_get_the_metrics(
    settings: Settings,
) -> None:
    """Another host, or a request a proxy relayed (it carries X-Forwarded-For): 404."""
    elsewhere = await _get_metrics(settings, peer=("203.0.113.9", 1234))
    assert elsewhere.status_code == 404
    assert elsewhere.json() == {"code": "not_found", "detail": "Not found."}
    relayed = await _get_metrics(settings, **{"x-forwarded-for": "203.0.113.9"})
    assert relayed.status_code == 404
    assert (await _get_metrics(settings, peer=("::1", 1234))).status_code == 200
    assert (await _get_metrics(settings)).status_code == 200


async def test_metrics_are_not_part_of_the_api_document(settings: Settings) -> None:
    app = create_app(settings)
    assert "/metrics" not in app.openapi()["paths"]


# --- several worker processes --------------------------------------------------------------


def _children(parent: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == parent:
                pids.append(int(entry.name))
    return pids


def _socket_inode(server_port: int, client_port: int) -> int | None:
    """The inode of the server's end of a loopback TCP connection, from /proc/net/tcp."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote = fields[1], fields[2]
        if int(local.split(":")[1], 16) == server_port and (
            int(remote.split(":")[1], 16) == client_port
        ):
            return int(fields[9])
    return None


def _holder(pids: list[int], inode: int) -> int | None:
    """Which of ``pids`` has the socket ``inode`` open."""
    target = f"socket:[{inode}]"
    for pid in pids:
        with_fds = Path(f"/proc/{pid}/fd")
        try:
            if any(os.readlink(fd) == target for fd in with_fds.iterdir()):
                return pid
        except OSError:
            continue
    return None


class Workers:
    """`interview serve --workers 2` on SQLite, with the sockets the test opened on it."""

    def __init__(self, process: subprocess.Popen[str], port: int) -> None:
        self.process = process
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.held: dict[ClientConnection, int] = {}  # socket -> the worker pid holding it

    async def open_until_both_workers_hold_one(self, timeout: float = 30) -> dict[int, int]:
        """Open sockets (no hello yet) until each worker holds one; sockets per worker."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.held) < 200:
            await asyncio.sleep(0.05)  # a worker still starting accepts nothing yet
            ws = await connect(f"ws://127.0.0.1:{self.port}/ws/interviews/{uuid.uuid4()}")
            client_port = ws.transport.get_extra_info("sockname")[1]
            inode = _socket_inode(self.port, client_port)
            assert inode is not None
            pid = _holder(_children(self.process.pid), inode)
            assert pid is not None, "no worker holds the socket"
            self.held[ws] = pid
            per_worker = self.per_worker()
            if len(per_worker) == 2:
                return per_worker
        raise AssertionError(f"{len(self.held)} sockets all went to one worker")

    async def close_all(self) -> None:
        for ws in self.held:
            await ws.close()

    def per_worker(self) -> dict[int, int]:
        counts: dict[int, int] = {}
        for pid in self.held.values():
            counts[pid] = counts.get(pid, 0) + 1
        return counts

    def metrics_dir(self, pid: int) -> Path:
        """The PROMETHEUS_MULTIPROC_DIR a worker was started with."""
        raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        pairs = (item.decode().partition("=") for item in raw if b"=" in item)
        return Path({key: val for key, _, val in pairs}["PROMETHEUS_MULTIPROC_DIR"])

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def _files(directory: Path, pattern: str = "*") -> list[Path]:
    return list(directory.glob(pattern)) if directory.is_dir() else []


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Workers]:
    # The project runs (and is tested) on Linux: /proc tells which worker holds a socket.
    assert Path("/proc/net/tcp").is_file(), "this test reads /proc/net/tcp (Linux)"
    port = _free_port()
    env = _env(tmp_path, INTERVIEW_WS_HELLO_TIMEOUT_S="120")
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)  # the parent makes its own
    process = subprocess.Popen(
        [INTERVIEW, "serve", "--port", str(port), "--workers", "2"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    running = Workers(process, port)
    try:
        deadline = time.monotonic() + 60
        while len(_children(process.pid)) < 2 or not _ready(running.base):
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                pytest.fail(f"server did not become ready:\n{process.communicate()[0]}")
            time.sleep(0.2)
        yield running
    finally:
        process.terminate()
        output = process.communicate(timeout=30)[0]
        assert process.returncode in (0, -15), output


def _ready(base: str) -> bool:
    try:
        return httpx.get(f"{base}/readyz", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


async def test_with_two_workers_metrics_are_the_sums_over_both_processes(
    workers: Workers,
) -> None:
    """Open sockets and frames are added up over both workers, whichever one answers."""
    per_worker = await workers.open_until_both_workers_hold_one()
    opened = sum(per_worker.values())
    directories = {workers.metrics_dir(pid) for pid in per_worker}
    assert len(directories) == 1 and _files(directories.pop())

    samples = await scrape(workers.base)
    assert value(samples, "interview_ws_active_sockets") == opened
    assert value(samples, "interview_ws_frames_total", direction="in") == 0

    # One frame each, a hello with a token nobody issued: closed (4401), after counting it.
    for ws in workers.held:
        await ws.send('{"type": "hello", "token": "not-a-token", "last_seq": 0}')
    for ws in workers.held:
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 10)
        assert ws.close_code == 4401
    samples = await settle(workers.base, lambda s: value(s, "interview_ws_active_sockets") == 0)
    assert value(samples, "interview_ws_active_sockets") == 0
    assert value(samples, "interview_ws_frames_total", direction="in") == opened
    await workers.close_all()


async def test_a_worker_that_is_killed_leaves_the_live_gauges_and_keeps_its_counts(
    workers: Workers,
) -> None:
    """SIGKILL skips its own shutdown: the parent takes its open sockets out of the sum."""
    per_worker = await workers.open_until_both_workers_hold_one()
    directory = workers.metrics_dir(next(iter(per_worker)))
    first = next(iter(workers.held))
    await first.send('{"type": "hello", "token": "not-a-token", "last_seq": 0}')
    with pytest.raises(ConnectionClosed):
        await asyncio.wait_for(first.recv(), 10)
    open_now = sum(per_worker.values()) - 1
    survivor_pid = workers.held[first]  # the one that counted the hello survives
    victim = next(pid for pid in per_worker if pid != survivor_pid)
    samples = await settle(
        workers.base, lambda s: value(s, "interview_ws_active_sockets") == open_now
    )
    assert value(samples, "interview_ws_active_sockets") == open_now

    os.kill(victim, signal.SIGKILL)
    survivors = open_now - per_worker[victim]
    samples = await settle(
        workers.base,
        lambda s: value(s, "interview_ws_active_sockets") == survivors,
        timeout=30,
    )
    assert value(samples, "interview_ws_active_sockets") == survivors
    assert value(samples, "interview_ws_frames_total", direction="in") == 1
    assert not _files(directory, f"gauge_livesum_{victim}.db")
    assert _files(directory, f"counter_{victim}.db")
    await workers.close_all()
    workers.stop()
    assert not _files(directory)  # the parent's temporary directory goes with it
