"""The interview engine: one runner per live interview, a state machine that never touches a socket.

asking → listening → scoring → (follow-up | next question) → … → reporting → ended.

The runner owns the interview while its process holds the lease. Commands reach it through
``receive`` (its one accept step: phase and turn are checked here and nowhere else), and
everything it decides goes out as protocol events through ``emit``, which replaces the typed
live state in the same atomic append, so another process can take over from exactly where it
stopped: an interrupted turn is regenerated, a pending answer re-scored, a deadline kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import logging
import random
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.aio import cancel_and_wait
from server.config import Settings
from server.interview import records
from server.interview.coalescing import Coalescer
from server.interview.commands import (
    AdminCommand,
    DeleteInterview,
    EndByAdmin,
    Envelope,
    ExtendAnswer,
    NoteToInterviewer,
    RunnerCommand,
)
from server.interview.state import LiveState, PendingAnswer
from server.live.base import KEEP_TEXT, LiveStore, Snapshot, TextUpdate
from server.llm import overall
from server.llm.base import (
    AnswerScore,
    Interviewer,
    ProviderError,
    QuestionRubric,
    ScoreContext,
    TurnBlocked,
    TurnRecord,
    TurnRequest,
)
from server.metrics import OFFLINE_FALLBACKS
from server.protocol import (
    CONTROL,
    Answer,
    AnswerAccepted,
    AnswerClarification,
    AnswerExtended,
    AnswerSkipped,
    AnswerTimeout,
    CriterionScore,
    Delivery,
    End,
    Ended,
    ErrorCode,
    ErrorEvent,
    Interrupt,
    InterviewerChanged,
    InterviewPaused,
    InterviewResumed,
    Pause,
    PauseRequested,
    Phase,
    ReportEvent,
    Resume,
    ScoreEvent,
    Skip,
    SteerAck,
    SteerAction,
    TurnDelta,
    TurnEnd,
    TurnStart,
)
from server.store.models import InterviewStatus
from server.voice import uploads as voice_uploads

log = logging.getLogger(__name__)

ENDED_TTL_S = 3600  # how long an ended interview's event log stays for late reconnects
# A waiting runner is woken by what it receives (a command handed to it here, or a poke for
# its inbox: after a subscription is re-established every runner is poked, so none is
# lost), and otherwise only to look for its candidate: this bounds how long an abandoned
# interview goes unnoticed, without thousands of idle runners waking to look at nothing.
MAX_PRESENCE_CHECK_S = 30.0
# A turn that broke after its first words is regenerated this many times (the provider has
# already retried every failure before the first words; those are never retried here).
MID_STREAM_REGENERATIONS = 1
# Clarifying questions answered per main question before a question back counts as an answer.
MAX_CLARIFICATIONS = 2

E = TypeVar(
    "E",
    TurnStart,
    TurnDelta,
    TurnEnd,
    AnswerAccepted,
    AnswerClarification,
    AnswerSkipped,
    AnswerTimeout,
    AnswerExtended,
    PauseRequested,
    InterviewPaused,
    InterviewResumed,
    ScoreEvent,
    ReportEvent,
    InterviewerChanged,
    Ended,
    ErrorEvent,
)
Reply = Callable[[str, str], Awaitable[None]]  # (connection id, encoded frame)


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True)
class EngineDeps:
    settings: Settings
    sessionmaker: async_sessionmaker[AsyncSession]
    live: LiveStore
    interviewer: Interviewer
    # Takes over from ``interviewer`` after a failure, if the operator enabled it.
    fallback: Interviewer | None = None


class _Ended(Exception):
    """The interview must end now (the candidate asked, or it was abandoned)."""

    def __init__(self, status: InterviewStatus, reason: str) -> None:
        self.status = status
        self.reason = reason


class _Stop(Exception):
    """The runner has nothing more to do (the interview was ended without the usual steps)."""


class _Refused(Exception):
    def __init__(self, code: ErrorCode, message: str, *, retryable: bool) -> None:
        self.code = code
        self.message = message
        self.retryable = retryable


def _finished() -> _Refused:
    return _Refused(ErrorCode.interview_finished, "the interview has ended", retryable=False)


class InterviewRunner:
    def __init__(
        self,
        deps: EngineDeps,
        interview_id: str,
        *,
        reply: Reply,
        started: Callable[[uuid.UUID, Sequence[QuestionRubric]], None],
        present_here: Callable[[], bool],
        changed: Callable[[], None] = lambda: None,
        facts: records.InterviewFacts | None = None,
        snapshot: Snapshot | None = None,
        state_absent: bool = False,
    ) -> None:
        self.deps = deps
        self.events = deps.live.events
        self.interviewer = deps.interviewer
        self.interview_id = interview_id
        self.uuid = uuid.UUID(interview_id)
        self._reply = reply
        self._started = started  # records that the interview went live, and its plan (batched)
        # Whether the candidate has a socket on this process: then presence is known here,
        # without asking the live store.
        self._present_here = present_here
        self._changed = changed  # told of every event and of taking the interview (monitor)
        self._facts = facts  # the interview as the caller just read it, if it did
        self._snapshot = snapshot  # the live data as the caller just read it (a new interview)
        self._state_absent = state_absent  # the caller just saw no live state: create it
        self.wake = asyncio.Event()
        self.ready = asyncio.Event()  # the live state exists: sockets can be served
        self.state: LiveState | None = None
        self.seq = 0
        self.loaded_seq = 0  # the log's head when this runner took the interview
        # The number (``EventLog.append``) of this runner's first append: refusals of
        # appends before it were another runner's, and are not this one's concern.
        self.first_append: int | None = None
        self.refused = False  # one of its appends was refused: it is being stopped
        self._spoken: list[str] = []  # the current turn's text, in pieces (joined when read)
        self.history: list[TurnRecord] = []
        # The main questions with their private rubrics, stored with the interview.
        self.plan: list[QuestionRubric] = []
        self.answer_time_limit_ms = 0
        self.last_presence_ms = now_ms()
        self.started_ms = now_ms()  # when this process took the interview
        self.owner_email = ""  # for the admin monitor, when the facts carried it
        self.last_event_ms = now_ms()
        self._next_presence_check = 0.0
        # Spread: runners started in one burst must not all wake, nor all ask the live store
        # about presence, in the same instant ever after (2,500 at once stalled every stream
        # of the process for half a second).
        spread = random.uniform(0.75, 1.25)
        self._presence_interval_s = spread * min(
            MAX_PRESENCE_CHECK_S, deps.settings.abandon_after_s / 4
        )
        self._backlog: list[Envelope] = []  # commands that arrived before the state was loaded
        self._pending: Answer | Skip | None = None  # accepted for the open turn, not yet applied
        self._interrupt = False
        self._end_requested: tuple[InterviewStatus, str] | None = None
        self._deleted = False  # the row is gone: write nothing more, just end the stream
        self._ended = False
        self._unscored: records.PendingTurn | None = None  # saved answer the live store lost
        self.failures = 0  # runners that failed on this interview before this one
        self._side_tasks: set[asyncio.Future[None]] = set()
        # Administrators' notes not yet turned into a turn: (note id, text).
        self.notes: list[tuple[int, str]] = []
        self._extend_s = 0  # seconds an administrator added to the open answer, not yet applied
        # The candidate's pause and resume, taken by the accept step, applied by the loop.
        self._pause_asked = False
        self._resume_asked = False
        self._cancelled_pause = False
        if snapshot is not None and facts is not None and facts.status is InterviewStatus.created:
            # A new interview with its live data in hand: ready before its task first runs,
            # so the socket that started it is served without waiting a turn of the loop.
            self._snapshot = None
            self._adopt(facts, snapshot)

    # --- the accept step ------------------------------------------------------------------

    def receive(self, envelope: Envelope) -> None:
        """Accept or refuse a command. A refusal goes back to its sender and changes nothing."""
        if self.state is None:
            self._backlog.append(envelope)
            return
        try:
            acknowledged = self._accept(envelope.command, self.state)
        except _Refused as refused:
            self._refuse(envelope, refused)
            return
        if acknowledged is not None and envelope.origin:
            self._spawn(self._reply(envelope.origin, acknowledged))
        self.wake.set()

    def _refuse(self, envelope: Envelope, refused: _Refused) -> None:
        if not envelope.origin:
            return  # the service's own command: nobody to tell
        frame = ErrorEvent(
            seq=CONTROL,
            epoch=self.state.epoch if self.state else "",
            code=refused.code,
            message=refused.message,
            retryable=refused.retryable,
        )
        self._spawn(self._reply(envelope.origin, frame.model_dump_json()))

    def _accept(self, command: RunnerCommand, state: LiveState) -> str | None:
        """Take the command or raise _Refused; what to tell an administrator who sent it."""
        if isinstance(command, DeleteInterview):
            self._deleted = True
            self._end_requested = (InterviewStatus.abandoned, "the interview was deleted")
            return None
        if self._ended or state.phase is Phase.ended or self._end_requested:
            raise _finished()
        if isinstance(command, NoteToInterviewer | ExtendAnswer | EndByAdmin):
            return self._steer(command, state)
        if isinstance(command, End):
            self._end_requested = (InterviewStatus.finished, "ended by the candidate")
            return None
        if isinstance(command, Interrupt):
            self._interrupt = state.phase is Phase.asking
            return None
        if isinstance(command, Pause):
            if state.phase is Phase.reporting:
                raise _Refused(
                    ErrorCode.not_listening,
                    "the interview is ending: nothing to pause",
                    retryable=False,
                )
            if state.phase is not Phase.paused:
                self._pause_asked, self._resume_asked = True, False
            return None
        if isinstance(command, Resume):
            if state.phase is Phase.paused or state.pause_requested or self._pause_asked:
                self._pause_asked, self._resume_asked = False, True
                return None
            raise _Refused(ErrorCode.not_listening, "the interview is not paused", retryable=False)
        if state.phase not in (Phase.asking, Phase.listening) or self._pending is not None:
            phase = Phase.scoring if self._pending is not None else state.phase
            raise _Refused(
                ErrorCode.not_listening,
                f"no question is waiting for an answer (the interview is {phase})",
                retryable=True,
            )
        if command.turn is not None and command.turn != state.turn:
            raise _Refused(
                ErrorCode.wrong_turn,
                f"turn {command.turn} is not open; the open turn is {state.turn}",
                retryable=False,
            )
        self._pending = command
        return None

    def _steer(self, command: AdminCommand, state: LiveState) -> str:
        """An administrator's command: applied like the candidate's, acknowledged to them."""
        if isinstance(command, EndByAdmin):
            self._end_requested = (InterviewStatus.finished, "ended by an administrator")
            return self._ack(
                "steer.end", "The interview is ending; its report covers what was answered."
            )
        if isinstance(command, NoteToInterviewer):
            self.notes.append((command.note_id, command.text))
            return self._ack("steer.note", "The note will shape the interviewer's next turn.")
        if state.phase is not Phase.listening or self._pending is not None:
            raise _Refused(
                ErrorCode.not_listening,
                f"no answer is open to extend (the interview is {state.phase})",
                retryable=True,
            )
        if command.turn != state.turn:
            raise _Refused(
                ErrorCode.wrong_turn,
                f"turn {command.turn} is not open; the open turn is {state.turn}",
                retryable=False,
            )
        self._extend_s += command.seconds
        return self._ack("steer.extend", f"{command.seconds} s added to the open answer.")

    def _ack(self, action: SteerAction, message: str) -> str:
        return SteerAck(
            seq=CONTROL,
            epoch=self.state.epoch if self.state else "",
            interview_id=self.interview_id,
            action=action,
            message=message,
        ).model_dump_json()

    async def _drain_inbox(self) -> None:
        """Take the commands other processes left for this interview."""
        for raw in await self.deps.live.inbox.pop(self.interview_id):
            try:
                envelope = Envelope.decode(raw)
            except ValueError:
                log.warning(
                    "dropped an unreadable command", extra={"interview_id": self.interview_id}
                )
                continue
            self.receive(envelope)

    def poked(self) -> None:
        """Something is in the inbox: take it now, whatever the runner is doing."""
        self._spawn(self._drain_inbox())

    def _spawn(self, work: Awaitable[None]) -> None:
        # Held until done: the event loop keeps only a weak reference to a task, and one
        # collected mid-way would drop its work (a refusal, commands taken from the inbox).
        task = asyncio.ensure_future(work)
        self._side_tasks.add(task)
        task.add_done_callback(self._side_tasks.discard)
        task.add_done_callback(_log_failure)

    # --- events ---------------------------------------------------------------------

    def emit(self, event_type: type[E], state: LiveState | None = None, **fields: Any) -> E:
        """Log and publish one event; ``state`` (if given) replaces the live state with it."""
        if state is not None:
            self.state = state
        assert self.state is not None
        self.seq += 1
        self.last_event_ms = now_ms()
        self._changed()
        event = event_type(seq=self.seq, epoch=self.state.epoch, phase=self.state.phase, **fields)
        text = KEEP_TEXT
        if isinstance(event, TurnStart):
            text = TextUpdate("s", "")
            self._spoken = []
        elif isinstance(event, TurnDelta):
            text = TextUpdate("a", event.text)
            self._spoken.append(event.text)
        elif isinstance(event, TurnEnd):
            text = TextUpdate("s", event.text)
            self._spoken = [event.text]
        number = self.events.append(
            self.interview_id,
            self.seq,
            event.model_dump_json(),
            None if state is None else state.encode(),
            text,
        )
        if self.first_append is None:
            self.first_append = number
        return event

    @property
    def text(self) -> str:
        """The current turn's text so far."""
        if len(self._spoken) > 1:
            self._spoken = ["".join(self._spoken)]
        return self._spoken[0] if self._spoken else ""

    def _evolve(self, **changes: Any) -> LiveState:
        assert self.state is not None
        return dataclasses.replace(self.state, **changes)

    # --- lifecycle --------------------------------------------------------------------

    async def run(self) -> None:
        try:
            await self._run()
        finally:
            self._ended = True
            self.ready.set()  # never leave a waiting socket hanging
            for envelope in self._backlog:  # arrived while the interview was already over
                self._refuse_late(envelope)

    def _refuse_late(self, envelope: Envelope) -> None:
        self._refuse(envelope, _finished())

    async def _refuse_inbox(self) -> None:
        """The interview is over: whatever is waiting for it is answered so."""
        for raw in await self.deps.live.inbox.pop(self.interview_id):
            with contextlib.suppress(ValueError):
                self._refuse_late(Envelope.decode(raw))

    async def _run(self) -> None:
        facts, self._facts = self._facts, None  # used once: hold no copy for the interview's life
        if self.state is None:  # not adopted when it was built: load what is missing
            if facts is None or facts.status is not InterviewStatus.created:
                loaded = await records.load(self.deps.sessionmaker, self.uuid)
                if loaded is None:  # deleted
                    await self._refuse_inbox()
                    return
                facts, self.history, self._unscored = loaded.facts, loaded.history, loaded.pending
                self.notes = loaded.notes + self.notes
            if facts.status in records.ENDED:
                await self._refuse_inbox()
                await self._end_what_the_log_left_open(facts)
                return
            self._adopt(facts, await self._load_snapshot(facts))
        assert facts is not None and self.state is not None
        if not self._state_absent:  # a state just created has an empty inbox
            await self._drain_inbox()
        # After ready: a planning call may take seconds, and sockets need not wait for it.
        if facts.status is InterviewStatus.created:
            # A new interview: its plan is kept with the batched write that marks it live,
            # so a burst of starts costs no statement per start.
            self.plan = list(facts.rubrics) or await self.interviewer.plan(self.brief)
            self._started(self.uuid, self.plan)
        else:
            self.plan = list(facts.rubrics) or await self._plan()
        try:
            await self._after_failures()
            while True:
                if self._end_requested:
                    raise _Ended(*self._end_requested)
                phase = self.state.phase
                if phase in (Phase.waiting, Phase.asking):
                    await self._ask()
                elif phase is Phase.listening:
                    await self._listen()
                elif phase is Phase.scoring:
                    await self._score()
                elif phase is Phase.paused:
                    await self._paused()
                elif phase is Phase.reporting:
                    raise _Ended(InterviewStatus.finished, "completed")
                else:
                    return
        except _Ended as ended:
            await self._finish(ended.status, ended.reason)
        except _Stop:
            return

    async def _end_what_the_log_left_open(self, facts: records.InterviewFacts) -> None:
        """The database says the interview ended, its live log does not: the runner that
        saved the end lost its lease before it logged ``ended``. Log it now, or its
        sockets would wait in silence (each hello starting a runner that stops again)."""
        snapshot = await self.events.snapshot(self.interview_id)
        if snapshot is None or LiveState.decode(snapshot.state).phase is Phase.ended:
            return
        self._adopt(facts, snapshot)
        await self._end_stream(facts.status, "the interview had already ended")

    async def _plan(self) -> list[QuestionRubric]:
        """Plan the interview once and keep the plan with it: a resumed interview (another
        process, after a restart) asks and scores against the same rubrics."""
        planned = await self.interviewer.plan(self.brief)
        return list(await records.save_rubrics(self.deps.sessionmaker, self.uuid, planned))

    def _rubric(self, number: int) -> QuestionRubric | None:
        return self.plan[number - 1] if 0 < number <= len(self.plan) else None

    def _adopt(self, facts: records.InterviewFacts, snapshot: Snapshot) -> None:
        """Take the interview as ``facts`` and its live ``snapshot`` describe it; from here
        sockets can be served and commands accepted."""
        self.brief = facts.brief
        self.owner_email = facts.owner_email
        self.answer_time_limit_ms = facts.answer_time_limit_s * 1000
        self.state = LiveState.decode(snapshot.state)
        self.seq = self.loaded_seq = snapshot.seq
        self._changed()
        self.failures = snapshot.failures
        self._spoken = [snapshot.text]
        fallback = self.deps.fallback
        if fallback is not None and self.state.provider == fallback.name:
            self.interviewer = fallback  # switched before this process took the interview over
        self.ready.set()
        backlog, self._backlog = self._backlog, []
        for envelope in backlog:
            self.receive(envelope)

    async def _load_snapshot(self, facts: records.InterviewFacts) -> Snapshot:
        if self._snapshot is not None:
            snapshot: Snapshot | None = self._snapshot
            self._snapshot = None
        elif self._state_absent:
            snapshot = None
        else:
            snapshot = await self.events.snapshot(self.interview_id)
        unscored, self._unscored = self._unscored, None
        if snapshot is None:
            # The live store lost it (or never had it): rebuild from what the database has,
            # an answer it saved but did not score included.
            fresh = initial_state(facts, self.interviewer, self.history, unscored)
            if await self.events.create(self.interview_id, fresh.encode()):
                text = unscored.question if unscored is not None else ""
                snapshot = Snapshot(0, fresh.encode(), text, now_ms())
            else:  # created meanwhile by someone else: commands may wait in its inbox
                self._state_absent = False
                snapshot = await self.events.snapshot(self.interview_id)
                assert snapshot is not None, "the live state vanished while it was created"
        return snapshot

    async def _wait(self, seconds: float) -> None:
        """Sleep until woken or ``seconds`` pass; callers clear ``wake`` before they look."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(0.0, seconds)):
                await self.wake.wait()
        await self._check_presence()

    async def _check_presence(self) -> None:
        now = time.monotonic()
        if now < self._next_presence_check:
            return
        self._next_presence_check = now + self._presence_interval_s
        if self._present_here() or await self.deps.live.leases.has_presence(self.interview_id):
            self.last_presence_ms = now_ms()
        elif now_ms() - self.last_presence_ms > self.deps.settings.abandon_after_s * 1000:
            raise _Ended(InterviewStatus.abandoned, "no candidate connected")

    # --- quarantine -------------------------------------------------------------------

    async def _after_failures(self) -> None:
        """Runners failed on this interview before: do not repeat what keeps failing.

        At the limit, the step in progress is set aside: an answer that cannot be scored is
        kept without a score and the interview goes on; anything else ends the interview
        with what was answered. At twice the limit (setting it aside failed too) the
        interview ends without another attempt at anything but saying so.
        """
        limit = self.deps.settings.runner_failure_limit
        if self.failures < limit:
            return
        assert self.state is not None
        log.error(
            "quarantining a failing interview step",
            extra={
                "interview_id": self.interview_id,
                "failures": self.failures,
                "phase": self.state.phase.value,
            },
        )
        if self.failures >= 2 * limit:
            await self._end_after_failures()
            raise _Stop()
        if self.state.phase is Phase.scoring and self.state.answer is not None:
            pending = self.state.answer
            record = self._record("answered", pending.text)
            await self._save(record, source=pending.source, answered_ms=pending.answered_ms)
            self.emit(
                ErrorEvent,
                self._next_turn(None),
                code=ErrorCode.internal,
                message="Something went wrong while scoring your last answer. It is saved "
                "without a score, and the interview goes on.",
                retryable=False,
            )
            return
        self.emit(
            ErrorEvent,
            code=ErrorCode.internal,
            message="Something went wrong on our side, so this interview has been ended. "
            "Everything you answered is saved and in your report.",
            retryable=False,
        )
        raise _Ended(InterviewStatus.finished, "ended after an internal error")

    async def _end_after_failures(self) -> None:
        """The last resort: mark it over everywhere it can be, and say so."""
        with contextlib.suppress(Exception):
            await records.finish(
                self.deps.sessionmaker,
                self.uuid,
                status=InterviewStatus.abandoned,
                report=None,
                provider=self.interviewer.name,
            )
        self.emit(
            ErrorEvent,
            code=ErrorCode.internal,
            message="Something went wrong on our side and this interview could not go on. "
            "What you answered before is saved.",
            retryable=False,
        )
        await self._end_stream(InterviewStatus.abandoned, "ended after repeated internal errors")

    # --- asking -----------------------------------------------------------------------

    def _current_request(self) -> TurnRequest:
        assert self.state is not None
        state = self.state
        number = state.question_number
        planned = self._rubric(number)
        return TurnRequest(
            index=state.turn,
            kind=state.kind,
            question_number=number,
            question_id=(planned.question_id if planned else None)
            if state.kind == "question"
            else state.question_id,
            rubric=planned,
            is_first=state.turn == 0,
            # A turn answering a clarifying question keeps to that; a note waits for the next.
            note=" ".join(text for _, text in self.notes)
            if self.notes and state.kind == "follow_up" and not self._answers_clarification()
            else None,
        )

    def _answers_clarification(self) -> bool:
        last = self.history[-1] if self.history else None
        return last is not None and last.score is not None and last.score.reply == "clarification"

    async def _ask(self) -> None:
        regenerations = 0
        while True:
            request = self._current_request()
            try:
                interrupted = await self._speak(request)
                break
            except TurnBlocked as exc:
                # Nothing was said, even when asked again in other words: a neutral question
                # instead, and the interview goes on.
                log.warning(
                    "interviewer turn blocked; asking a neutral question",
                    extra={"interview_id": self.interview_id, "error": repr(exc)},
                )
                self.emit(TurnDelta, turn=request.index, text=_neutral_question(request, exc))
                interrupted = False
                break
            except ProviderError as exc:
                log.warning(
                    "interviewer turn failed",
                    extra={"interview_id": self.interview_id, "error": repr(exc)},
                )
                if exc.mid_stream and regenerations < MID_STREAM_REGENERATIONS:
                    regenerations += 1
                    message = "The interviewer stopped mid-sentence; asking again."
                elif await self._fall_back("the interviewer failed to speak"):
                    message = "The interviewer failed; continuing with the offline interviewer."
                else:
                    self.emit(
                        ErrorEvent,
                        code=ErrorCode.provider_failed,
                        message="The interviewer is unavailable right now; the interview ends "
                        "here and your answers so far are kept.",
                        retryable=False,
                    )
                    raise _Ended(
                        InterviewStatus.abandoned, "the interviewer is unavailable"
                    ) from None
                self.emit(
                    ErrorEvent, code=ErrorCode.provider_failed, message=message, retryable=True
                )
        if request.note is not None:  # spoken: the notes are part of this turn now
            used, self.notes = [note_id for note_id, _ in self.notes], []
            try:
                await records.use_notes(self.deps.sessionmaker, used, request.index)
            except Exception as exc:  # the turn was spoken; the record of why can wait
                log.warning(
                    "could not mark notes used",
                    extra={"interview_id": self.interview_id, "error": repr(exc)},
                )
        deadline = now_ms() + self.answer_time_limit_ms
        self.emit(
            TurnEnd,
            self._evolve(phase=Phase.listening, deadline_ms=deadline),
            turn=request.index,
            text=self.text,
            interrupted=interrupted,
            answer_deadline_ms=deadline,
        )

    async def _speak(self, request: TurnRequest) -> bool:
        """Stream one turn; whether the candidate cut it short. Raises ProviderError."""
        assert self.state is not None
        self._interrupt = False
        targets: tuple[str, ...] = ()
        if request.kind == "question":
            try:
                targets = await self.interviewer.targets(self.brief, request.question_id)
            except Exception as exc:  # only a hint for the room: never worth failing a turn
                log.warning(
                    "could not name a question's targets",
                    extra={"interview_id": self.interview_id, "error": repr(exc)},
                )
        self.emit(
            TurnStart,
            self._evolve(
                status=InterviewStatus.live,
                phase=Phase.asking,
                turn=request.index,
                kind=request.kind,
                question_number=request.question_number,
                question_id=request.question_id,
                asked_ms=now_ms(),
                deadline_ms=None,
            ),
            turn=request.index,
            kind=request.kind,
            question_number=request.question_number,
            question_count=self.brief.question_count,
            targets=list(targets),
        )
        generation = asyncio.create_task(
            self._generate(request), name=f"generate-{self.interview_id}"
        )
        try:
            while not generation.done():
                # Clear before looking, so a wake-up that lands in between is not lost.
                self.wake.clear()
                if self._interrupt or self._pending is not None or self._end_requested:
                    # Cancelling the task that awaits the stream closes the upstream request.
                    await cancel_and_wait(generation)
                    return True
                waiter = asyncio.create_task(self.wake.wait())
                try:
                    await asyncio.wait({generation, waiter}, return_when=asyncio.FIRST_COMPLETED)
                finally:  # also when this runner is cancelled (its lease lost) meanwhile
                    waiter.cancel()
            generation.result()
            return False
        except asyncio.CancelledError:
            # Wait for the generation to stop too: its last words are appended in its
            # finally, and must be queued before this runner's appends are settled.
            generation.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await generation
            raise
        except ProviderError:
            raise
        except Exception as exc:  # a provider that broke its contract: treat it as failed
            raise ProviderError(repr(exc), "internal", mid_stream=bool(self.text)) from exc

    async def _generate(self, request: TurnRequest) -> None:
        """Relay the provider's words, at most one delta per flush interval (the
        ``Coalescer`` decides when): the first words at once."""
        coalescer = Coalescer(self.deps.settings.stream_flush_ms / 1000)
        loop = asyncio.get_running_loop()
        timer: asyncio.TimerHandle | None = None

        def send(text: str | None) -> None:
            if text:
                self.emit(TurnDelta, turn=request.index, text=text)

        def stalled() -> None:
            nonlocal timer
            timer = None
            send(coalescer.take(loop.time()))

        try:
            async for piece in self.interviewer.stream_turn(self.brief, self.history, request):
                if not piece:
                    continue
                due = coalescer.add(piece, loop.time())
                if due is not None:
                    if timer is not None:
                        timer.cancel()
                        timer = None
                    send(due)
                elif timer is None:
                    timer = loop.call_later(coalescer.stall_deadline() - loop.time(), stalled)
        finally:
            if timer is not None:
                timer.cancel()
            # What was said before an interrupt or failure still reaches the client.
            send(coalescer.take(loop.time()))

    async def _fall_back(self, reason: str) -> bool:
        """Switch to the fallback interviewer for the rest of the interview, if enabled."""
        fallback = self.deps.fallback
        if fallback is None or self.interviewer is fallback:
            return False
        failed = self.interviewer
        self.interviewer = fallback
        OFFLINE_FALLBACKS.inc()
        # The questions already asked keep their rubrics; the rest are the fallback's.
        asked = sum(1 for t in self.history if t.kind == "question")
        if self.state is not None and self.state.phase is Phase.scoring:
            asked += self.state.kind == "question"  # its answer is being scored
        replanned = await fallback.plan(self.brief)
        self.plan = self.plan[:asked] + replanned[asked:]
        await records.replace_rubrics(self.deps.sessionmaker, self.uuid, self.plan)
        await records.switch_provider(
            self.deps.sessionmaker, self.uuid, provider=fallback.name, model=fallback.model
        )
        self.emit(
            InterviewerChanged,
            self._evolve(provider=fallback.name, model=fallback.model, offline=fallback.offline),
            provider=fallback.name,
            model=fallback.model,
            offline=fallback.offline,
            reason=f"{reason}; continuing with the offline interviewer",
        )
        log.warning(
            "switched interviewer",
            extra={"interview_id": self.interview_id, "from": failed.name, "to": fallback.name},
        )
        return True

    # --- listening ----------------------------------------------------------------------

    async def _listen(self) -> None:
        assert self.state is not None
        deadline = self.state.deadline_ms or now_ms()
        while self.state.phase is Phase.listening and not self._end_requested:
            self.wake.clear()
            self._note_pause_request()
            if self._extend_s:
                added, self._extend_s = self._extend_s, 0
                deadline += added * 1000
                self.emit(
                    AnswerExtended,
                    self._evolve(deadline_ms=deadline),
                    turn=self.state.turn,
                    answer_deadline_ms=deadline,
                    seconds=added,
                )
            pending = self._pending
            if isinstance(pending, Answer):
                await self._keep(pending)
                return
            self._pending = None
            if isinstance(pending, Skip):
                await self._close_turn("skipped")
                return
            remaining_s = (deadline - now_ms()) / 1000
            if remaining_s <= 0:
                await self._close_turn("timed_out")
                return
            await self._wait(min(remaining_s, self._presence_interval_s))

    def _note_pause_request(self) -> None:
        """Log a pause asked for (or cancelled) during a question: it survives a runner
        moving, and every socket shows it."""
        assert self.state is not None
        if self._pause_asked and not self.state.pause_requested:
            self._pause_asked = False
            self.emit(PauseRequested, self._evolve(pause_requested=True), turn=self.state.turn)
        elif self._resume_asked and self.state.pause_requested:
            self._resume_asked = False
            self.emit(
                InterviewResumed,
                self._evolve(pause_requested=False),
                turn=self.state.turn,
                paused_s=0,
            )

    async def _paused(self) -> None:
        """Between questions at the candidate's request: wait for resume (or the end). No
        answer clock runs; a candidate who leaves is still abandoned after the usual time."""
        assert self.state is not None
        while self.state.phase is Phase.paused and not self._end_requested:
            self.wake.clear()
            if self._resume_asked:
                self._resume_asked = False
                began = self.state.paused_ms or now_ms()
                paused_s = max(0, (now_ms() - began) // 1000)
                await records.add_pause(self.deps.sessionmaker, self.uuid, paused_s)
                self.emit(
                    InterviewResumed,
                    self._evolve(phase=Phase.asking, paused_ms=None),
                    turn=self.state.turn,
                    paused_s=paused_s,
                )
                return
            await self._wait(self._presence_interval_s)

    def _announce_pause(self) -> None:
        """After the event that moved to the next question: say if it began a pause, or if a
        requested pause was cancelled."""
        assert self.state is not None
        if self.state.phase is Phase.paused and self.state.paused_ms is not None:
            self.emit(InterviewPaused, turn=self.state.turn, paused_ms=self.state.paused_ms)
        elif self._cancelled_pause:
            self.emit(InterviewResumed, turn=self.state.turn, paused_s=0)
        self._cancelled_pause = False

    async def _keep(self, answer: Answer) -> None:
        """Accept an answer: saved first (losing the live store cannot lose it), then
        announced. Until then it stays pending, so a second answer is refused."""
        assert self.state is not None
        state = self.state
        answered_ms = now_ms()
        delivery = await self._delivery(answer) if answer.source == "voice" else None
        turn = records.PendingTurn(
            index=state.turn,
            kind=state.kind,
            question_id=state.question_id,
            question=self.text,
            answer=answer.text,
            source=answer.source,
            answered_ms=answered_ms,
            delivery=delivery,
        )
        await records.save_answer(
            self.deps.sessionmaker, self.uuid, turn, asked_ms=state.asked_ms or answered_ms
        )
        self._pending = None
        self.emit(
            AnswerAccepted,
            self._evolve(
                phase=Phase.scoring,
                deadline_ms=None,
                answer=PendingAnswer(answer.text, answer.source, answered_ms, delivery),
            ),
            turn=state.turn,
            text=answer.text,
            source=answer.source,
        )

    async def _delivery(self, answer: Answer) -> Delivery | None:
        """How a spoken answer was delivered, measured when its recording was transcribed;
        None when it names no recording of this turn (or the recording has expired)."""
        assert self.state is not None
        if answer.upload_id is None:
            return None
        transcript = await voice_uploads.transcript(
            self.deps.live.uploads, self.interview_id, answer.upload_id
        )
        if transcript is None or transcript.turn != self.state.turn:
            return None
        return transcript.delivery

    def _record(self, outcome: str, answer: str | None) -> TurnRecord:
        assert self.state is not None
        return TurnRecord(
            index=self.state.turn,
            kind=self.state.kind,
            question_id=self.state.question_id,
            question=self.text,
            answer=answer,
            outcome=outcome,  # type: ignore[arg-type]
        )

    async def _save(
        self,
        record: TurnRecord,
        *,
        source: str | None,
        answered_ms: int | None,
        delivery: Delivery | None = None,
    ) -> None:
        """Write a finished turn to the database (idempotently) and to the history."""
        assert self.state is not None
        await records.save_turn(
            self.deps.sessionmaker,
            self.uuid,
            record,
            source=source,
            asked_ms=self.state.asked_ms or now_ms(),
            answered_ms=answered_ms,
            delivery=delivery,
        )
        self.history.append(record)

    async def _close_turn(self, outcome: str) -> None:
        """Save an unanswered turn (skipped or timed out) and move to the next question."""
        record = self._record(outcome, None)
        await self._save(record, source=None, answered_ms=None)
        if outcome == "skipped":
            self.emit(AnswerSkipped, self._next_turn(None), turn=record.index)
        else:
            self.emit(AnswerTimeout, self._next_turn(None), turn=record.index)
        self._announce_pause()

    # --- scoring ----------------------------------------------------------------------

    async def _score(self) -> None:
        assert self.state is not None and self.state.answer is not None
        pending = self.state.answer
        record = self._record("answered", pending.text)
        context = self._score_context(record)
        score = None
        try:
            score = await self.interviewer.score_answer(self.brief, record, context)
        except Exception as exc:  # the provider has retried already: never again here
            log.warning(
                "scoring failed", extra={"interview_id": self.interview_id, "error": repr(exc)}
            )
            if await self._fall_back("the interviewer failed to score"):
                score = await self.interviewer.score_answer(self.brief, record, context)
        if score is not None and score.reply == "clarification" and self._may_clarify():
            await self._clarify(record, score, pending)
            return
        scored = dataclasses.replace(record, score=score)
        await self._save(
            scored,
            source=pending.source,
            answered_ms=pending.answered_ms,
            delivery=pending.delivery,
        )
        state = self._next_turn(scored)
        if score is None:
            self.emit(
                ErrorEvent,
                state,
                code=ErrorCode.provider_failed,
                message="This answer could not be scored; it is saved and the interview goes on.",
                retryable=False,
            )
            self._announce_pause()
            return
        self.emit(
            ScoreEvent,
            state,
            turn=scored.index,
            criteria=[
                CriterionScore.model_validate(c, from_attributes=True) for c in score.criteria
            ],
            average=score.average,
            rubric_version=score.rubric_version,
            delivery=pending.delivery,
        )
        self._announce_pause()

    def _may_clarify(self) -> bool:
        """At most ``MAX_CLARIFICATIONS`` clarifying questions per main question; after
        that, a question back is taken (and scored) as the answer."""
        asked = 0
        for record in reversed(self.history):
            if record.score is not None and record.score.reply == "clarification":
                asked += 1
            if record.kind == "question":
                break
        return asked < MAX_CLARIFICATIONS

    async def _clarify(
        self, record: TurnRecord, score: AnswerScore, pending: PendingAnswer
    ) -> None:
        """The reply asked about the question: it is kept unscored (its reading only), and
        the next turn answers it in a sentence and leaves the same question open. It counts
        as no follow-up."""
        assert self.state is not None
        kept = dataclasses.replace(
            record, score=dataclasses.replace(score, criteria=(), follow_up_worthy=False)
        )
        await self._save(
            kept, source=pending.source, answered_ms=pending.answered_ms, delivery=pending.delivery
        )
        after = {"turn": self.state.turn + 1, "answer": None, "deadline_ms": None}
        if self._end_requested:
            state = self._evolve(phase=Phase.reporting, **after)
        else:
            state = self._evolve(phase=Phase.asking, kind="follow_up", **after)
        self.emit(AnswerClarification, state, turn=record.index)

    def _score_context(self, record: TurnRecord) -> ScoreContext:
        """The main question's rubric and, for a follow-up, the main question as asked and
        answered (the last main turn in the history: follow-ups and clarifications come right
        after it)."""
        assert self.state is not None
        parent = None
        if record.kind != "question":
            parent = next((t for t in reversed(self.history) if t.kind == "question"), None)
        return ScoreContext(rubric=self._rubric(self.state.question_number), parent=parent)

    def _next_turn(self, answered: TurnRecord | None) -> LiveState:
        """Follow up on what was said, or move to the next question, or to the report."""
        assert self.state is not None
        state = self.state
        after = {"turn": state.turn + 1, "answer": None, "deadline_ms": None}
        if self._end_requested:
            return self._evolve(phase=Phase.reporting, **after)
        if self.notes:  # an administrator asked for this topic: it comes first
            return self._evolve(phase=Phase.asking, kind="follow_up", **after)
        if (
            answered is not None
            and answered.score is not None
            and answered.score.follow_up_worthy
            and state.follow_ups < self.deps.settings.max_follow_ups
        ):
            return self._evolve(
                phase=Phase.asking, kind="follow_up", follow_ups=state.follow_ups + 1, **after
            )
        if state.question_number < self.brief.question_count:
            pause = (state.pause_requested or self._pause_asked) and not self._resume_asked
            self._cancelled_pause = state.pause_requested and not pause
            self._pause_asked = self._resume_asked = False
            return self._evolve(
                phase=Phase.paused if pause else Phase.asking,
                kind="question",
                question_number=state.question_number + 1,
                follow_ups=0,
                pause_requested=False,
                paused_ms=now_ms() if pause else None,
                **after,
            )
        return self._evolve(phase=Phase.reporting, **after)

    # --- the end ------------------------------------------------------------------------

    async def _finish(self, status: InterviewStatus, reason: str) -> None:
        assert self.state is not None
        if self._deleted:
            await self._end_stream(status, reason)
            return
        phase = self.state.phase
        if phase in (Phase.asking, Phase.listening) and self.text:
            # The question on screen when the interview ended is part of the transcript.
            record = self._record("skipped", None)
            await self._save(record, source=None, answered_ms=None)
            self.emit(AnswerSkipped, self._evolve(phase=Phase.reporting), turn=record.index)
        elif phase is Phase.scoring and self.state.answer is not None:
            await self._score()
        report = None
        if any(t.outcome == "answered" for t in self.history):
            try:
                report = await self.interviewer.build_report(self.brief, self.history, self.plan)
                computed = overall.overall(overall.question_results(_results(self.history)))
                if computed is not None:  # the same rule whichever interviewer wrote it
                    report = dataclasses.replace(report, overall_score=computed)
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
            rubrics=self.plan,
        )
        if report is not None:
            self.emit(
                ReportEvent,
                self._evolve(phase=Phase.reporting),
                overall_score=report.overall_score,
                strengths=report.strengths,
                weaknesses=report.weaknesses,
                next_steps=report.next_steps,
                rubric_version=report.rubric_version,
                provider=self.interviewer.name,
            )
        await self._end_stream(status, reason)

    async def _end_stream(self, status: InterviewStatus, reason: str) -> None:
        self._ended = True
        self.emit(
            Ended,
            self._evolve(phase=Phase.ended, status=status),
            status=status.value,
            reason=reason,
        )
        await self.events.flush()
        await self.events.expire(self.interview_id, ENDED_TTL_S)
        await self.deps.live.inbox.expire(self.interview_id, ENDED_TTL_S)
        for interviewer in {self.deps.interviewer, self.interviewer}:  # its context cache
            await interviewer.end_interview(self.interview_id)
        log.info(
            "interview ended",
            extra={"interview_id": self.interview_id, "status": status.value, "reason": reason},
        )


def _results(history: Sequence[TurnRecord]) -> list[overall.TurnResult]:
    return [
        overall.TurnResult(
            kind=t.kind,
            answered=bool(t.answer and t.answer.strip()),
            values=[c.value for c in t.score.criteria] if t.score else [],
        )
        for t in history
    ]


def initial_state(
    facts: records.InterviewFacts,
    interviewer: Interviewer,
    history: list[TurnRecord],
    unscored: records.PendingTurn | None = None,
) -> LiveState:
    """The live state of an interview about to start, or to resume from its finished turns
    (and an answer saved but not scored, which is scored first)."""
    asked = sum(1 for t in history if t.kind == "question")
    count = facts.brief.question_count
    state = LiveState(
        epoch=secrets.token_hex(6),
        owner_id=str(facts.owner_id),
        status=facts.status if facts.status is InterviewStatus.created else InterviewStatus.live,
        phase=Phase.waiting if asked < count else Phase.reporting,
        turn=len(history),
        kind="question",
        question_number=asked + 1,
        question_count=count,
        follow_ups=0,
        question_id=None,
        provider=interviewer.name,
        model=interviewer.model,
        offline=interviewer.offline,
    )
    if unscored is None:
        return state
    return dataclasses.replace(
        state,
        status=InterviewStatus.live,
        phase=Phase.scoring,
        turn=unscored.index,
        kind=unscored.kind,
        question_number=asked + (1 if unscored.kind == "question" else 0),
        # Follow-ups already asked on this question count towards the limit after a restart.
        follow_ups=_trailing_follow_ups(history) + 1 if unscored.kind == "follow_up" else 0,
        question_id=unscored.question_id,
        answer=PendingAnswer(
            unscored.answer, unscored.source, unscored.answered_ms, unscored.delivery
        ),
    )


def _trailing_follow_ups(history: Sequence[TurnRecord]) -> int:
    """Follow-ups asked on the last main question (a turn answering a clarifying question is
    not one)."""
    group: list[TurnRecord] = []
    for record in reversed(history):
        group.insert(0, record)
        if record.kind == "question":
            break
    return sum(
        1
        for before, record in itertools.pairwise(group)
        if record.kind == "follow_up"
        and not (before.score is not None and before.score.reply == "clarification")
    )


NEUTRAL_QUESTION = (
    "Let's move on. Tell me about a piece of work you are proud of: what was your own part in "
    "it, and what would you do differently today?"
)
NEUTRAL_FOLLOW_UP = "Could you take that a little further, with a concrete example of your own?"


def _neutral_question(request: TurnRequest, blocked: TurnBlocked) -> str:
    """What to ask when the interviewer would not: the planned main question as written, or
    a neutral question of the turn's kind."""
    if request.kind == "question":
        planned = blocked.planned_question or (request.rubric.question if request.rubric else "")
        return planned.strip() or NEUTRAL_QUESTION
    return NEUTRAL_FOLLOW_UP


def _log_failure(task: asyncio.Future[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("runner side task failed", extra={"error": repr(task.exception())})
