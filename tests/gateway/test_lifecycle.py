"""Time limits, abandonment, heartbeats, slow readers, finished interviews, graceful drain."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from websockets.exceptions import ConnectionClosed

from server.config import Settings
from server.interview.sessions import STATE_WAIT_S, SessionManager
from server.interview.state import LiveState
from server.store.models import Interview
from tests.wsclient import (
    STRONG_ANSWER,
    InterviewClient,
    LiveServer,
    answer_everything,
    new_session,
)


class _Recording(set[Any]):
    """A set that remembers everything ever added to it."""

    def __init__(self) -> None:
        super().__init__()
        self.added: list[Any] = []

    def add(self, item: Any) -> None:
        self.added.append(item)
        super().add(item)


@pytest.fixture
async def live(settings: Settings) -> AsyncIterator[LiveServer]:
    tuned = settings.model_copy(update={"offline_pace_ms": 5})
    async with LiveServer(tuned).running() as server:
        yield server


async def _set_time_limit(live: LiveServer, interview_id: str, seconds: int) -> None:
    async with live.app.state.services.sessionmaker() as db:
        await db.execute(
            update(Interview)
            .where(Interview.id == uuid.UUID(interview_id))
            .values(answer_time_limit_s=seconds)
        )
        await db.commit()
    # Forget what was prepared at creation, so the first hello reads the changed row.
    await live.app.state.services.live.events.expire(interview_id, 0)


async def test_an_unanswered_question_times_out_and_the_interview_moves_on(
    live: LiveServer,
) -> None:
    session = await new_session(live.http, question_count=2)
    await _set_time_limit(live, session.interview_id, 1)
    client = InterviewClient(live.ws_url(session.interview_id), session.token)
    await client.connect()
    end = await client.until("turn.end")
    assert end["answer_deadline_ms"] - time.time() * 1000 <= 1100
    timeout = await client.until("answer.timeout", timeout=5)
    assert timeout["turn"] == 0
    nxt = await client.until("turn.start")
    assert (nxt["turn"], nxt["kind"], nxt["question_number"]) == (1, "question", 2)
    await client.close()
    detail = await session.detail()
    assert detail["turns"][0]["outcome"] == "timed_out"
    assert detail["turns"][0]["answer"] is None
    assert detail["turns"][0]["question"] == end["text"]


async def test_skip_records_the_question_and_moves_on(live: LiveServer) -> None:
    session = await new_session(live.http, question_count=2)
    client = InterviewClient(live.ws_url(session.interview_id), session.token)
    await client.connect()
    await client.until("turn.end")
    await client.send({"type": "skip", "turn": 0})
    assert (await client.until("answer.skipped"))["turn"] == 0
    assert (await client.until("turn.start"))["question_number"] == 2
    await client.send({"type": "end"})
    ended = await client.until("ended")
    assert ended["status"] == "finished"
    detail = await session.detail()
    assert [t["outcome"] for t in detail["turns"]] == ["skipped", "skipped"]
    assert detail["report"] is None  # nothing was answered, so nothing to report on


async def test_an_interview_nobody_is_connected_to_is_finalised_as_abandoned(
    settings: Settings,
) -> None:
    tuned = settings.model_copy(update={"offline_pace_ms": 1, "abandon_after_s": 1})
    async with LiveServer(tuned).running() as live:
        session = await new_session(live.http, question_count=3)
        client = InterviewClient(live.ws_url(session.interview_id), session.token)
        await client.connect()
        first = await client.until("turn.end")
        await client.send({"type": "answer", "text": "I would use a queue. " * 10})
        await client.until("score")
        await client.close()
        deadline = time.monotonic() + 15
        while (detail := await session.detail())["status"] != "abandoned":
            assert time.monotonic() < deadline, detail["status"]
            await asyncio.sleep(0.3)
    assert detail["finished_at"]
    assert detail["turns"][0]["question"] == first["text"]  # everything it had is kept
    assert detail["turns"][0]["outcome"] == "answered"
    assert detail["report"] is not None  # built from the answered question


async def test_a_finished_interview_replays_its_end_and_closes_with_4409(live: LiveServer) -> None:
    session = await new_session(live.http, question_count=1)
    client = InterviewClient(live.ws_url(session.interview_id), session.token)
    await client.connect()
    await answer_everything(client)
    await client.close()

    again = InterviewClient(live.ws_url(session.interview_id), session.token)
    again.last_seq, again.epoch = client.last_seq - 2, client.epoch
    await again.connect()
    code, reason = await again.closed_with()
    assert code == 4409 and "ended" in reason
    assert [f["type"] for f in again.frames[1:]] == [f["type"] for f in client.frames[-2:]]


async def test_a_client_that_stops_answering_pings_is_dropped(settings: Settings) -> None:
    """Dead sockets are noticed and cleaned within ping interval + timeout."""
    tuned = settings.model_copy(
        update={"offline_pace_ms": 5, "ws_ping_interval_s": 0.2, "ws_ping_timeout_s": 0.3}
    )
    async with LiveServer(tuned).running() as live:
        session = await new_session(live.http, question_count=1)
        client = InterviewClient(live.ws_url(session.interview_id), session.token)
        await client.connect()
        await client.until("turn.delta")
        gateway = live.app.state.services.gateway
        assert len(gateway.connections) == 1
        assert client.ws is not None
        client.ws.transport.pause_reading()  # like a phone that lost its network
        started = time.monotonic()
        while gateway.connections:
            assert time.monotonic() - started < 3, "dead socket was not cleaned up"
            await asyncio.sleep(0.05)
        # The interview itself carries on: generation belongs to the interview.
        assert live.app.state.services.sessions.running_count()


async def test_a_client_that_does_not_read_is_cut_off_and_can_resume(settings: Settings) -> None:
    """Its queue is capped: memory stays bounded, the socket closes with 4503."""
    tuned = settings.model_copy(
        update={
            "interviewer": "stub",
            "stub_tokens": 120_000,
            "stub_interval_ms": 0,
            "stream_flush_ms": 0,
            "ws_send_queue_max": 16,
            "event_log_cap": 200_000,
        }
    )
    async with LiveServer(tuned).running() as live:
        session = await new_session(live.http, question_count=1)
        slow = await live.slow_reader(session.interview_id, session.token)
        slow.transport.pause_reading()
        gateway = live.app.state.services.gateway
        seen = _Recording()
        gateway.connections = seen  # observes registrations; the cut-off can be very quick
        started = time.monotonic()
        while not seen.added:
            assert time.monotonic() - started < 10, "the slow client never got connected"
            await asyncio.sleep(0.01)
        (connection,) = seen.added
        while connection in gateway.connections:
            assert time.monotonic() - started < 30, "slow reader was never cut off"
            assert connection._queue.qsize() <= 16 + 2  # bounded, whatever the client does
            await asyncio.sleep(0.02)
        assert connection.close_code == 4503
        slow.transport.abort()

        # Once the turn is over, a fresh socket resumes and gets everything, in order.
        while await _phase(live, session.interview_id) != "listening":
            assert time.monotonic() - started < 60
            await asyncio.sleep(0.1)
        fresh = InterviewClient(live.ws_url(session.interview_id), session.token, max_size=2**23)
        await fresh.connect()
        end = await fresh.until("turn.end", timeout=60)
        assert fresh.turn_texts()[0] == end["text"]
        assert len(end["text"].split()) == 120_000


async def test_a_client_that_stops_reading_hears_4503_not_a_keepalive_timeout(
    settings: Settings,
) -> None:
    """Its keepalive lapses while events wait for it: it is told why (4503), not 1011."""
    tuned = settings.model_copy(
        update={
            "interviewer": "stub",
            "stub_tokens": 50_000,
            "stub_interval_ms": 2,
            "stream_flush_ms": 0,
            "ws_send_queue_max": 1_000_000,  # only the keepalive can notice
            "ws_send_buffer_bytes": 4096,
            "ws_ping_interval_s": 0.5,
            "ws_ping_timeout_s": 0.5,
            "event_log_cap": 200_000,
        }
    )
    async with LiveServer(tuned).running() as live:
        session = await new_session(live.http, question_count=1)
        slow = await live.slow_reader(session.interview_id, session.token)
        await slow.recv()  # ready
        slow.transport.pause_reading()
        gateway = live.app.state.services.gateway
        started = time.monotonic()
        while gateway.connections:
            assert time.monotonic() - started < 20, "a client that stopped reading was kept"
            await asyncio.sleep(0.05)
        slow.transport.resume_reading()  # it reads again: what was owed, then the reason
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await asyncio.wait_for(slow.recv(), 10)
        assert closed.value.rcvd is not None
        assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (
            4503,
            "too slow reading events; reconnect to resume",
        )


async def test_shutdown_tells_clients_to_go_away_and_loses_no_event(settings: Settings) -> None:
    """Stopping a server mid-turn: 1001 to clients, leases released, the log complete."""
    tuned = settings.model_copy(update={"offline_pace_ms": 15})
    first = await LiveServer(tuned).start()
    session = await new_session(first.http, question_count=1)
    client = InterviewClient(first.ws_url(session.interview_id), session.token)
    await client.connect()
    await client.until("turn.delta")
    live_store = first.app.state.services.live
    started = time.monotonic()
    stopping = asyncio.create_task(first.stop())  # what SIGTERM does
    code, reason = await client.closed_with()
    await stopping
    assert code == 1001 and "reconnect" in reason
    assert time.monotonic() - started < tuned.shutdown_grace_s

    async with LiveServer(tuned).running() as second:
        client.url = second.ws_url(session.interview_id)
        ready = await client.connect()
        if second.app.state.services.live.name == "redis":
            # Shared live state: the new process resumes exactly where the old one stopped.
            assert ready["resumed"] is True
        else:
            # The in-process store went away with the process: the client is told to reload.
            assert ready["resumed"] is False
            assert (await client.recv())["type"] == "resync"
            client.last_seq = ready["head_seq"]
        ended = await answer_everything(client)
        assert ended["status"] == "finished"
        session.http = second.http
        detail = await session.detail()
    assert detail["status"] == "finished" and len(detail["turns"]) >= 1
    if live_store.name == "redis":
        assert await live_store.leases.holder(session.interview_id) is None  # handed back


async def test_a_client_behind_the_trimmed_log_is_told_to_resync(settings: Settings) -> None:
    tuned = settings.model_copy(
        update={
            "interviewer": "stub",
            "stub_tokens": 1000,
            "stub_interval_ms": 1,
            "stream_flush_ms": 0,
            "event_log_cap": 100,
        }
    )
    async with LiveServer(tuned).running() as live:
        session = await new_session(live.http, question_count=1)
        client = InterviewClient(live.ws_url(session.interview_id), session.token)
        await client.connect()
        await client.until("turn.end")
        await client.close()
        late = InterviewClient(live.ws_url(session.interview_id), session.token)
        late.epoch = client.epoch
        ready = await late.connect(last_seq=1)
        assert ready["resumed"] is False
        resync = await late.recv()
        assert resync["type"] == "resync" and resync["reason"] == "history_trimmed"
        assert resync["head_seq"] == client.last_seq


async def test_ending_with_a_question_open_records_and_announces_it_as_skipped(
    live: LiveServer,
) -> None:
    session = await new_session(live.http, question_count=2)
    client = InterviewClient(live.ws_url(session.interview_id), session.token)
    await client.connect()
    end = await client.until("turn.end")
    await client.send({"type": "end"})
    skipped = await client.until("answer.skipped")
    ended = await client.until("ended")
    assert skipped["turn"] == end["turn"] and ended["status"] == "finished"
    detail = await session.detail()
    assert [(t["question"], t["outcome"]) for t in detail["turns"]] == [(end["text"], "skipped")]


async def test_deleting_a_live_interview_stops_it(live: LiveServer) -> None:
    session = await new_session(live.http, question_count=2)
    client = InterviewClient(live.ws_url(session.interview_id), session.token)
    await client.connect()
    await client.until("turn.end")
    async with httpx.AsyncClient(base_url=live.http) as http:
        deleted = await http.delete(
            f"/api/interviews/{session.interview_id}", headers=session.headers
        )
    assert deleted.status_code == 204
    ended = await client.until("ended")
    assert ended["status"] == "abandoned" and "deleted" in ended["reason"]
    await client.send({"type": "answer", "text": "too late"})
    error = await client.recv()
    assert error["code"] == "interview_finished"
    sessions = live.app.state.services.sessions
    async with asyncio.timeout(5):  # the runner lets go once its last events are stored
        while sessions.running_count():
            await asyncio.sleep(0.01)


async def _phase(live: LiveServer, interview_id: str) -> str | None:
    snapshot = await live.app.state.services.live.events.snapshot(interview_id)
    return None if snapshot is None else LiveState.decode(snapshot.state).phase.value


async def test_a_runner_stopped_mid_question_leaves_no_task_of_its_own_behind(
    settings: Settings,
) -> None:
    """A runner that loses its lease while the question is spoken (another process took
    the interview over) stops with every task it started: none is left waiting forever,
    to be destroyed still pending when it is collected."""
    tuned = settings.model_copy(
        update={"interviewer": "stub", "stub_tokens": 500, "stub_interval_ms": 20}
    )
    async with LiveServer(tuned).running() as live:
        session = await new_session(live.http, question_count=1)
        client = InterviewClient(live.ws_url(session.interview_id), session.token)
        await client.connect()
        await client.until("turn.delta")
        await client.close()  # no candidate here: nothing adopts it again
        sessions = live.app.state.services.sessions
        assert _waiting_on_wake() != []  # the runner waits for a command beside its words
        await _stop_as_on_a_lost_lease(sessions, session.interview_id)
        assert _waiting_on_wake() == []


async def _stop_as_on_a_lost_lease(sessions: SessionManager, interview_id: str) -> None:
    """Stop the interview's runner here as a lease found lost does, and wait until it has."""
    sessions._lost(interview_id)
    async with asyncio.timeout(5):
        while sessions.runs(interview_id):
            await asyncio.sleep(0.01)


