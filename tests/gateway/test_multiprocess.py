"""Several gateway processes sharing PostgreSQL and Redis: resume anywhere, survive a crash."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from tests.adminclient import AdminClient
from tests.conftest import REDIS_URL, TEST_SECRET
from tests.speech import (
    SENTENCE,
    chunks,
    new_upload_id,
    pcm_of,
    record,
    send_chunks,
    speak,
    start_recording,
)
from tests.wsclient import STRONG_ANSWER, InterviewClient, answer_everything, new_session

pytestmark = pytest.mark.needs_redis
INTERVIEW = str(Path(sys.executable).parent / "interview")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Gateway:
    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.port = _free_port()
        self.http = f"http://127.0.0.1:{self.port}"
        # The process's log: pytest shows it (teardown stderr) when a test fails.
        self.log_path = cwd / f"gateway-{self.port}.log"
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [INTERVIEW, "serve", "--port", str(self.port), "--no-migrate"],
                env=env,
                cwd=cwd,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def ws_url(self, interview_id: str) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/interviews/{interview_id}"

    async def ready(self) -> None:
        deadline = time.monotonic() + 30
        async with httpx.AsyncClient() as http:
            while time.monotonic() < deadline:
                try:
                    if (await http.get(f"{self.http}/readyz", timeout=1)).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        raise TimeoutError("gateway did not start")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        tail = self.log_path.read_text(errors="replace")[-20_000:]
        sys.stderr.write(f"--- gateway on port {self.port} ---\n{tail}\n")


@pytest.fixture
def env(database_url: str, redis_prefix: str, tmp_path: Path) -> Iterator[dict[str, str]]:
    values = {k: v for k, v in os.environ.items() if not k.startswith("INTERVIEW_")}
    values.update(
        INTERVIEW_DATABASE_URL=database_url,
        INTERVIEW_REDIS_URL=REDIS_URL,
        INTERVIEW_REDIS_KEY_PREFIX=f"{redis_prefix}{uuid.uuid4().hex[:8]}:",
        INTERVIEW_JWT_SECRET=TEST_SECRET,
        INTERVIEW_OFFLINE_PACE_MS="15",
        INTERVIEW_LEASE_TTL_MS="1500",
        INTERVIEW_DATA_DIR=str(tmp_path),
        INTERVIEW_CLIENT_DIST=str(tmp_path / "none"),
    )
    values.pop("GEMINI_API_KEY", None)
    yield values


@contextlib.asynccontextmanager
async def _two_gateways(env: dict[str, str], cwd: Path) -> AsyncIterator[tuple[Gateway, Gateway]]:
    pair = (Gateway(env, cwd), Gateway(env, cwd))
    try:
        await asyncio.gather(*(g.ready() for g in pair))
        yield pair
    finally:
        for gateway in pair:
            gateway.stop()


@pytest.fixture
async def cluster_gateways(
    env: dict[str, str], redis_cluster_url: str, tmp_path: Path
) -> AsyncIterator[tuple[Gateway, Gateway]]:
    """Two processes sharing a real (local, 3-master) Redis Cluster instead of one Redis."""
    async with _two_gateways({**env, "INTERVIEW_REDIS_URL": redis_cluster_url}, tmp_path) as pair:
        yield pair


@pytest.fixture
async def gateways(env: dict[str, str], tmp_path: Path) -> AsyncIterator[tuple[Gateway, Gateway]]:
    async with _two_gateways(env, tmp_path) as pair:
        yield pair


async def test_a_client_resumes_on_another_process_without_gap_or_duplicate(
    gateways: tuple[Gateway, Gateway],
) -> None:
    a, b = gateways
    session = await new_session(a.http, question_count=2)
    client = InterviewClient(a.ws_url(session.interview_id), session.token)
    await client.connect()
    await client.until("turn.delta")
    await client.until("turn.delta")
    await client.close()
    await asyncio.sleep(0.3)  # A keeps generating meanwhile

    client.url = b.ws_url(session.interview_id)
    ready = await client.connect()
    assert ready["resumed"] is True
    ended = await answer_everything(client)  # recv() asserts seq = last + 1 throughout
    assert ended["status"] == "finished"
    session.http = b.http
    detail = await session.detail()
    texts = client.turn_texts()
    assert [texts[t["index"]] for t in detail["turns"]] == [t["question"] for t in detail["turns"]]


async def test_killing_the_driving_process_hands_the_interview_to_another(
    gateways: tuple[Gateway, Gateway],
) -> None:
    """SIGKILL mid-turn: the lease expires, B takes over, regenerates the turn, nothing is lost."""
    a, b = gateways
    session = await new_session(a.http, question_count=2)
    client = InterviewClient(a.ws_url(session.interview_id), session.token)
    await client.connect()
    first_end = await client.until("turn.end")
    await client.send({"type": "answer", "text": STRONG_ANSWER, "turn": first_end["turn"]})
    await client.until("score")
    nxt = await client.until("turn.start")
    await client.until("turn.delta")

    a.process.send_signal(signal.SIGKILL)  # A drives this interview: it dies mid-sentence
    a.process.wait(10)
    code, _ = await client.closed_with()
    assert code in (1006, None)

    client.url = b.ws_url(session.interview_id)
    started = time.monotonic()
    ready = await client.connect()
    assert ready["resumed"] is True
    restarted = await client.until("turn.start", timeout=15)
    took_over_after = time.monotonic() - started
    assert restarted["turn"] == nxt["turn"]  # the interrupted turn is regenerated
    assert took_over_after < 1.5 + 2.0  # lease TTL plus one upkeep round
    ended = await answer_everything(client)
    assert ended["status"] == "finished"

    session.http = b.http
    detail = await session.detail()
    assert detail["turns"][0]["question"] == first_end["text"]
    assert detail["turns"][0]["answer"] == STRONG_ANSWER  # the completed turn survived
    texts = client.turn_texts()  # the regenerated turn replaced the cut-off one
    assert [texts[t["index"]] for t in detail["turns"]] == [t["question"] for t in detail["turns"]]


async def test_sigterm_drains_a_process_and_its_client_resumes_elsewhere(
    gateways: tuple[Gateway, Gateway],
) -> None:
    a, b = gateways
    session = await new_session(a.http, question_count=1)
    client = InterviewClient(a.ws_url(session.interview_id), session.token)
    await client.connect()
    await client.until("turn.delta")
    stopped = time.monotonic()
    a.process.send_signal(signal.SIGTERM)
    code, reason = await client.closed_with()
    assert code == 1001 and "reconnect" in reason
    a.process.wait(15)
    assert time.monotonic() - stopped < 10  # bounded shutdown

    client.url = b.ws_url(session.interview_id)
    started = time.monotonic()
    ready = await client.connect()
    assert ready["resumed"] is True
    await client.until("turn.start", "turn.delta", timeout=5)
    assert time.monotonic() - started < 1.5  # the lease was handed back, no TTL wait
    ended = await answer_everything(client)
    assert ended["status"] == "finished"


async def test_losing_the_live_store_loses_nothing_that_reached_the_database(
    gateways: tuple[Gateway, Gateway], env: dict[str, str]
) -> None:
    """Redis forgets an interview mid-way: the client resyncs and the saved turns remain."""
    from redis.asyncio import Redis

    a, _ = gateways
    session = await new_session(a.http, question_count=3)
    client = InterviewClient(a.ws_url(session.interview_id), session.token)
    await client.connect()
    first_end = await client.until("turn.end")
    await client.send({"type": "answer", "text": STRONG_ANSWER, "turn": first_end["turn"]})
    await client.until("score")
    await client.close()
    await asyncio.sleep(0.2)

    # Everything the live store had about this interview disappears (as after a restart).
    redis = Redis.from_url(REDIS_URL)
    try:
        keys = [k async for k in redis.scan_iter(match=env["INTERVIEW_REDIS_KEY_PREFIX"] + "*")]
        await redis.delete(*keys)
    finally:
        await redis.aclose()

    ready = await client.connect()
    assert ready["resumed"] is False
    resync = await client.recv()
    assert resync["type"] == "resync" and resync["reason"] == "epoch_changed"
    client.last_seq = ready["head_seq"]
    ended = await answer_everything(client)
    assert ended["status"] == "finished"
    detail = await session.detail()
    assert detail["turns"][0]["question"] == first_end["text"]
    assert detail["turns"][0]["answer"] == STRONG_ANSWER
    assert detail["report"] is not None


async def test_a_command_refused_by_a_runner_in_another_process_is_answered_to_its_sender(
    gateways: tuple[Gateway, Gateway],
) -> None:
    """The runner judges phase and turn wherever it lives; only the sender hears a refusal."""
    a, b = gateways
    session = await new_session(a.http, question_count=1)
    driver = InterviewClient(a.ws_url(session.interview_id), session.token)
    await driver.connect()  # the interview's runner starts on A
    end = await driver.until("turn.end")
    remote = InterviewClient(b.ws_url(session.interview_id), session.token)
    remote.last_seq, remote.epoch = end["seq"], end["epoch"]
    await remote.connect()
    await remote.send({"type": "answer", "text": "an answer", "turn": end["turn"] + 5})
    refusal = await remote.recv()
    assert (refusal["type"], refusal["code"], refusal["seq"]) == ("error", "wrong_turn", 0)
    await remote.send({"type": "answer", "text": STRONG_ANSWER, "turn": end["turn"]})
    accepted = await remote.until("answer.accepted")
    assert accepted["phase"] == "scoring"
    # The socket on A saw the accepted answer, never the refusal meant for B's socket.
    assert (await driver.until("answer.accepted"))["seq"] == accepted["seq"]
    assert not [e for e in driver.of_type("error") if e["code"] == "wrong_turn"]
    await driver.close()
    await remote.close()


async def test_on_a_redis_cluster_an_interview_moves_between_processes_and_survives_a_crash(
    cluster_gateways: tuple[Gateway, Gateway],
) -> None:
    """Hash-tagged keys keep each interview's scripts on one shard; pub/sub spans the nodes."""
    a, b = cluster_gateways
    session = await new_session(a.http, question_count=2)
    client = InterviewClient(a.ws_url(session.interview_id), session.token)
    await client.connect()
    await client.until("turn.delta")
    await client.close()
    client.url = b.ws_url(session.interview_id)
    assert (await client.connect())["resumed"] is True
    first = await client.until("turn.end")
    await client.send({"type": "answer", "text": STRONG_ANSWER, "turn": first["turn"]})
    await client.until("answer.accepted")
    a.stop()  # the process driving the interview dies (SIGKILL); B takes it over
    ended = await answer_everything(client)  # recv() asserts seq = last + 1 throughout
    assert ended["status"] == "finished"
    session.http = b.http
    detail = await session.detail()
    assert detail["turns"][0]["answer"] == STRONG_ANSWER
    texts = client.turn_texts()
    assert [texts[t["index"]] for t in detail["turns"]] == [t["question"] for t in detail["turns"]]


