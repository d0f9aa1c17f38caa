"""Hypothesis against the interview socket: hellos and frames of every shape.

Whatever arrives, the answer is a protocol frame (an ``error`` with a documented code, or
the event a valid command causes) or a close with a documented code; nothing is logged as
a failure, and a bystander interview on the same server streams on, gap-free. Bounded for
the suite; ``WS_FUZZ_EXAMPLES=500 .venv/bin/pytest tests/gateway/test_ws_fuzz.py`` runs
longer.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from server.protocol import (
    CLIENT_FRAME_TYPES,
    MAX_FRAME_BYTES,
    CloseCode,
    ErrorCode,
    server_frame_adapter,
)
from tests.conftest import make_settings, unique_email
from tests.server_thread import ServerThread

EXAMPLES = int(os.environ.get("WS_FUZZ_EXAMPLES", "40"))
PASSWORD = "fuzzing-the-socket-1"
CLOSE_CODES = {int(code) for code in CloseCode}
ERROR_CODES = {code.value for code in ErrorCode}
VALID_TOKEN = "<valid token>"  # replaced by a real one when sent


class Failures(logging.Handler):
    """Every record of a failure the server logs while the fuzzer runs."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        # The test's own client logs a send racing the server's close; that is not ours.
        if not record.name.startswith("websockets.client"):
            self.records.append(record)


class Candidate:
    """A signed-in candidate with a live interview (a new one once it has ended)."""

    def __init__(self, base: str) -> None:
        self.base = base
        response = httpx.post(
            f"{base}/api/auth/register",
            json={"email": unique_email(), "password": PASSWORD},
            timeout=10,
        )
        assert response.status_code == 201, response.text
        self.token: str = response.json()["access_token"]
        self.interview_id = self.new_interview()

    def new_interview(self) -> str:
        response = httpx.post(
            f"{self.base}/api/interviews",
            json={"track": "backend", "level": "mid", "question_count": 15},
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=10,
        )
        assert response.status_code == 201, response.text
        self.interview_id = str(response.json()["id"])
        return self.interview_id

    def url(self) -> str:
        return self.base.replace("http", "ws", 1) + f"/ws/interviews/{self.interview_id}"


class Bystander(threading.Thread):
    """Another candidate's interview, answered as it goes, on the same server."""

    def __init__(self, candidate: Candidate) -> None:
        super().__init__(name="bystander", daemon=True)
        self.candidate = candidate
        self.stop = threading.Event()
        self.problems: list[str] = []
        self.events = 0

    def run(self) -> None:
        last_seq = 0
        with connect(self.candidate.url(), open_timeout=10) as ws:
            ws.send(json.dumps({"type": "hello", "token": self.candidate.token}))
            while not self.stop.is_set():
                try:
                    frame = json.loads(ws.recv(timeout=0.2))
                except TimeoutError:
                    continue
                except ConnectionClosed as closed:
                    self.problems.append(f"closed: {closed}")
                    return
                if frame["seq"]:
                    if frame["seq"] != last_seq + 1:
                        self.problems.append(f"seq {frame['seq']} after {last_seq}")
                    last_seq = frame["seq"]
                    self.events += 1
                if frame["type"] == "error":
                    self.problems.append(f"error: {frame}")
                elif frame["type"] == "turn.end":
                    answer = {
                        "type": "answer",
                        "text": "Retries with backoff.",
                        "turn": frame["turn"],
                    }
                    ws.send(json.dumps(answer))
                elif frame["type"] == "ended":
                    return


@pytest.fixture(scope="module")
def server(
    module_database_url: str, redis_prefix: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerThread]:
    app_settings = make_settings(
        module_database_url,
        f"{redis_prefix}wsfuzz{uuid.uuid4().hex[:6]}:",
        tmp_path_factory.mktemp("wsfuzz"),
        free_credits=1_000,
        offline_pace_ms=5,
        ws_hello_timeout_s=2.0,
        # The frame-rate limit is tested elsewhere; here it would only cut coverage short.
        ws_frames_per_second=10_000,
        ws_frame_burst=10_000,
    )
    failures = Failures()
    logging.getLogger().addHandler(failures)
    running = ServerThread(app_settings).start()
    bystander = Bystander(Candidate(running.url))
    bystander.start()
    try:
        yield running
    finally:
        bystander.stop.set()
        bystander.join(10)
        running.stop()
        logging.getLogger().removeHandler(failures)
    assert bystander.problems == [] and bystander.events > 0
    assert [f"{r.name}: {r.getMessage()}" for r in failures.records] == []


