"""Interview records: create (spending a credit), list, read, delete; always scoped to the owner."""

from __future__ import annotations

import dataclasses
import io
import secrets
import uuid
import wave
from datetime import UTC, datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from server.errors import NotFound, SpendCapReached
from server.interview.schemas import (
    DeliverySummary,
    InterviewCreate,
    InterviewDetail,
    InterviewPublic,
    QuestionScore,
    ReportPublic,
    ScorePublic,
    SharedInterview,
    TurnPublic,
)
from server.llm import overall
from server.payments import ledger
from server.protocol import Delivery
from server.store.models import AnswerAudio, Interview, Report, Score, Turn, User


class InterviewNotFound(NotFound):
    code = "interview_not_found"

    def __init__(self) -> None:
        super().__init__("No such interview.")


async def spent_today_micro_usd(session: AsyncSession, owner_id: uuid.UUID | None) -> int:
    """Provider cost of the interviews created since midnight UTC (one user's, or everyone's)."""
    midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    query = select(func.coalesce(func.sum(Interview.cost_micro_usd), 0)).where(
        Interview.created_at >= midnight
    )
    if owner_id is not None:
        query = query.where(Interview.owner_id == owner_id)
    return int(await session.scalar(query) or 0)


async def check_spend_caps(
    session: AsyncSession, owner: User, *, per_user_usd: float, global_usd: float
) -> None:
    if per_user_usd and await spent_today_micro_usd(session, owner.id) >= per_user_usd * 1e6:
        raise SpendCapReached(
            "You have reached today's practice limit. New interviews open again after midnight UTC."
        )
    if global_usd and await spent_today_micro_usd(session, None) >= global_usd * 1e6:
        raise SpendCapReached(
            "The service has reached today's interviewer budget. New interviews open again "
            "after midnight UTC."
        )


async def create(
    session: AsyncSession, owner: User, spec: InterviewCreate, *, provider: str, model: str
) -> Interview:
    """Spend one credit and create the interview in the same transaction: both or neither."""
    interview = Interview(
        id=uuid.uuid4(),
        owner_id=owner.id,
        track=spec.track,
        level=spec.level,
        topics=spec.topics,
        job_description=spec.job_description,
        resume_text=spec.resume_text,
        question_count=spec.question_count,
        answer_time_limit_s=spec.answer_time_limit_s,
        provider=provider,
        model=model,
    )
    try:
        await ledger.spend_one(
            session, owner.id, reason="interview", external_ref=f"interview:{interview.id}"
        )
        session.add(interview)
        await session.commit()
    except BaseException:
        await session.rollback()
        raise
    return interview


async def get_owned(
    session: AsyncSession, owner_id: uuid.UUID, interview_id: uuid.UUID, *, full: bool = False
) -> Interview:
    """The interview if ``owner_id`` owns it; otherwise NotFound, so ids never leak existence."""
    query = select(Interview).where(Interview.id == interview_id, Interview.owner_id == owner_id)
    if full:
        query = query.options(
            selectinload(Interview.turns).selectinload(Turn.scores),
            selectinload(Interview.report),
        )
    interview = await session.scalar(query)
    if interview is None:
        raise InterviewNotFound()
    return interview


async def list_owned(
    session: AsyncSession, owner: User, *, limit: int, offset: int
) -> tuple[list[InterviewPublic], int]:
    total = await session.scalar(
        select(func.count()).select_from(Interview).where(Interview.owner_id == owner.id)
    )
    rows = (
        await session.execute(
            select(Interview, Report.overall_score)
            .outerjoin(Report, Report.interview_id == Interview.id)
            .where(Interview.owner_id == owner.id)
            .order_by(Interview.created_at.desc(), Interview.id.desc())
            .limit(limit)
            .offset(offset)
        )
    ).all()
    # The page's spoken answers, in one query: each interview's delivery summary.
    spoken: dict[uuid.UUID, list[Delivery]] = {}
    if rows:
        deliveries = await session.execute(
            select(Turn.interview_id, Turn.delivery).where(
                Turn.interview_id.in_([row[0].id for row in rows]), Turn.delivery.is_not(None)
            )
        )
        for interview_id, delivery in deliveries.all():
            if delivery is not None:  # a JSON null written before the column kept SQL NULLs
                spoken.setdefault(interview_id, []).append(Delivery.model_validate(delivery))
    criteria = await criterion_averages(session, [row[0].id for row in rows])
    items = [
        public(
            interview,
            score,
            summarize(spoken.get(interview.id, [])),
            criteria.get(interview.id, {}),
        )
        for interview, score in rows
    ]
    return items, int(total or 0)


