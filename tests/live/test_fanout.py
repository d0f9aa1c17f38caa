"""The local fan-out's account of which interviews have a candidate connected here."""

from __future__ import annotations

from server.live.fanout import Fanout
from server.live.memory import memory_live_store
from tests.live.conftest import Sink


async def test_an_interview_has_a_candidate_here_while_one_of_their_sockets_is_joined() -> None:
    """Observers (administrators) are not the candidate; a socket joined twice or left twice
    counts once, and every change of the candidate's presence is told (``on_candidate``)."""
    store = memory_live_store()
    fanout = Fanout(store.events)
    told: list[str] = []
    fanout.on_candidate = told.append
    first, second, admin = Sink("c1"), Sink("c2"), Sink("a1", observer=True)

    await fanout.join("iv", admin)
    assert not fanout.has_candidate("iv")
    assert fanout.local_interviews() == []
    await fanout.join("iv", first)
    await fanout.join("iv", first)  # the same socket again
    await fanout.join("iv", second)
    await fanout.join("other", Sink("c3"))
    assert sorted(fanout.local_interviews()) == ["iv", "other"]

    await fanout.leave("iv", first)
    await fanout.leave("iv", first)  # already gone
    assert fanout.has_candidate("iv")  # the second socket is still here
    await fanout.leave("iv", second)
    assert not fanout.has_candidate("iv")
    assert fanout.local_interviews() == ["other"]
    assert fanout.connection_count() == 2  # the observer and the other interview's candidate
    assert told == ["iv", "iv", "other", "iv", "iv"]

    await fanout.leave("iv", admin)
    assert fanout.connection_count() == 1
    await store.close()


async def test_a_socket_found_to_be_an_administrators_stops_counting_as_the_candidate() -> None:
    """The gateway joins a socket before it knows whose it is; an administrator's socket on
    someone else's interview becomes an observer and leaving it later changes nothing."""
    store = memory_live_store()
    fanout = Fanout(store.events)
    told: list[str] = []
    fanout.on_candidate = told.append
    watcher, candidate = Sink("a1"), Sink("c1")

    await fanout.join("iv", watcher)
    await fanout.join("iv", candidate)
    fanout.observe("iv", watcher)
    assert watcher.observer
    fanout.observe("iv", watcher)  # already an observer: nothing changes
    assert fanout.has_candidate("iv")
    await fanout.leave("iv", candidate)
    assert not fanout.has_candidate("iv")
    await fanout.leave("iv", watcher)
    assert fanout.local_interviews() == [] and fanout.connection_count() == 0
    assert told == ["iv", "iv", "iv", "iv"]  # joined, joined, observer, left
    await store.close()


async def test_leaving_goes_by_how_the_socket_joined_not_by_its_flag_now() -> None:
    """A socket that joined as the candidate and whose ``observer`` flag was flipped without
    ``observe`` still stops counting when it leaves (and one that joined as an observer and
    was flipped back never counted): the count cannot stay up for good."""
    store = memory_live_store()
    fanout = Fanout(store.events)
    candidate, admin = Sink("c1"), Sink("a1", observer=True)

    await fanout.join("iv", candidate)
    await fanout.join("iv", admin)
    candidate.observer = True
    admin.observer = False
    await fanout.leave("iv", admin)
    assert fanout.has_candidate("iv")
    await fanout.leave("iv", candidate)
    assert not fanout.has_candidate("iv")
    assert fanout.local_interviews() == []
    await store.close()
