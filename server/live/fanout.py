"""Local fan-out: events from the one subscription, handed to local sockets and runners."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from server.live.base import EventLog, LiveListener

log = logging.getLogger(__name__)


class EventSink(Protocol):
    """A local consumer of an interview's events (a WebSocket connection)."""

    id: str
    # An administrator watching or steering: not the candidate, so not their presence.
    observer: bool

    def deliver(self, seq: int, payload: str) -> None: ...

    def send_control(self, payload: str) -> None:
        """A frame for this consumer only (not logged): a reply to its command."""

    def repair(self) -> None:
        """Events may have been missed (subscription dropped): re-read the log."""

    def close(self, code: int, reason: str, *, urgent: bool = False) -> None:
        """Hang up after what is queued (at once when ``urgent``)."""


class Fanout:
    """Keeps one channel subscription per interview that anything in this process needs."""

    def __init__(self, events: EventLog) -> None:
        self.events = events
        self._sinks: dict[str, set[EventSink]] = {}
        # Candidate (non-observer) sockets per interview, kept as they join and leave: the
        # upkeep asks for them every round, over every interview here. Leaving goes by this
        # set, not by ``observer`` as it is then, so the two cannot disagree.
        self._candidates: dict[str, set[EventSink]] = {}
        self._watchers: dict[str, Callable[[], None]] = {}
        self._stale_handlers: dict[str, Callable[[int], None]] = {}
        # Told when a user's tokens are revoked (the gateway closes that user's sockets).
        self.on_revoked: Callable[[str, int], None] = lambda user_id, token_version: None
        # Told of every monitor update any process publishes (the admin sockets relay them).
        self.on_monitor: Callable[[str], None] = lambda payload: None
        # Told when a candidate's socket here joins or leaves an interview.
        self.on_candidate: Callable[[str], None] = lambda interview_id: None

    def listener(self) -> LiveListener:
        return LiveListener(
            on_event=self._on_event,
            on_poke=self._on_poke,
            on_reply=self._on_reply,
            on_stale=self._on_stale,
            on_reconnect=self._on_reconnect,
            on_revoked=lambda user_id, token_version: self.on_revoked(user_id, token_version),
            on_monitor=lambda payload: self.on_monitor(payload),
        )

    def _on_event(self, interview_id: str, seq: int, payload: str) -> None:
        for sink in self._sinks.get(interview_id, ()):
            sink.deliver(seq, payload)

    def _on_poke(self, interview_id: str) -> None:
        watcher = self._watchers.get(interview_id)
        if watcher is not None:
            watcher()

    def _on_reply(self, interview_id: str, connection_id: str, payload: str) -> None:
        self.send_to(interview_id, connection_id, payload)

    def send_to(self, interview_id: str, connection_id: str, payload: str) -> bool:
        """Hand a frame to one local connection; whether it is connected here."""
        for sink in self._sinks.get(interview_id, ()):
            if sink.id == connection_id:
                sink.send_control(payload)
                return True
        return False

    def _on_stale(self, interview_id: str, number: int) -> None:
        handler = self._stale_handlers.get(interview_id)
        if handler is not None:
            handler(number)

    def _on_reconnect(self) -> None:
        for sinks in self._sinks.values():
            for sink in sinks:
                sink.repair()
        for watcher in self._watchers.values():
            watcher()

    def close_local(self, interview_id: str, code: int, reason: str) -> None:
        """Hang up every local socket of the interview (they reconnect and start afresh)."""
        for sink in list(self._sinks.get(interview_id, ())):
            sink.close(code, reason)

    def local_interviews(self) -> list[str]:
        """Interviews with at least one candidate socket in this process."""
        return list(self._candidates)

    def has_candidate(self, interview_id: str) -> bool:
        """Whether the interview's candidate has a socket in this process."""
        return interview_id in self._candidates

    def connection_count(self) -> int:
        return sum(len(sinks) for sinks in self._sinks.values())

    def _needed(self, interview_id: str) -> bool:
        return bool(self._sinks.get(interview_id)) or interview_id in self._watchers

    # No lock: the bookkeeping is synchronous, and the event log sends (un)subscribes in
    # the order they were asked for. Subscribing again is free once confirmed, and waits
    # for the confirmation while another caller's subscription is still on its way.
    async def join(self, interview_id: str, sink: EventSink) -> None:
        sinks = self._sinks.setdefault(interview_id, set())
        if not sink.observer and sink not in sinks:
            self._candidates.setdefault(interview_id, set()).add(sink)
            self.on_candidate(interview_id)
        sinks.add(sink)
        await self.events.subscribe([interview_id])

    def observe(self, interview_id: str, sink: EventSink) -> None:
        """A socket that joined as the candidate's turns out to be an administrator's: it
        stays joined, as an observer, and no longer counts as the candidate being here."""
        sink.observer = True
        self._drop_candidate(interview_id, sink)

    def _drop_candidate(self, interview_id: str, sink: EventSink) -> None:
        candidates = self._candidates.get(interview_id)
        if candidates is None or sink not in candidates:
            return
        candidates.remove(sink)
        if not candidates:
            del self._candidates[interview_id]
        self.on_candidate(interview_id)

    async def leave(self, interview_id: str, sink: EventSink) -> None:
        sinks = self._sinks.get(interview_id)
        if sinks is not None and sink in sinks:
            sinks.remove(sink)
            if not sinks:
                del self._sinks[interview_id]
            self._drop_candidate(interview_id, sink)
        if not self._needed(interview_id):
            await self.events.unsubscribe(interview_id)

    async def watch(
        self,
        interview_id: str,
        on_poke: Callable[[], None],
        on_stale: Callable[[int], None],
    ) -> None:
        """Pokes and refused appends of the interview go to these (``on_stale`` gets the
        refused append's number, see ``EventLog.append``)."""
        self._watchers[interview_id] = on_poke
        self._stale_handlers[interview_id] = on_stale
        await self.events.subscribe([interview_id])

    async def unwatch(self, interview_id: str) -> None:
        self._watchers.pop(interview_id, None)
        self._stale_handlers.pop(interview_id, None)
        if not self._needed(interview_id):
            await self.events.unsubscribe(interview_id)
