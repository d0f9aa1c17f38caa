"""What the engine reads from and writes to the database; every write is idempotent."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, cast

from pydantic import TypeAdapter
from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from server.llm.base import (
    REPLY_KINDS,
    AnswerScore,
    CallRecord,
    CriterionScore,
    InterviewBrief,
    QuestionRubric,
    ReportDraft,
    TurnRecord,
)
from server.protocol import Delivery
from server.store.models import (
    AdminNote,
    AnswerSource,
    Interview,
    InterviewStatus,
    ProviderCall,
    Report,
    Score,
    Turn,
    TurnKind,
    TurnOutcome,
)
from server.text import scrub

log = logging.getLogger(__name__)

TurnKindName = Literal["question", "follow_up"]
AnswerSourceName = Literal["typed", "voice"]

ENDED = (InterviewStatus.finished, InterviewStatus.abandoned)
MARK_LIVE_BATCH_S = 0.5  # a burst of starts is marked live in one UPDATE per this window


def ms_to_datetime(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


@dataclass(frozen=True, slots=True)
class InterviewFacts:
    """What a runner needs of the interview row: read once, never a live ORM object."""

    brief: InterviewBrief
    owner_id: uuid.UUID
    status: InterviewStatus
    answer_time_limit_s: int
    owner_email: str = ""  # for the admin monitor; known when the interview is created
    # The planned main questions with their private rubrics; empty until first planned.
    rubrics: tuple[QuestionRubric, ...] = ()

    def encode(self) -> str:
        return _facts_adapter.dump_json(self).decode()

    @staticmethod
    def decode(encoded: str) -> InterviewFacts:
        return _facts_adapter.validate_json(encoded)


_facts_adapter: TypeAdapter[InterviewFacts] = TypeAdapter(InterviewFacts)


def facts_of(interview: Interview, owner_email: str = "") -> InterviewFacts:
    return InterviewFacts(
        brief=InterviewBrief(
            interview_id=str(interview.id),
            track=interview.track.value,
            level=interview.level.value,
            topics=tuple(interview.topics),
            job_description=interview.job_description,
            resume_text=interview.resume_text,
            question_count=interview.question_count,
        ),
        owner_id=interview.owner_id,
        status=interview.status,
        answer_time_limit_s=interview.answer_time_limit_s,
        owner_email=owner_email,
        rubrics=rubrics_of(interview.rubrics),
    )


_rubrics_adapter: TypeAdapter[list[QuestionRubric]] = TypeAdapter(list[QuestionRubric])


def rubrics_of(stored: list[dict[str, Any]] | None) -> tuple[QuestionRubric, ...]:
    """The stored plan back as rubrics (none if it was never planned or cannot be read)."""
    if not stored:
        return ()
    try:
        return tuple(_rubrics_adapter.validate_python(stored))
    except ValueError as exc:
        log.warning("an unreadable stored plan was ignored", extra={"error": repr(exc)})
        return ()


async def save_rubrics(
    sessionmaker: async_sessionmaker[AsyncSession],
    interview_id: uuid.UUID,
    rubrics: Sequence[QuestionRubric],
) -> tuple[QuestionRubric, ...]:
    """Keep the interview's plan, unless it has one already: then that one is returned, so
    two runners that planned at once (a takeover race) both go on with the same rubrics."""
    data = _rubrics_adapter.dump_python(list(rubrics), mode="json")
    async with sessionmaker() as session:
        kept = await session.scalar(
            update(Interview)
            .where(Interview.id == interview_id, Interview.rubrics.is_(None))
            .values(rubrics=data)
            .returning(Interview.id)
        )
        # A new interview costs no SELECT: only the loser of a race reads the winner's plan.
        stored = (
            data
            if kept is not None
            else await session.scalar(select(Interview.rubrics).where(Interview.id == interview_id))
        )
        await session.commit()
    return rubrics_of(stored) or tuple(rubrics)


async def replace_rubrics(
    sessionmaker: async_sessionmaker[AsyncSession],
    interview_id: uuid.UUID,
    rubrics: Sequence[QuestionRubric],
) -> None:
    """Overwrite the plan (the interview moved to another interviewer mid-way)."""
    data = _rubrics_adapter.dump_python(list(rubrics), mode="json")
    async with sessionmaker() as session:
        await session.execute(
            update(Interview).where(Interview.id == interview_id).values(rubrics=data)
        )
        await session.commit()


def assessment_of(score: AnswerScore) -> dict[str, Any]:
    """What a score says beside its criteria, as stored on the turn."""
    return {
        "reply": score.reply,
        "incorrect_statements": [scrub(s) for s in score.incorrect_statements],
        "notes": scrub(score.notes),
        "follow_up_focus": scrub(score.follow_up_focus) if score.follow_up_focus else None,
        "follow_up_worthy": score.follow_up_worthy,
        "rubric_version": score.rubric_version,  # a clarification has no score rows to say it
    }


def score_of(turn: Turn) -> AnswerScore | None:
    """A stored turn's score: its criteria rows and its assessment."""
    stored = turn.assessment or {}
    reply = stored.get("reply", "answer")
    if not turn.scores and reply == "answer":
        return None
    return AnswerScore(
        criteria=tuple(
            CriterionScore(s.criterion, s.value, s.evidence, s.suggestion) for s in turn.scores
        ),
        rubric_version=turn.scores[0].rubric_version
        if turn.scores
        else str(stored.get("rubric_version") or ""),
        follow_up_worthy=bool(stored.get("follow_up_worthy", False)),
        reply=reply if reply in REPLY_KINDS else "answer",
        incorrect_statements=tuple(stored.get("incorrect_statements") or ()),
        notes=str(stored.get("notes") or ""),
        follow_up_focus=stored.get("follow_up_focus") or None,
    )


