"""Starting and joining an interview: authorised from the token, cheap when it is running."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import event
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from server.config import Settings
from tests.wsclient import InterviewClient, LiveServer, new_session


@contextmanager
def _statements(live: LiveServer) -> Iterator[list[str]]:
    """The SQL the server runs while the block runs."""
    seen: list[str] = []
    engine = live.app.state.services.engine.sync_engine

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


async def test_joining_a_running_interview_costs_no_database_query(settings: Settings) -> None:
    async with LiveServer(settings).running() as live:
        session = await new_session(live.http, question_count=2)
        first = InterviewClient(live.ws_url(session.interview_id), session.token)
        await first.connect()
        await first.until("turn.end")
        second = InterviewClient(live.ws_url(session.interview_id), session.token)
        with _statements(live) as statements:
            ready = await second.connect()
        assert ready["phase"] == "listening"
        assert statements == []  # token version cached, ownership from the live state
        await first.close()
        await second.close()


async def test_revoking_every_token_refuses_the_next_hello_at_once(settings: Settings) -> None:
    async with LiveServer(settings).running() as live:
        session = await new_session(live.http, question_count=1)
        client = InterviewClient(live.ws_url(session.interview_id), session.token)
        await client.connect()  # the token version is now cached
        await client.close()
        async with httpx.AsyncClient(base_url=live.http) as http:
            response = await http.post("/api/auth/logout-all", headers=session.headers)
        assert response.status_code == 204
        async with connect(live.ws_url(session.interview_id)) as ws:
            await ws.send(orjson.dumps({"type": "hello", "token": session.token}).decode())
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 10)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 4401 and "no longer valid" in closed.value.rcvd.reason
        # Checked while the socket joined the fan-out: the refusal leaves neither behind.
        gateway = live.app.state.services.gateway
        assert gateway.connections == set()
        assert not gateway.fanout.has_candidate(session.interview_id)


async def _refused(url: str, token: str) -> tuple[int, str]:
    """Say hello with ``token``; the close code and reason the server answers with."""
    async with connect(url) as ws:
        await ws.send(orjson.dumps({"type": "hello", "token": token}).decode())
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 10)
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code, closed.value.rcvd.reason


async def test_a_refused_hello_leaves_a_new_interview_unclaimed(settings: Settings) -> None:
    """The hello takes a new interview's lease while its token and ownership are still
    being checked: refused, it hands the lease back and starts nothing, and the owner's
    own hello starts the interview at once."""
    async with LiveServer(settings).running() as live:
        services = live.app.state.services
        owner = await new_session(live.http, question_count=1)
        stranger = await new_session(live.http, question_count=1)
        revoked = await new_session(live.http, question_count=1)
        async with httpx.AsyncClient(base_url=live.http) as http:
            response = await http.post("/api/auth/logout-all", headers=revoked.headers)
        assert response.status_code == 204
        cases = [
            (owner.interview_id, stranger.token, 4404),  # someone else's interview
            (revoked.interview_id, revoked.token, 4401),  # its own, with a revoked token
        ]
        for interview_id, token, code in cases:
            assert (await _refused(live.ws_url(interview_id), token))[0] == code
            assert await services.live.leases.holder(interview_id) is None
            assert not services.sessions.runs(interview_id)
            snapshot = await services.live.events.snapshot(interview_id)
            assert snapshot is not None and snapshot.seq == 0  # still prepared, unstarted
        client = InterviewClient(live.ws_url(owner.interview_id), owner.token)
        ready = await client.connect()
        assert ready["phase"] in ("waiting", "asking")
        assert (await client.until("turn.end", timeout=10))["type"] == "turn.end"
        await client.close()


async def test_a_claim_its_checks_outlast_starts_nothing_from_what_it_read(
    settings: Settings,
) -> None:
    """The hello reads a new interview and takes its lease while the token is checked. If
    the checks take longer than a renewal interval, the lease may have run out (or been
    lost with Redis) and another process may have started the interview meanwhile: what
    the claim read is read again, and nothing is started from the old read."""
    settings = settings.model_copy(update={"lease_ttl_ms": 500})
    async with LiveServer(settings).running() as live:
        services = live.app.state.services
        store = services.live
        session = await new_session(live.http, question_count=1)
        interview_id = session.interview_id
        me = await session.request("GET", "/api/me")

        async def slow_checks() -> None:
            await asyncio.sleep(0.7)  # the hello's lease (0.5 s) runs out
            elsewhere = await store.leases.claim_start(interview_id, "elsewhere", 5000)
            assert elsewhere is not None and elsewhere.leased
            store.events.append(interview_id, 1, '{"seq":1}', elsewhere.snapshot.state)
            await store.events.flush()

        attached = await services.sessions.attach(
            interview_id, uuid.UUID(me["id"]), checks=slow_checks()
        )
        assert attached.live and not attached.fresh
        assert not services.sessions.runs(interview_id)  # driven elsewhere: one driver
        assert await store.leases.holder(interview_id) == "elsewhere"
        view = await services.sessions.view(interview_id, fresh=attached.fresh)
        assert view is not None and view.seq == 1  # what is live now, not what was read
        await store.leases.release(interview_id, "elsewhere")


async def test_a_runner_that_finds_the_state_it_meant_to_create_takes_its_commands(
    settings: Settings,
) -> None:
    """Told the live state was absent, a runner creates it; if someone created it in the
    meantime, the runner takes that one over, commands waiting in its inbox included."""
    from server.interview import records
    from server.interview.commands import Envelope
    from server.protocol import End

    async with LiveServer(settings).running() as live:
        services = live.app.state.services
        session = await new_session(live.http, question_count=2)
        interview_id = session.interview_id
        snapshot = await services.live.events.snapshot(interview_id, with_facts=True)
        assert snapshot is not None and snapshot.facts  # prepared: the state exists
        await services.live.inbox.push(interview_id, Envelope(command=End(type="end")).encode())
        await asyncio.sleep(0.2)  # its poke has come and gone: nobody drove it then
        facts = records.InterviewFacts.decode(snapshot.facts)
        assert await services.sessions.ensure_running(interview_id, facts=facts, state_absent=True)
        async with asyncio.timeout(10):
            while (await session.detail())["status"] == "created" or services.sessions.runs(
                interview_id
            ):
                await asyncio.sleep(0.05)
        assert (await session.detail())["status"] == "finished"  # ended as asked


async def test_a_new_interview_is_ready_before_its_runner_first_runs(
    settings: Settings,
) -> None:
    """Built from the facts and live data its hello just read, a runner can serve the
    socket at once: the start does not wait a turn of the event loop for the runner."""
    from server.interview import records
    from server.interview.engine import InterviewRunner

    async with LiveServer(settings).running() as live:
        session = await new_session(live.http, question_count=1)
        services = live.app.state.services
        snapshot = await services.live.events.snapshot(session.interview_id, with_facts=True)
        assert snapshot is not None and snapshot.seq == 0 and snapshot.facts
        facts = records.InterviewFacts.decode(snapshot.facts)

        async def reply(connection_id: str, payload: str) -> None:
            raise AssertionError("nothing to reply to")

        runner = InterviewRunner(
            services.sessions.deps,
            session.interview_id,
            reply=reply,
            started=lambda interview_id, plan: None,
            present_here=lambda: True,
            facts=facts,
            snapshot=snapshot,
        )
        assert runner.ready.is_set()
        me = await session.request("GET", "/api/me")
        assert runner.state is not None and runner.state.owner_id == me["id"]
        assert (runner.seq, runner.loaded_seq, runner.text) == (0, 0, "")
        assert runner.brief.interview_id == session.interview_id


async def test_starting_a_new_interview_reads_nothing_from_the_database(
    settings: Settings,
) -> None:
    """Its live state and facts were prepared when it was created: the hello needs no row."""
    async with LiveServer(settings).running() as live:
        session = await new_session(live.http, question_count=1)
        client = InterviewClient(live.ws_url(session.interview_id), session.token)
        with _statements(live) as statements:
            ready = await client.connect()
            await client.until("turn.end")
        assert ready["phase"] in ("waiting", "asking")
        assert [s for s in statements if s.lstrip().upper().startswith("SELECT")] == []
        await client.close()
        async with asyncio.timeout(5):  # marked live in a batch, a moment later
            while (await session.detail())["status"] != "live":
                await asyncio.sleep(0.05)


async def test_a_burst_of_starts_keeps_statuses_and_plans_in_batched_writes(
    settings: Settings,
) -> None:
    """Each start marks its interview live and keeps its plan, but not with a statement of
    its own: the whole burst costs a batch or two of two UPDATEs."""
    from sqlalchemy import select

    from server.store.models import Interview

    starts = 6
    async with LiveServer(settings).running() as live:
        sessions = [await new_session(live.http, question_count=2) for _ in range(starts)]
        clients = [InterviewClient(live.ws_url(s.interview_id), s.token) for s in sessions]
        with _statements(live) as statements:
            await asyncio.gather(*(c.connect() for c in clients))
            await asyncio.gather(*(c.until("turn.end") for c in clients))
            async with asyncio.timeout(5):
                while {(await s.detail())["status"] for s in sessions} != {"live"}:
                    await asyncio.sleep(0.05)
        updates = [s for s in statements if s.lstrip().upper().startswith("UPDATE")]
        assert 2 <= len(updates) <= 4, updates
        maker = live.app.state.services.sessionmaker
        async with maker() as db:
            plans = (
                await db.scalars(
                    select(Interview.rubrics).where(
                        Interview.id.in_([uuid.UUID(s.interview_id) for s in sessions])
                    )
                )
            ).all()
        assert len(plans) == starts and all(plan and len(plan) == 2 for plan in plans)
        for client in clients:
            await client.close()


def test_upkeep_shares_split_the_interviews_evenly_and_each_into_one() -> None:
    from server.interview.sessions import MAINTAIN_SHARES, maintenance_share

    ids = [str(uuid.uuid4()) for _ in range(4_000)]
    shares = [maintenance_share(ids, part) for part in range(MAINTAIN_SHARES)]
    assert sorted(iid for share in shares for iid in share) == sorted(ids)
    assert all(maintenance_share(share, part) == share for part, share in enumerate(shares))
    expected = len(ids) / MAINTAIN_SHARES
    assert all(abs(len(share) - expected) < expected * 0.15 for share in shares)


async def test_leases_renewed_a_share_at_a_time_never_lapse(settings: Settings) -> None:
    """Upkeep renews a quarter of the leases four times as often: over several lease
    lifetimes every interview stays with its process and none is lost."""
    from server.interview.sessions import MAINTAIN_SHARES

    tuned = settings.model_copy(update={"lease_ttl_ms": 600})
    async with LiveServer(tuned).running() as live:
        services = live.app.state.services
        clients = []
        for _ in range(3 * MAINTAIN_SHARES):
            session = await new_session(live.http, question_count=2)
            client = InterviewClient(live.ws_url(session.interview_id), session.token)
            await client.connect()
            clients.append((session, client))
        for _, client in clients:
            await client.until("turn.end")
        holder = services.sessions.holder
        loop = asyncio.get_running_loop()
        until = loop.time() + 4 * 0.6
        while loop.time() < until:
            holders = await asyncio.gather(
                *(services.live.leases.holder(s.interview_id) for s, _ in clients)
            )
            assert holders == [holder] * len(clients)
            await asyncio.sleep(0.05)
        assert services.sessions.running_count() == len(clients)
        await asyncio.gather(*(client.close() for _, client in clients))