async def test_signing_out_on_one_process_closes_the_socket_held_by_another(
    gateways: tuple[Gateway, Gateway],
) -> None:
    a, b = gateways
    session = await new_session(a.http, question_count=1)
    client = InterviewClient(b.ws_url(session.interview_id), session.token)
    await client.connect()
    await client.until("turn.delta")
    async with httpx.AsyncClient(base_url=a.http) as http:
        response = await http.post(
            "/api/auth/logout-all", headers={"Authorization": f"Bearer {session.token}"}
        )
    assert response.status_code == 204
    code, reason = await client.closed_with(timeout=5)
    assert (code, reason) == (4401, "your session was signed out; sign in again")


async def test_a_recording_dropped_on_one_process_is_finished_on_another(
    gateways: tuple[Gateway, Gateway], tmp_path: Path
) -> None:
    """Chunks of one upload arrive at two processes; the transcript is the same as for an
    upload that never dropped."""
    a, b = gateways
    speech = pcm_of(speak(SENTENCE, tmp_path, pad_s=0.5))
    frames = chunks(speech)

    whole = await new_session(a.http, question_count=1)
    client = InterviewClient(a.ws_url(whole.interview_id), whole.token)
    await client.connect()
    turn = (await client.until("turn.end"))["turn"]
    expected = await record(client, speech, turn)
    await client.close()

    session = await new_session(a.http, question_count=1)
    client = InterviewClient(a.ws_url(session.interview_id), session.token)
    await client.connect()
    turn = (await client.until("turn.end"))["turn"]
    upload = new_upload_id()
    await start_recording(client, upload, turn)
    await client.until("audio.ack")
    half = len(frames) // 2
    await send_chunks(client, frames[:half])
    await client.close()  # dropped mid-answer

    client.url = b.ws_url(session.interview_id)
    await client.connect()
    await start_recording(client, upload, turn)
    ack = await client.until("audio.ack")
    assert (ack["next_chunk"], ack["complete"]) == (half, False)
    await send_chunks(client, frames[half:])
    await client.send({"type": "audio.end", "upload_id": upload, "chunks": len(frames)})
    final = await client.until("transcript.final", timeout=60)
    assert (final["text"], final["delivery"]) == (expected["text"], expected["delivery"])
    await client.send(
        {
            "type": "answer",
            "text": final["text"] or "spoken",
            "source": "voice",
            "turn": turn,
            "upload_id": upload,
        }
    )
    score = await client.until("score")
    assert score["delivery"] == expected["delivery"]
    await client.close()


