"""Drive a whole interview through the real gateway and engine as a simulated candidate,
then read it back as the candidate's report shows it, ready for the checklist."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from server.interview import records
from server.llm.base import QuestionRubric
from server.llm.offline.bank import BankQuestion, rubric_of
from server.store.models import Interview, InterviewPlan
from tests.quality import personas
from tests.quality.checklist import Transcript, Turn
from tests.wsclient import InterviewClient, LiveServer, new_session


@dataclass
class Played:
    persona: str
    transcript: Transcript
    detail: dict[str, Any]


async def planned_rubrics(live: LiveServer, interview_id: str) -> dict[int, QuestionRubric]:
    """The interview's planned main questions with their rubrics: as stored with the
    interview, else the plan's snapshot of its bank questions."""
    key = uuid.UUID(interview_id)
    async with live.app.state.services.sessionmaker() as db:
        stored = records.rubrics_of(
            await db.scalar(select(Interview.rubrics).where(Interview.id == key))
        )
        planned = await db.scalar(
            select(InterviewPlan.questions).where(InterviewPlan.interview_id == key)
        )
    if stored:
        return {r.number: r for r in stored}
    return {
        n: rubric_of(n, BankQuestion.from_dict(q)) for n, q in enumerate(planned or [], start=1)
    }


async def play(
    live: LiveServer, persona: str, *, question_count: int = 2, timeout_s: float = 60.0
) -> Played:
    """One whole interview answered by ``persona``; every turn answered as it ends."""
    session = await new_session(
        live.http, question_count=question_count, track="backend", level="junior"
    )
    client = InterviewClient(live.ws_url(session.interview_id), session.token)
    await client.connect()
    intents: dict[int, str] = {}
    kinds: dict[int, tuple[str, int]] = {}
    rubrics: dict[int, QuestionRubric] = {}
    try:
        while True:
            frame = await client.until("turn.start", "turn.end", "ended", timeout=timeout_s)
            if frame["type"] == "ended":
                break
            if frame["type"] == "turn.start":
                kinds[frame["turn"]] = (frame["kind"], frame["question_number"])
                continue
            kind, number = kinds[frame["turn"]]
            if number not in rubrics:
                rubrics = await planned_rubrics(live, session.interview_id)
            reply = personas.answer(persona, kind, rubrics.get(number))
            intents[frame["turn"]] = reply.intent
            await client.send({"type": "answer", "text": reply.text, "turn": frame["turn"]})
    finally:
        await client.close()
    detail = await session.detail()
    return Played(persona, transcript(detail, intents, rubrics), detail)


def transcript(
    detail: dict[str, Any], intents: dict[int, str], rubrics: dict[int, QuestionRubric]
) -> Transcript:
    """The checklist's view of a finished interview's REST detail."""
    turns = []
    number = 0
    for turn in sorted(detail["turns"], key=lambda t: t["index"]):
        if turn["kind"] == "question":
            number += 1
        turns.append(
            Turn(
                index=turn["index"],
                kind=turn["kind"],
                number=max(1, number),
                spoken=turn["question"],
                answer=turn["answer"],
                intent=intents.get(turn["index"]),
                scores={s["criterion"]: s["value"] for s in turn["scores"]},
            )
        )
    report = detail["report"]
    return Transcript(
        turns=turns,
        planned={n: r.question for n, r in rubrics.items()},
        # What the candidate's report says a strong answer covers: the rubric as shown.
        expected_points={q["number"]: q["strong_answer"] for q in report["questions"]}
        if report
        else {n: r.expected_points for n, r in rubrics.items()},
        report=report,
    )