async def criterion_averages(
    session: AsyncSession, interview_ids: list[uuid.UUID]
) -> dict[uuid.UUID, dict[str, float]]:
    """Each interview's mean score per criterion over its scored answers (one query)."""
    if not interview_ids:
        return {}
    rows = await session.execute(
        select(Turn.interview_id, Score.criterion, func.avg(Score.value))
        .join(Score, Score.turn_id == Turn.id)
        .where(Turn.interview_id.in_(interview_ids))
        .group_by(Turn.interview_id, Score.criterion)
    )
    found: dict[uuid.UUID, dict[str, float]] = {}
    for interview_id, criterion, average in rows.all():
        found.setdefault(interview_id, {})[criterion] = round(float(average), 2)
    return found


def summarize(deliveries: list[Delivery]) -> DeliverySummary | None:
    """The delivery of an interview's spoken answers taken together."""
    if not deliveries:
        return None
    speaking_ms = sum(d.speaking_ms for d in deliveries)
    minutes = speaking_ms / 60_000
    words = sum(d.words for d in deliveries)
    fillers = sum(d.filler_words for d in deliveries)
    return DeliverySummary(
        answers=len(deliveries),
        words_per_minute=round(words / minutes, 1) if minutes else 0.0,
        filler_words=fillers,
        fillers_per_minute=round(fillers / minutes, 2) if minutes else 0.0,
        long_pauses=sum(d.long_pauses for d in deliveries),
        speaking_ms=speaking_ms,
    )


async def delete_owned(session: AsyncSession, owner: User, interview_id: uuid.UUID) -> None:
    result = await session.execute(
        delete(Interview).where(Interview.id == interview_id, Interview.owner_id == owner.id)
    )
    if result.rowcount == 0:  # type: ignore[attr-defined]
        await session.rollback()
        raise InterviewNotFound()
    await session.commit()


async def answer_audio(
    session: AsyncSession, owner_id: uuid.UUID, interview_id: uuid.UUID, index: int
) -> bytes:
    """The last recording kept for a turn of the owner's interview, as a WAV file."""
    await get_owned(session, owner_id, interview_id)
    audio = await session.scalar(
        select(AnswerAudio)
        .where(AnswerAudio.interview_id == interview_id, AnswerAudio.turn == index)
        .order_by(AnswerAudio.created_at.desc(), AnswerAudio.id.desc())
        .limit(1)
    )
    if audio is None:
        raise NotFound("No recording is kept for this answer.")
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(audio.sample_rate)
        wav.writeframes(audio.pcm)
    return out.getvalue()


def public(
    interview: Interview,
    overall_score: float | None = None,
    delivery: DeliverySummary | None = None,
    criteria: dict[str, float] | None = None,
) -> InterviewPublic:
    return InterviewPublic(
        id=interview.id,
        track=interview.track,
        level=interview.level,
        topics=list(interview.topics),
        question_count=interview.question_count,
        answer_time_limit_s=interview.answer_time_limit_s,
        status=interview.status,
        provider=interview.provider,
        model=interview.model,
        overall_score=overall_score,
        created_at=interview.created_at,
        started_at=interview.started_at,
        finished_at=interview.finished_at,
        delivery=delivery,
        criteria=criteria or {},
    )