async def _admin(gateway: Gateway, env: dict[str, str], cwd: Path) -> str:
    """An administrator's access token (created with the real CLI)."""
    email = f"admin-{uuid.uuid4().hex[:8]}@example.com"
    created = await asyncio.to_thread(
        subprocess.run,
        [INTERVIEW, "create-admin", email, "--password", "admin-password-123"],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    assert created.returncode == 0, created.stderr
    async with httpx.AsyncClient(base_url=gateway.http, timeout=10) as http:
        login = await http.post(
            "/api/auth/login", json={"email": email, "password": "admin-password-123"}
        )
        assert login.status_code == 200, login.text
        token: str = login.json()["access_token"]
        return token


async def test_the_admin_monitor_sees_every_process_and_watching_survives_a_move(
    gateways: tuple[Gateway, Gateway], env: dict[str, str], tmp_path: Path
) -> None:
    """20 live interviews over two processes: one admin socket lists them all, follows an
    ended one out, and a watched interview keeps streaming to its watcher when its
    candidate reconnects to the other process."""
    a, b = gateways
    admin = AdminClient(f"ws://127.0.0.1:{a.port}/ws/admin", await _admin(a, env, tmp_path))
    await admin.connect()
    sessions, clients = [], []
    for i in range(20):
        gateway = (a, b)[i % 2]
        session = await new_session(gateway.http, question_count=2)
        client = InterviewClient(gateway.ws_url(session.interview_id), session.token)
        await client.connect()
        sessions.append(session)
        clients.append(client)
    began = time.monotonic()
    ids = {s.interview_id for s in sessions}
    await admin.watch_until(lambda: ids <= admin.sessions.keys())
    print(f"\nall 20 listed {time.monotonic() - began:.2f} s after the last one started")
    assert {admin.sessions[i]["process"] for i in ids} == {
        admin.sessions[sessions[0].interview_id]["process"],
        admin.sessions[sessions[1].interview_id]["process"],
    }
    assert len({admin.sessions[i]["process"] for i in ids}) == 2

    # The watcher (an administrator, on process A) follows interview 1, driven by B.
    watched, candidate = sessions[1], clients[1]
    watcher = InterviewClient(a.ws_url(watched.interview_id), admin.token)
    await watcher.connect()
    end = await watcher.until("turn.end")
    # Its candidate drops and comes back on the other process; the watcher streams on.
    await candidate.until("turn.end")
    await candidate.close()
    candidate.url = a.ws_url(watched.interview_id)
    await candidate.connect()
    await candidate.send({"type": "answer", "text": STRONG_ANSWER, "turn": end["turn"]})
    accepted = await watcher.until("answer.accepted")
    assert accepted["text"] == STRONG_ANSWER
    nxt = await watcher.until("turn.end")
    assert watcher.turn_texts()[nxt["turn"]] == nxt["text"]

    # An interview that ends leaves the monitor.
    leaving = clients[2]
    await leaving.send({"type": "end"})
    await leaving.until("ended")
    await admin.watch_until(lambda: sessions[2].interview_id not in admin.sessions)

    # Together: a client that never read its frames waits for its close handshake.
    await asyncio.gather(watcher.close(), admin.close(), *(c.close() for c in clients))


async def test_a_candidate_connected_to_another_process_keeps_the_interview_alive(
    env: dict[str, str], tmp_path: Path
) -> None:
    """Presence crosses processes through the live store: the process holding the socket
    writes it when the runner is elsewhere, so the runner does not end the interview as
    abandoned while its candidate is connected, just not to the runner's process."""
    async with _two_gateways({**env, "INTERVIEW_ABANDON_AFTER_S": "1"}, tmp_path) as (a, b):
        session = await new_session(a.http, question_count=2)
        client = InterviewClient(a.ws_url(session.interview_id), session.token)
        await client.connect()  # A starts the runner and keeps it
        await client.until("turn.end")
        await client.close()
        client.url = b.ws_url(session.interview_id)
        ready = await client.connect()
        # Four times the abandonment limit, connected to B only, without answering.
        await asyncio.sleep(4)
        assert (await session.detail())["status"] == "live"
        await client.send({"type": "answer", "text": STRONG_ANSWER, "turn": ready["turn"]})
        ended = await answer_everything(client)
        assert ended["status"] == "finished"