@pytest.fixture(scope="module")
def candidate(server: ServerThread) -> Candidate:
    return Candidate(server.url)


# --- what a careless or hostile client sends ---------------------------------------------

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
    st.sampled_from(["0", "1", "", "\x00", "\ud800", "é" * 10, "NaN"]),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
texts = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(max_codepoint=0x9F), max_size=60),  # controls
    st.sampled_from(["\x00", " \t\r\n", "x" * 8001, "é" * 9000, "A fine answer."]),
    values,
)
hellos = st.fixed_dictionaries(
    {"type": st.just("hello")},
    optional={
        "token": st.one_of(st.just(VALID_TOKEN), values),
        "last_seq": st.one_of(st.integers(min_value=-5, max_value=2**64), values),
        "epoch": values,
        "extra": values,
    },
)
objects = st.fixed_dictionaries(
    {"type": st.one_of(st.sampled_from(sorted(CLIENT_FRAME_TYPES - {"end"})), values)},
    optional={"text": texts, "turn": values, "source": values, "t": values, "token": values},
)
frames = st.one_of(
    objects.map(json.dumps),
    st.text(max_size=200),  # not JSON, or JSON that is not an object
    st.binary(max_size=64),
    st.just("x" * (MAX_FRAME_BYTES + 1)),
)


def _encode(frame: dict[str, Any], token: str) -> str:
    if frame.get("token") == VALID_TOKEN:
        frame = {**frame, "token": token}
    return json.dumps(frame)


def _check(frame: str) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(frame)
    server_frame_adapter.validate_python(parsed)  # only protocol frames come back
    if parsed["type"] == "error":
        assert parsed["code"] in ERROR_CODES
    return parsed


def _closed_with_a_documented_code(closed: ConnectionClosed) -> None:
    assert closed.rcvd is not None, f"closed without a close frame: {closed}"
    assert closed.rcvd.code in CLOSE_CODES, closed


FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@FUZZ
@given(hello=hellos)
def test_any_hello_gets_ready_or_a_documented_close(
    server: ServerThread, candidate: Candidate, hello: dict[str, Any]
) -> None:
    with connect(candidate.url(), open_timeout=10) as ws:
        try:
            ws.send(_encode(hello, candidate.token))
            first = _check(ws.recv(timeout=10))
        except ConnectionClosed as closed:
            _closed_with_a_documented_code(closed)
            return
        assert first["type"] == "ready"


def _hello(ws: ClientConnection, candidate: Candidate) -> bool:
    """Say hello; False when the interview has ended (a new one is made for the next)."""
    ws.send(json.dumps({"type": "hello", "token": candidate.token}))
    ready = _check(ws.recv(timeout=10))
    assert ready["type"] == "ready"
    if ready["phase"] == "ended":
        candidate.new_interview()
        return False
    return True


@FUZZ
@given(batch=st.lists(frames, min_size=1, max_size=8))
def test_any_frame_after_hello_gets_a_protocol_answer_or_a_documented_close(
    server: ServerThread, candidate: Candidate, batch: list[str | bytes]
) -> None:
    with connect(candidate.url(), open_timeout=10, max_size=2**22) as ws:
        if not _hello(ws, candidate):
            return
        try:
            for frame in batch:
                ws.send(frame)
            # A ping marks the end: everything before it has been answered when its pong comes.
            ws.send(json.dumps({"type": "ping", "t": 424242}))
            while True:
                answer = _check(ws.recv(timeout=10))
                if answer["type"] == "pong" and answer["t"] == 424242:
                    return
        except ConnectionClosed as closed:
            _closed_with_a_documented_code(closed)