def _waiting_on_wake() -> list[asyncio.Task[object]]:
    return [task for task in asyncio.all_tasks() if "Event.wait" in repr(task.get_coro())]


async def test_an_interview_the_database_has_ended_is_ended_on_its_sockets_too(
    live: LiveServer,
) -> None:
    """A runner saved the end of the interview, then lost its lease before it logged
    ``ended``. The next runner finds it ended in the database and says so on the live
    log, rather than stopping in silence: the sockets would otherwise wait for ever, each
    hello starting a runner that stops again."""
    session = await new_session(live.http, question_count=2)
    client = InterviewClient(live.ws_url(session.interview_id), session.token)
    await client.connect()
    await client.until("turn.end")
    await client.close()
    sessions = live.app.state.services.sessions
    async with live.app.state.services.sessionmaker() as db:
        await db.execute(
            update(Interview)
            .where(Interview.id == uuid.UUID(session.interview_id))
            .values(status="finished")
        )
        await db.commit()
    await _stop_as_on_a_lost_lease(sessions, session.interview_id)  # before it said so

    ready = await client.connect()
    assert ready["resumed"] is True
    ended = await client.until("ended")  # logged after what the socket had seen
    assert (ended["status"], ended["phase"]) == ("finished", "ended")
    await client.close()
    later = InterviewClient(live.ws_url(session.interview_id), session.token)
    assert (await later.connect())["phase"] == "ended"
    assert await later.closed_with() == (4409, "the interview has ended")


