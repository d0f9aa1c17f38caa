"""Interview records: create (spending a credit), list, read, delete; always scoped to the owner."""

from __future__ import annotations

import dataclasses
import io
import secrets
import uuid
import wave
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from server.errors import NotFound, SpendCapReached
from server.interview import records
from server.interview.schemas import (
    DeliverySummary,
    Drill,
    FollowUpScore,
    InterviewCreate,
    InterviewDetail,
    InterviewPublic,
    QuestionScore,
    ReportPublic,
    ScorePublic,
    SharedInterview,
    TurnPublic,
)
from server.llm import overall, question_report
from server.llm.base import AnswerScore, CriterionScore, QuestionRubric, TurnRecord
from server.llm.offline.bank import BankQuestion, rubric_of
from server.payments import ledger
from server.protocol import Delivery
from server.store.models import (
    AnswerAudio,
    Interview,
    InterviewPlan,
    Report,
    Score,
    Turn,
    User,
)


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


def shared(interview: Interview, rubrics: Sequence[QuestionRubric] = ()) -> SharedInterview:
    report = interview.report
    turns = _turns(interview)
    delivery = summarize([t.delivery for t in turns if t.delivery is not None])
    return SharedInterview(
        **public(
            interview, report.overall_score if report else None, delivery, _averages(turns)
        ).model_dump(),
        turns=turns,
        report=_report(interview, turns, rubrics),
        pauses=interview.pauses,
        paused_s=interview.paused_s,
    )


def detail(interview: Interview, rubrics: Sequence[QuestionRubric] = ()) -> InterviewDetail:
    return InterviewDetail(
        **shared(interview, rubrics).model_dump(),
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
            reply=(turn.assessment or {}).get("reply", "answer"),
        )
        for turn in interview.turns
    ]


async def report_rubrics(session: AsyncSession, interview: Interview) -> list[QuestionRubric]:
    """The private rubrics of a finished interview's main questions, for its report; none
    before the report exists, so nothing of them reaches the candidate during the interview.

    The rubrics stored with the interview when it was planned (questions written for it
    included); for an interview planned before they were stored, the plan's snapshot of
    its bank questions."""
    if interview.report is None:
        return []
    stored = records.rubrics_of(interview.rubrics)
    if stored:
        return list(stored)
    planned = await session.scalar(
        select(InterviewPlan.questions).where(InterviewPlan.interview_id == interview.id)
    )
    return [
        rubric_of(number, BankQuestion.from_dict(question))
        for number, question in enumerate(planned or [], start=1)
    ]


def _history(turns: list[TurnPublic]) -> list[TurnRecord]:
    return [
        TurnRecord(
            index=t.index,
            kind=t.kind.value,
            question_id=None,
            question=t.question,
            answer=t.answer,
            outcome=t.outcome.value if t.outcome else "skipped",
            score=AnswerScore(
                criteria=tuple(
                    CriterionScore(s.criterion, s.value, s.evidence, s.suggestion) for s in t.scores
                ),
                rubric_version=t.scores[0].rubric_version,
                follow_up_worthy=False,
            )
            if t.scores
            else None,
        )
        for t in turns
    ]


def _question_score(part: question_report.QuestionReport) -> QuestionScore:
    return QuestionScore(
        **dataclasses.asdict(part.result),
        question=part.question,
        outcome=part.outcome,
        follow_up_turns=[
            FollowUpScore(question=f.question, outcome=f.outcome, score=f.score)
            for f in part.follow_ups
        ],
        strong_answer=list(part.strong_answer),
        pitfalls=list(part.pitfalls),
        missed_points=list(part.missed_points),
        drills=[Drill(focus=d.focus, text=d.text) for d in part.drills],
    )


def _report(
    interview: Interview, turns: list[TurnPublic], rubrics: Sequence[QuestionRubric]
) -> ReportPublic | None:
    report = interview.report
    if report is None:
        return None
    parts = question_report.question_reports(
        _history(turns), rubrics, behavioral=interview.track == "behavioral"
    )
    return ReportPublic(
        overall_score=report.overall_score,
        overall_rule=overall.RULE,
        questions=[_question_score(part) for part in parts],
        strengths=list(report.strengths),
        weaknesses=list(report.weaknesses),
        next_steps=list(report.next_steps),
        rubric_version=report.rubric_version,
        provider=report.provider,
        created_at=report.created_at,
    )