@dataclass(frozen=True, slots=True)
class PendingTurn:
    """A turn whose answer was accepted (and saved) but not yet scored."""

    index: int
    kind: TurnKindName
    question_id: str | None
    question: str
    answer: str
    source: AnswerSourceName
    answered_ms: int
    delivery: Delivery | None = None


@dataclass(frozen=True, slots=True)
class Loaded:
    facts: InterviewFacts
    history: list[TurnRecord]  # finished turns
    pending: PendingTurn | None  # the last turn, when its answer awaits its score
    notes: list[tuple[int, str]]  # administrators' notes no turn has used yet: (id, text)


async def load(
    sessionmaker: async_sessionmaker[AsyncSession], interview_id: uuid.UUID
) -> Loaded | None:
    """The interview's facts, its finished turns and an answer awaiting its score (for a
    runner taking it over)."""
    async with sessionmaker() as session:
        interview = await session.scalar(
            select(Interview)
            .where(Interview.id == interview_id)
            .options(selectinload(Interview.turns).selectinload(Turn.scores))
        )
        if interview is None:
            return None
        turns = list(interview.turns)
        pending = None
        last = turns[-1] if turns else None
        if last is not None and last.outcome is None and last.answer is not None:
            turns.pop()
            pending = PendingTurn(
                index=last.index,
                kind=last.kind.value,
                question_id=last.question_id,
                question=last.question,
                answer=last.answer,
                source=(last.answer_source or AnswerSource.typed).value,
                answered_ms=int((last.answered_at or last.asked_at).timestamp() * 1000),
                delivery=Delivery.model_validate(last.delivery) if last.delivery else None,
            )
        history = [
            TurnRecord(
                index=turn.index,
                kind=turn.kind.value,
                question_id=turn.question_id,
                question=turn.question,
                answer=turn.answer,
                outcome=(turn.outcome or TurnOutcome.skipped).value,
                score=score_of(turn),
            )
            for turn in turns
        ]
        notes = await session.execute(
            select(AdminNote.id, AdminNote.text)
            .where(AdminNote.interview_id == interview_id, AdminNote.turn.is_(None))
            .order_by(AdminNote.id)
        )
        return Loaded(facts_of(interview), history, pending, [(i, t) for i, t in notes.all()])


async def add_pause(
    sessionmaker: async_sessionmaker[AsyncSession], interview_id: uuid.UUID, seconds: int
) -> None:
    """Count a pause between questions that just ended (the report mentions them)."""
    async with sessionmaker() as session:
        await session.execute(
            update(Interview)
            .where(Interview.id == interview_id)
            .values(pauses=Interview.pauses + 1, paused_s=Interview.paused_s + seconds)
        )
        await session.commit()


async def use_notes(
    sessionmaker: async_sessionmaker[AsyncSession], note_ids: list[int], turn: int
) -> None:
    """Mark administrators' notes as used by ``turn`` (they shaped it)."""
    async with sessionmaker() as session:
        await session.execute(update(AdminNote).where(AdminNote.id.in_(note_ids)).values(turn=turn))
        await session.commit()