async def test_a_refused_append_of_a_replaced_runner_does_not_stop_the_runner_after_it(
    live: LiveServer,
) -> None:
    """A runner stopped with an append still queued (its clean-up hung while Redis was
    away) is replaced at once; when that append is refused, only the runner that wrote it
    is concerned: the one that replaced it goes on driving the interview."""
    session = await new_session(live.http, question_count=2)
    client = InterviewClient(live.ws_url(session.interview_id), session.token)
    await client.connect()
    first = await client.until("turn.end")
    await client.close()
    services = live.app.state.services
    sessions = services.sessions
    await _stop_as_on_a_lost_lease(sessions, session.interview_id)

    assert await sessions.ensure_running(session.interview_id)
    replacement = sessions._running[session.interview_id].task
    # The stopped runner's last append, still on its way (queued before the new runner's
    # first): seq 1 is long past, so it is refused, once the new runner is in place.
    services.live.events.append(session.interview_id, 1, '{"seq":1}', None)
    await services.live.events.flush()
    await asyncio.sleep(0.3)  # the refusal's report is delivered
    assert not replacement.done()

    await client.connect()
    await client.send({"type": "answer", "text": STRONG_ANSWER, "turn": first["turn"]})
    nxt = await client.until("turn.start")  # the answer was taken: the interview moved on
    assert nxt["turn"] == first["turn"] + 1
    await client.close()
    assert not replacement.done()


