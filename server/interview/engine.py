"""The interview engine: one runner per live interview, a state machine that never touches a socket.

asking → listening → scoring → (follow-up | next question) → … → reporting → ended.

The runner owns the interview while its process holds the lease. Everything it
decides goes out as events through ``emit``, which updates the live state in the
same atomic step, so another process can take over from exactly where it stopped:
an interrupted turn is regenerated, a pending answer re-scored, a deadline kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import orjson
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.config import Settings
from server.gateway.protocol import ErrorCode, Phase
from server.interview import records
from server.live.base import LiveStore, TextMode
from server.llm.base import Interviewer, TurnRecord, TurnRequest
from server.store.models import Interview, InterviewStatus

log = logging.getLogger(__name__)

ENDED_TTL_S = 3600  # how long an ended interview's event log stays for late reconnects
# A waiting runner is woken by pokes; these bound how long a lost poke (Redis reconnecting)
# or an abandoned interview can go unnoticed, without thousands of idle runners polling.
INBOX_POLL_S = 10.0
MAX_PRESENCE_CHECK_S = 30.0
PROVIDER_ATTEMPTS = 3


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True)
class EngineDeps:
    settings: Settings
    sessionmaker: async_sessionmaker[AsyncSession]
    live: LiveStore
    interviewer: Interviewer
    # Takes over from ``interviewer`` after repeated failures, if the operator enabled it.
    fallback: Interviewer | None = None


class _Ended(Exception):
    """The interview must end now (the candidate asked, or it was abandoned)."""

    def __init__(self, status: InterviewStatus, reason: str) -> None:
        self.status = status
        self.reason = reason


class InterviewRunner:
    def __init__(
        self, deps: EngineDeps, interview_id: str, preloaded: Interview | None = None
    ) -> None:
        self.deps = deps
        self.live = deps.live
        self.interviewer = deps.interviewer
        self.interview_id = interview_id
        self.uuid = uuid.UUID(interview_id)
        self.preloaded = preloaded
        self.wake = asyncio.Event()
        self.state_ready = asyncio.Event()  # the live state exists: sockets can be served
        self.state: dict[str, str] = {}
        self.seq = 0
        self.epoch = ""
        self.text = ""
        self.history: list[TurnRecord] = []
        self.plan: list[str | None] = []
        self.answer_time_limit_ms = 0
        self.last_presence_ms = now_ms()
        self._next_presence_check = 0.0
        self._presence_interval_s = min(MAX_PRESENCE_CHECK_S, deps.settings.abandon_after_s / 4)
        self._end_requested: tuple[InterviewStatus, str] | None = None
        self._deleted = False  # the row is gone: write nothing more, just end the stream

    # --- events ---------------------------------------------------------------------

    def emit(
        self,
        event: dict[str, Any],
        fields: dict[str, str] | None = None,
        text_mode: TextMode = TextMode.keep,
        text: str = "",
    ) -> None:
        self.seq += 1
        event["seq"] = self.seq
        event["epoch"] = self.epoch
        payload = orjson.dumps(event).decode()
        if fields:
            self.state.update(fields)
        self.live.append(self.interview_id, self.seq, payload, fields or {}, text_mode, text)

    def _field(self, name: str, default: str = "") -> str:
        return self.state.get(name, default)

    def _int(self, name: str, default: int = 0) -> int:
        value = self.state.get(name)
        return int(value) if value not in (None, "") else default

    # --- lifecycle --------------------------------------------------------------------

    async def run(self) -> None:
        try:
            await self._run()
        finally:
            self.state_ready.set()  # never leave a waiting socket hanging

    async def _run(self) -> None:
        interview = self.preloaded
        if interview is not None and interview.status is InterviewStatus.created:
            # Nothing has happened yet: the row the gateway just read is all there is.
            self.brief, self.history = records.brief_of(interview), []
        else:
            loaded = await records.load(self.deps.sessionmaker, self.uuid)
            if loaded is None:
                return
            interview, self.brief, self.history = loaded
        if interview.status in records.ENDED:
            return
        self.answer_time_limit_ms = interview.answer_time_limit_s * 1000
        await self._load_state()
        fallback = self.deps.fallback
        if fallback is not None and self._field("provider") == fallback.name:
            self.interviewer = fallback  # switched before this process took the interview over
        self.plan = await self.interviewer.plan(self.brief)
        self.state_ready.set()
        if interview.status is InterviewStatus.created:
            await records.mark_live(self.deps.sessionmaker, self.uuid)
        try:
            while True:
                if self._end_requested:
                    raise _Ended(*self._end_requested)
                phase = Phase(self._field("phase", Phase.waiting))
                if phase in (Phase.waiting, Phase.asking):
                    await self._ask()
                elif phase is Phase.listening:
                    await self._listen()
                elif phase is Phase.scoring:
                    await self._score()
                elif phase is Phase.reporting:
                    raise _Ended(InterviewStatus.finished, "completed")
                else:
                    return
        except _Ended as ended:
            await self._finish(ended.status, ended.reason)

    async def _load_state(self) -> None:
        state, text = await self.live.get_snapshot(self.interview_id)
        if not state:
            # New interview, or the live store lost it: rebuild from what the database has.
            asked = [t for t in self.history if t.kind == "question"]
            next_number = len(asked) + 1
            fields = {
                "epoch": secrets.token_hex(6),
                "seq": "0",
                "status": InterviewStatus.live.value,
                "phase": (
                    Phase.waiting if next_number <= self.brief.question_count else Phase.reporting
                ).value,
                "turn": str(len(self.history)),
                "kind": "question",
                "qnum": str(next_number),
                "qcount": str(self.brief.question_count),
                "followups": "0",
                "provider": self.interviewer.name,
                "model": self.interviewer.model,
                "offline": "1" if self.interviewer.offline else "0",
                "owner_seen_ms": str(now_ms()),
            }
            if not await self.live.create_state(self.interview_id, fields):
                state, text = await self.live.get_snapshot(self.interview_id)
            else:
                state, text = fields, ""
        self.state = dict(state)
        self.text = text
        self.seq = int(state.get("seq", "0"))
        self.epoch = state["epoch"]

    # --- commands -------------------------------------------------------------------

    async def _commands(self) -> list[dict[str, Any]]:
        raw = await self.live.pop_commands(self.interview_id)
        commands = []
        for item in raw:
            try:
                commands.append(orjson.loads(item))
            except orjson.JSONDecodeError:
                log.warning(
                    "dropped an unreadable command", extra={"interview_id": self.interview_id}
                )
        return commands

    async def _wait(self, seconds: float) -> None:
        """Sleep until poked or ``seconds`` pass; callers clear ``wake`` before the inbox."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(0.0, seconds)):
                await self.wake.wait()
        await self._check_presence()

    async def _check_presence(self) -> None:
        now = time.monotonic()
        if now < self._next_presence_check:
            return
        self._next_presence_check = now + self._presence_interval_s
        if await self.live.has_presence(self.interview_id):
            self.last_presence_ms = now_ms()
        elif now_ms() - self.last_presence_ms > self.deps.settings.abandon_after_s * 1000:
            raise _Ended(InterviewStatus.abandoned, "no candidate connected")

    # --- asking -----------------------------------------------------------------------

    def _current_request(self) -> TurnRequest:
        kind: Literal["question", "follow_up"] = (
            "follow_up" if self._field("kind") == "follow_up" else "question"
        )
        number = self._int("qnum", 1)
        planned = self.plan[number - 1] if 0 < number <= len(self.plan) else None
        return TurnRequest(
            index=self._int("turn"),
            kind=kind,
            question_number=number,
            question_id=planned if kind == "question" else self._field("qid") or None,
            is_first=self._int("turn") == 0,
        )

    async def _ask(self) -> None:
        request = self._current_request()
        attempt = 0
        while True:
            attempt += 1
            outcome = await self._speak(request)
            if outcome is not None:
                break
            if attempt >= PROVIDER_ATTEMPTS:
                if not await self._fall_back("the interviewer failed to speak"):
                    raise _Ended(InterviewStatus.abandoned, "the interviewer is unavailable")
                request, attempt = self._current_request(), 0
                continue
            await asyncio.sleep(min(4.0, 0.5 * 2**attempt))
        text, interrupted, pending = outcome
        deadline = now_ms() + self.answer_time_limit_ms
        self.emit(
            {
                "type": "turn.end",
                "turn": request.index,
                "text": text,
                "interrupted": interrupted,
                "answer_deadline_ms": deadline,
            },
            {"phase": Phase.listening.value, "deadline_ms": str(deadline)},
            TextMode.set,
            text,
        )
        self.text = text
        for command in pending:  # what arrived while the interviewer spoke
            await self._handle_listening_command(command)

    async def _speak(self, request: TurnRequest) -> tuple[str, bool, list[dict[str, Any]]] | None:
        """Stream one turn: (text, interrupted, commands to apply next), or None on failure."""
        question_id = request.question_id or ""
        self.emit(
            {
                "type": "turn.start",
                "turn": request.index,
                "kind": request.kind,
                "question_number": request.question_number,
                "question_count": self.brief.question_count,
            },
            {
                "phase": Phase.asking.value,
                "turn": str(request.index),
                "kind": request.kind,
                "qnum": str(request.question_number),
                "qid": question_id if request.kind == "question" else self._field("qid"),
                "asked_ms": str(now_ms()),
            },
            TextMode.set,
            "",
        )
        spoken: list[str] = []
        generation = asyncio.create_task(
            self._generate(request, spoken), name=f"generate-{self.interview_id}"
        )
        pending: list[dict[str, Any]] = []
        interrupted = False
        try:
            while not generation.done():
                # Clear before reading the inbox, so a poke that lands in between is not lost.
                self.wake.clear()
                for command in await self._commands():
                    kind = command.get("type")
                    if kind in ("interrupt", "answer", "skip", "end"):
                        interrupted = True
                        if kind != "interrupt":
                            pending.append(command)
                if interrupted:
                    if not generation.done():
                        # Cancelling the task that awaits the stream closes the upstream request.
                        generation.cancel()
                        with contextlib.suppress(asyncio.CancelledError):
                            await generation
                    break
                waiter = asyncio.create_task(self.wake.wait())
                await asyncio.wait({generation, waiter}, return_when=asyncio.FIRST_COMPLETED)
                waiter.cancel()
            if not interrupted:
                generation.result()
        except asyncio.CancelledError:
            # Wait for the generation to stop too: its last words are appended in its
            # finally, and must be queued before this runner's appends are settled.
            generation.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await generation
            raise
        except Exception as exc:
            log.warning(
                "interviewer turn failed",
                extra={"interview_id": self.interview_id, "error": repr(exc)},
            )
            self.emit(
                {
                    "type": "error",
                    "code": ErrorCode.provider_failed.value,
                    "message": "The interviewer stopped mid-sentence; retrying the question.",
                    "retryable": True,
                }
            )
            return None
        return "".join(spoken), interrupted, pending

    async def _generate(self, request: TurnRequest, spoken: list[str]) -> None:
        """Relay the provider's words, coalescing them into one delta per flush interval."""
        flush_s = self.deps.settings.stream_flush_ms / 1000
        loop = asyncio.get_running_loop()
        buffer: list[str] = []
        timer: asyncio.TimerHandle | None = None
        first = True

        def flush() -> None:
            nonlocal timer
            timer = None
            if buffer:
                chunk = "".join(buffer)
                buffer.clear()
                self.emit(
                    {"type": "turn.delta", "turn": request.index, "text": chunk},
                    None,
                    TextMode.append,
                    chunk,
                )

        try:
            stream = self.interviewer.stream_turn(self.brief, self.history, request)
            async for piece in stream:
                if not piece:
                    continue
                spoken.append(piece)
                buffer.append(piece)
                if first or flush_s == 0:
                    first = False  # the first words go out at once: time to first token
                    flush()
                elif timer is None:
                    timer = loop.call_later(flush_s, flush)
        finally:
            if timer is not None:
                timer.cancel()
            flush()  # what was said before an interrupt or failure still reaches the client

    async def _fall_back(self, reason: str) -> bool:
        """Switch to the fallback interviewer for the rest of the interview, if enabled."""
        fallback = self.deps.fallback
        if fallback is None or self.interviewer is fallback:
            return False
        failed = self.interviewer
        self.interviewer = fallback
        self.plan = await fallback.plan(self.brief)
        await records.switch_provider(
            self.deps.sessionmaker, self.uuid, provider=fallback.name, model=fallback.model
        )
        self.emit(
            {
                "type": "interviewer.changed",
                "provider": fallback.name,
                "model": fallback.model,
                "offline": fallback.offline,
                "reason": f"{reason}; continuing with the offline interviewer",
            },
            {
                "provider": fallback.name,
                "model": fallback.model,
                "offline": "1" if fallback.offline else "0",
            },
        )
        log.warning(
            "switched interviewer",
            extra={"interview_id": self.interview_id, "from": failed.name, "to": fallback.name},
        )
        return True

    # --- listening ----------------------------------------------------------------------

    async def _listen(self) -> None:
        deadline = self._int("deadline_ms")
        while self._field("phase") == Phase.listening.value:
            self.wake.clear()
            for command in await self._commands():
                await self._handle_listening_command(command)
                if self._field("phase") != Phase.listening.value or self._end_requested:
                    return
            remaining_s = (deadline - now_ms()) / 1000
            if remaining_s <= 0:
                await self._close_turn("timed_out", None, None)
                return
            await self._wait(min(remaining_s, INBOX_POLL_S, self._presence_interval_s))

    async def _handle_listening_command(self, command: dict[str, Any]) -> None:
        if self._field("phase") != Phase.listening.value:
            return
        kind = command.get("type")
        turn = self._int("turn")
        if command.get("turn") not in (None, turn):
            return  # aimed at an earlier turn; the gateway already told the sender
        if kind == "answer":
            text = str(command.get("text", ""))[:8000]
            source = "voice" if command.get("source") == "voice" else "typed"
            self.emit(
                {"type": "answer.accepted", "turn": turn, "text": text, "source": source},
                {
                    "phase": Phase.scoring.value,
                    "answer": text,
                    "source": source,
                    "answered_ms": str(now_ms()),
                },
            )
        elif kind == "skip":
            await self._close_turn("skipped", None, None)
        elif kind == "end":
            if command.get("deleted"):
                self._deleted = True
                self._end_requested = (InterviewStatus.abandoned, "the interview was deleted")
            else:
                self._end_requested = (InterviewStatus.finished, "ended by the candidate")

    def _record(self, outcome: str, answer: str | None) -> TurnRecord:
        kind: Literal["question", "follow_up"] = (
            "follow_up" if self._field("kind") == "follow_up" else "question"
        )
        return TurnRecord(
            index=self._int("turn"),
            kind=kind,
            question_id=self._field("qid") or None,
            question=self.text,
            answer=answer,
            outcome=outcome,  # type: ignore[arg-type]
        )

    async def _save(
        self, record: TurnRecord, *, source: str | None, answered_ms: int | None
    ) -> None:
        """Write a finished turn to the database (idempotently) and to the history."""
        await records.save_turn(
            self.deps.sessionmaker,
            self.uuid,
            record,
            source=source,
            asked_ms=self._int("asked_ms", now_ms()),
            answered_ms=answered_ms,
        )
        self.history.append(record)

    async def _close_turn(self, outcome: str, answer: str | None, source: str | None) -> None:
        """Save an unanswered turn (skipped or timed out) and move to the next question."""
        record = self._record(outcome, answer)
        await self._save(record, source=source, answered_ms=None)
        event_type = "answer.skipped" if outcome == "skipped" else "answer.timeout"
        self.emit({"type": event_type, "turn": record.index}, self._next_turn_fields(None))

    # --- scoring ----------------------------------------------------------------------

    async def _score(self) -> None:
        answer = self._field("answer")
        record = self._record("answered", answer)
        score = None
        for attempt in range(1, PROVIDER_ATTEMPTS + 1):
            try:
                score = await self.interviewer.score_answer(self.brief, record)
                break
            except Exception as exc:
                log.warning(
                    "scoring failed",
                    extra={
                        "interview_id": self.interview_id,
                        "error": repr(exc),
                        "attempt": attempt,
                    },
                )
                await asyncio.sleep(min(4.0, 0.5 * 2**attempt))
        if score is None and await self._fall_back("the interviewer failed to score"):
            score = await self.interviewer.score_answer(self.brief, record)
        scored = TurnRecord(
            index=record.index,
            kind=record.kind,
            question_id=record.question_id,
            question=record.question,
            answer=record.answer,
            outcome="answered",
            score=score,
        )
        await self._save(
            scored,
            source=self._field("source", "typed"),
            answered_ms=self._int("answered_ms", now_ms()),
        )
        fields = self._next_turn_fields(scored)
        if score is None:
            self.emit(
                {
                    "type": "error",
                    "code": ErrorCode.provider_failed.value,
                    "message": "This answer could not be scored; it is saved and the "
                    "interview goes on.",
                    "retryable": False,
                },
                fields,
            )
            return
        self.emit(
            {
                "type": "score",
                "turn": scored.index,
                "criteria": [
                    {
                        "criterion": c.criterion,
                        "value": c.value,
                        "evidence": c.evidence,
                        "suggestion": c.suggestion,
                    }
                    for c in score.criteria
                ],
                "average": score.average,
                "rubric_version": score.rubric_version,
            },
            fields,
        )

    def _next_turn_fields(self, answered: TurnRecord | None) -> dict[str, str]:
        """Follow up on what was said, or move to the next question, or to the report."""
        number = self._int("qnum", 1)
        follow_ups = self._int("followups")
        base = {"turn": str(self._int("turn") + 1), "answer": "", "deadline_ms": ""}
        if self._end_requested:
            return {**base, "phase": Phase.reporting.value}
        if (
            answered is not None
            and answered.score is not None
            and answered.score.follow_up_worthy
            and follow_ups < self.deps.settings.max_follow_ups
        ):
            return {
                **base,
                "phase": Phase.asking.value,
                "kind": "follow_up",
                "followups": str(follow_ups + 1),
            }
        if number < self.brief.question_count:
            return {
                **base,
                "phase": Phase.asking.value,
                "kind": "question",
                "qnum": str(number + 1),
                "followups": "0",
            }
        return {**base, "phase": Phase.reporting.value}

    # --- the end ------------------------------------------------------------------------

    async def _finish(self, status: InterviewStatus, reason: str) -> None:
        if self._deleted:
            await self._end_stream(status, reason)
            return
        phase = self._field("phase")
        if phase in (Phase.asking.value, Phase.listening.value) and self.text:
            # The question on screen when the interview ended is part of the transcript.
            record = self._record("skipped", None)
            await self._save(record, source=None, answered_ms=None)
            self.emit({"type": "answer.skipped", "turn": record.index})
        elif phase == Phase.scoring.value and self._field("answer"):
            await self._score()
        report = None
        if any(t.outcome == "answered" for t in self.history):
            try:
                report = await self.interviewer.build_report(self.brief, self.history)
            except Exception as exc:
                log.error(
                    "report failed", extra={"interview_id": self.interview_id, "error": repr(exc)}
                )
        await records.finish(
            self.deps.sessionmaker,
            self.uuid,
            status=status,
            report=report,
            provider=self.interviewer.name,
        )
        if report is not None:
            self.emit(
                {
                    "type": "report",
                    "overall_score": report.overall_score,
                    "strengths": report.strengths,
                    "weaknesses": report.weaknesses,
                    "next_steps": report.next_steps,
                    "rubric_version": report.rubric_version,
                    "provider": self.interviewer.name,
                }
            )
        await self._end_stream(status, reason)

    async def _end_stream(self, status: InterviewStatus, reason: str) -> None:
        self.emit(
            {"type": "ended", "status": status.value, "reason": reason},
            {"phase": Phase.ended.value, "status": status.value},
        )
        await self.live.flush()
        await self.live.expire(self.interview_id, ENDED_TTL_S)
        log.info(
            "interview ended",
            extra={"interview_id": self.interview_id, "status": status.value, "reason": reason},
        )


RunnerFactory = Callable[[str], InterviewRunner]