class LiveMarker:
    """Marks started interviews ``live`` and keeps their plans, in batches: a burst of starts
    costs one UPDATE of the statuses and one batched UPDATE of the plans.

    A plan is kept only where none is stored yet. Between a start and its batch (at most
    ``MARK_LIVE_BATCH_S``) a process that takes the interview over finds no plan and plans
    it again: the same questions from the bank, or questions written anew before any of
    them was answered in the window (a first question, at most)."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.sessionmaker = sessionmaker
        self._plans: dict[uuid.UUID, list[dict[str, Any]]] = {}
        self._task: asyncio.Task[None] | None = None

    def add(self, interview_id: uuid.UUID, rubrics: Sequence[QuestionRubric]) -> None:
        self._plans[interview_id] = _rubrics_adapter.dump_python(list(rubrics), mode="json")
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._flush(), name="mark-live")

    async def _flush(self) -> None:
        while self._plans:
            await asyncio.sleep(MARK_LIVE_BATCH_S)  # let the rest of this burst join the batch
            batch, self._plans = self._plans, {}
            table = cast(Table, Interview.__table__)  # Core: one executemany, no ORM bulk rules
            keep_plan = (
                update(table)
                .where(table.c.id == bindparam("b_id"), table.c.rubrics.is_(None))
                .values(rubrics=bindparam("b_rubrics"))
            )
            plans = [{"b_id": iid, "b_rubrics": data} for iid, data in batch.items() if data]
            try:
                async with self.sessionmaker() as session:
                    await session.execute(
                        update(Interview)
                        .where(Interview.id.in_(batch), Interview.status == InterviewStatus.created)
                        .values(status=InterviewStatus.live, started_at=datetime.now(UTC))
                    )
                    if plans:
                        await session.execute(keep_plan, plans)
                    await session.commit()
            except Exception as exc:
                log.warning("could not mark interviews live", extra={"error": repr(exc)})

    async def drain(self) -> None:
        if self._task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(self._task), timeout=5)


async def save_answer(
    sessionmaker: async_sessionmaker[AsyncSession],
    interview_id: uuid.UUID,
    turn: PendingTurn,
    *,
    asked_ms: int,
) -> None:
    """Keep an accepted answer before it is scored (the turn row, its outcome pending), so
    losing the live store cannot lose it. A pending row is overwritten: only the answer
    announced last was seen accepted."""
    async with sessionmaker() as session:
        session.add(
            Turn(
                interview_id=interview_id,
                index=turn.index,
                kind=TurnKind(turn.kind),
                question_id=turn.question_id,
                question=scrub(turn.question),
                answer=turn.answer,
                answer_source=AnswerSource(turn.source),
                outcome=None,
                asked_at=ms_to_datetime(asked_ms),
                answered_at=ms_to_datetime(turn.answered_ms),
                delivery=_json(turn.delivery),
            )
        )
        try:
            await session.commit()
        except IntegrityError:
            await session.rollback()
            # Saved already. Still pending, it is an answer never announced (its process
            # died first) or this one again: the answer being announced now is the one kept.
            await session.execute(
                update(Turn)
                .where(
                    Turn.interview_id == interview_id,
                    Turn.index == turn.index,
                    Turn.outcome.is_(None),
                )
                .values(
                    answer=turn.answer,
                    answer_source=AnswerSource(turn.source),
                    answered_at=ms_to_datetime(turn.answered_ms),
                    delivery=_json(turn.delivery),
                )
            )
            await session.commit()


async def save_turn(
    sessionmaker: async_sessionmaker[AsyncSession],
    interview_id: uuid.UUID,
    record: TurnRecord,
    *,
    source: str | None,
    asked_ms: int,
    answered_ms: int | None,
    delivery: Delivery | None = None,
) -> None:
    """Save a finished turn with its scores: insert it, or complete the row its answer was
    saved in when accepted (which holds its delivery already). A second save of a finished
    turn is a no-op."""
    async with sessionmaker() as session:
        turn = Turn(
            interview_id=interview_id,
            index=record.index,
            kind=TurnKind(record.kind),
            question_id=record.question_id,
            question=scrub(record.question),
            answer=record.answer,
            answer_source=AnswerSource(source) if source and record.answer else None,
            outcome=TurnOutcome(record.outcome),
            asked_at=ms_to_datetime(asked_ms),
            answered_at=ms_to_datetime(answered_ms) if answered_ms else None,
            delivery=_json(delivery) if record.answer else None,
            assessment=assessment_of(record.score) if record.score is not None else None,
        )
        session.add(turn)
        try:
            await session.flush()
            turn_id: int | None = turn.id
        except IntegrityError:
            await session.rollback()
            turn_id = await session.scalar(
                update(Turn)
                .where(
                    Turn.interview_id == interview_id,
                    Turn.index == record.index,
                    Turn.outcome.is_(None),
                )
                .values(
                    outcome=TurnOutcome(record.outcome),
                    answer=record.answer,
                    assessment=assessment_of(record.score) if record.score is not None else None,
                )
                .returning(Turn.id)
            )
            if turn_id is None:  # finished already (saved before a takeover)
                return
        if record.score is not None:
            session.add_all(
                Score(
                    turn_id=turn_id,
                    criterion=scrub(c.criterion),
                    value=c.value,
                    evidence=scrub(c.evidence),
                    suggestion=scrub(c.suggestion),
                    rubric_version=record.score.rubric_version,
                )
                for c in record.score.criteria
            )
        await session.commit()


async def finish(
    sessionmaker: async_sessionmaker[AsyncSession],
    interview_id: uuid.UUID,
    *,
    status: InterviewStatus,
    report: ReportDraft | None,
    provider: str,
    rubrics: Sequence[QuestionRubric] = (),
) -> None:
    """End the interview, with its report; its plan is kept too if the batched write that
    keeps it (``LiveMarker``) has not yet (an interview shorter than its batch window)."""
    values: dict[str, Any] = {"status": status, "finished_at": datetime.now(UTC)}
    if rubrics:
        plan = _rubrics_adapter.dump_python(list(rubrics), mode="json")
        values["rubrics"] = func.coalesce(
            Interview.rubrics, bindparam("plan", plan, type_=Interview.rubrics.type)
        )
    async with sessionmaker() as session:
        if report is not None:
            session.add(
                Report(
                    interview_id=interview_id,
                    overall_score=report.overall_score,
                    strengths=[scrub(x) for x in report.strengths],
                    weaknesses=[scrub(x) for x in report.weaknesses],
                    next_steps=[scrub(x) for x in report.next_steps],
                    rubric_version=report.rubric_version,
                    provider=provider,
                )
            )
            try:
                await session.flush()
            except IntegrityError:
                await session.rollback()
        await session.execute(
            update(Interview)
            .where(Interview.id == interview_id, Interview.status.not_in(ENDED))
            .values(values)
        )
        await session.commit()


async def add_usage(
    sessionmaker: async_sessionmaker[AsyncSession],
    interview_id: uuid.UUID | None,
    call: CallRecord,
    *,
    provider: str,
) -> None:
    """Keep one provider call, and roll its tokens and cost up into the interview."""
    async with sessionmaker() as session:
        session.add(
            ProviderCall(
                interview_id=interview_id,
                kind=call.kind,
                provider=provider,
                model=call.model,
                outcome=call.outcome,
                error_code=call.error_code,
                tokens_in=call.prompt_tokens,
                cached_tokens=call.cached_tokens,
                tokens_out=call.output_tokens,
                cost_micro_usd=call.cost_micro_usd,
                latency_ms=call.latency_ms,
                ttft_ms=call.ttft_ms,
                attempts=call.attempts,
            )
        )
        if interview_id is not None and (call.prompt_tokens or call.output_tokens):
            await session.execute(
                update(Interview)
                .where(Interview.id == interview_id)
                .values(
                    tokens_in=Interview.tokens_in + call.prompt_tokens,
                    tokens_out=Interview.tokens_out + call.output_tokens,
                    cost_micro_usd=Interview.cost_micro_usd + call.cost_micro_usd,
                )
            )
        await session.commit()


async def switch_provider(
    sessionmaker: async_sessionmaker[AsyncSession],
    interview_id: uuid.UUID,
    *,
    provider: str,
    model: str,
) -> None:
    """Record that the interview continues on another interviewer (kept on the row)."""
    async with sessionmaker() as session:
        await session.execute(
            update(Interview)
            .where(Interview.id == interview_id)
            .values(provider=provider, model=model)
        )
        await session.commit()


def _json(delivery: Delivery | None) -> dict[str, Any] | None:
    return delivery.model_dump(mode="json") if delivery is not None else None