async def test_a_hello_rebuilds_at_once_an_interview_whose_runner_stopped_on_losing_its_state(
    live: LiveServer,
) -> None:
    """The live store lost the interview and its runner here found out (a refused append)
    and stopped, after a candidate's socket was authorised from that runner and before its
    live view was read: the view rebuilds the interview from the database, at once."""
    session = await new_session(live.http, question_count=2)
    client = InterviewClient(live.ws_url(session.interview_id), session.token)
    await client.connect()
    end = await client.until("turn.end")
    await client.close()
    services = live.app.state.services
    sessions = services.sessions
    await services.live.events.expire(session.interview_id, 0)
    sessions._lost(session.interview_id)  # what a refused append makes the runner do
    async with asyncio.timeout(5):  # stopped, and its lease released
        while sessions.runner(session.interview_id) is not None:
            await asyncio.sleep(0.01)

    view = await asyncio.wait_for(
        sessions.view(session.interview_id, fresh=False), STATE_WAIT_S - 2
    )
    assert view is not None
    assert (view.state.turn, view.state.question_number) == (end["turn"], 1)


async def test_words_are_coalesced_into_at_most_one_delta_per_flush_interval(
    settings: Settings,
) -> None:
    """The first words go out at once (time to first token); later ones at most once per
    ``INTERVIEW_STREAM_FLUSH_MS``, however fast the model streams; nothing is lost."""
    flush_s = 0.1
    tuned = settings.model_copy(
        update={
            "interviewer": "stub",
            "stub_tokens": 60,
            "stub_interval_ms": 5,
            "stream_flush_ms": int(flush_s * 1000),
        }
    )
    async with LiveServer(tuned).running() as live:
        session = await new_session(live.http, question_count=1)
        client = InterviewClient(live.ws_url(session.interview_id), session.token)
        await client.connect()
        first = await client.until("turn.delta")
        started = time.monotonic()
        end = await client.until("turn.end")
        elapsed = time.monotonic() - started
        deltas = [f for f in client.of_type("turn.delta") if f["turn"] == end["turn"]]
        assert len(first["text"].split()) == 1  # the first word alone, not held back
        assert "".join(d["text"] for d in deltas) == end["text"]
        assert len(end["text"].split()) == 60
        # 60 words in ~0.3 s: about four deltas, never one per word.
        assert 2 <= len(deltas) <= 2 + elapsed / flush_s, (len(deltas), elapsed)
        await client.close()


async def test_a_connected_candidate_is_present_to_a_runner_in_the_same_process(
    settings: Settings,
) -> None:
    """The runner knows its candidate's socket is in its own process: it neither ends the
    interview as abandoned nor needs a presence key in the live store for it (which every
    process would otherwise rewrite, and every runner read, for every interview)."""
    tuned = settings.model_copy(update={"abandon_after_s": 1})
    async with LiveServer(tuned).running() as live:
        session = await new_session(live.http, question_count=1)
        client = InterviewClient(live.ws_url(session.interview_id), session.token)
        await client.connect()
        await client.until("turn.end")
        await asyncio.sleep(4)  # four times the abandonment limit, without answering
        services = live.app.state.services
        assert services.sessions.running_count() == 1
        assert not await services.live.leases.has_presence(session.interview_id)
        assert await _phase(live, session.interview_id) == "listening"
        await client.close()