async def share(session: AsyncSession, owner: User, interview_id: uuid.UUID) -> str:
    """Turn the share link on (or return the one already on).

    One guarded ``UPDATE … RETURNING``, not read-then-write: an interview deleted between a
    read and a write would fail the write (``StaleDataError``) instead of answering 404.
    """
    token = await session.scalar(
        update(Interview)
        .where(Interview.id == interview_id, Interview.owner_id == owner.id)
        .values(share_token=func.coalesce(Interview.share_token, secrets.token_urlsafe(24)))
        .returning(Interview.share_token)
        .execution_options(synchronize_session=False)
    )
    if token is None:
        await session.rollback()
        raise InterviewNotFound()
    await session.commit()
    return token


async def unshare(session: AsyncSession, owner: User, interview_id: uuid.UUID) -> None:
    """Revoke the share link; a later share gets a new one. One guarded ``UPDATE`` (see share)."""
    found = await session.scalar(
        update(Interview)
        .where(Interview.id == interview_id, Interview.owner_id == owner.id)
        .values(share_token=None)
        .returning(Interview.id)
        .execution_options(synchronize_session=False)
    )
    if found is None:
        await session.rollback()
        raise InterviewNotFound()
    await session.commit()


async def get_shared(session: AsyncSession, token: str) -> Interview:
    interview = await session.scalar(
        select(Interview)
        .where(Interview.share_token == token)
        .options(
            selectinload(Interview.turns).selectinload(Turn.scores),
            selectinload(Interview.report),
        )
    )
    if interview is None:
        raise NotFound("This shared report does not exist or is no longer shared.")
    return interview


def shared(interview: Interview) -> SharedInterview:
    report = interview.report
    turns = _turns(interview)
    delivery = summarize([t.delivery for t in turns if t.delivery is not None])
    return SharedInterview(
        **public(
            interview, report.overall_score if report else None, delivery, _averages(turns)
        ).model_dump(),
        turns=turns,
        report=_report(interview, turns),
        pauses=interview.pauses,
        paused_s=interview.paused_s,
    )


def detail(interview: Interview) -> InterviewDetail:
    return InterviewDetail(
        **shared(interview).model_dump(),
        job_description=interview.job_description,
        resume_text=interview.resume_text,
        tokens_in=interview.tokens_in,
        tokens_out=interview.tokens_out,
        cost_usd=interview.cost_micro_usd / 1_000_000,
        share_token=interview.share_token,
    )


def _averages(turns: list[TurnPublic]) -> dict[str, float]:
    values: dict[str, list[int]] = {}
    for turn in turns:
        for score in turn.scores:
            values.setdefault(score.criterion, []).append(score.value)
    return {c: round(sum(v) / len(v), 2) for c, v in values.items()}


def _turns(interview: Interview) -> list[TurnPublic]:
    return [
        TurnPublic(
            index=turn.index,
            kind=turn.kind,
            question=turn.question,
            answer=turn.answer,
            answer_source=turn.answer_source,
            outcome=turn.outcome,
            asked_at=turn.asked_at,
            answered_at=turn.answered_at,
            scores=[
                ScorePublic(
                    criterion=s.criterion,
                    value=s.value,
                    evidence=s.evidence,
                    suggestion=s.suggestion,
                    rubric_version=s.rubric_version,
                )
                for s in turn.scores
            ],
            delivery=Delivery.model_validate(turn.delivery) if turn.delivery else None,
        )
        for turn in interview.turns
    ]


def _report(interview: Interview, turns: list[TurnPublic]) -> ReportPublic | None:
    report = interview.report
    results = overall.question_results(
        [
            overall.TurnResult(
                kind=t.kind,
                answered=bool(t.answer and t.answer.strip()),
                values=[s.value for s in t.scores],
            )
            for t in turns
        ]
    )
    return (
        ReportPublic(
            overall_score=report.overall_score,
            overall_rule=overall.RULE,
            questions=[QuestionScore(**dataclasses.asdict(r)) for r in results],
            strengths=list(report.strengths),
            weaknesses=list(report.weaknesses),
            next_steps=list(report.next_steps),
            rubric_version=report.rubric_version,
            provider=report.provider,
            created_at=report.created_at,
        )
        if report
        else None
    )
