"""The offline interviewer, the embedded default: no key, no network, and its words streamed
one at a time at a configurable pace, so the experience matches a real model's stream."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Sequence

from server.llm.base import (
    PERSONAL_ROLE_FOCUS,
    TRACK_LABELS,
    AnswerScore,
    InterviewBrief,
    Interviewer,
    QuestionRubric,
    ReportDraft,
    ScoreContext,
    TurnRecord,
    TurnRequest,
    cap_coverage,
)
from server.llm.offline import focus, report, scoring
from server.llm.offline.bank import BankQuestion, FileQuestionSource, QuestionSource, rubric_of

TRANSITIONS = (
    "Thank you. Let's move on.",
    "Thanks, that's helpful. Next question.",
    "Good. Here's the next one.",
    "Thanks for walking me through that. Moving on.",
)
# After a question that got no answer, the interviewer does not thank anyone for one.
AFTER_UNANSWERED = {
    "timed_out": "We're out of time on that one, so let's move on.",
    "skipped": "No problem, let's try a different one.",
}


class OfflineInterviewer(Interviewer):
    """Never raises ``ProviderError``: it has no upstream to fail.

    Its questions come from ``questions`` (the shipped files, unless given the bank the admins
    edit), looked up per interview: each interview keeps the questions it was planned with.
    """

    name = "offline"
    model = "offline-v1"
    offline = True

    def __init__(self, *, pace_ms: int = 40, questions: QuestionSource | None = None) -> None:
        self.pace_s = pace_ms / 1000
        self.questions = questions or FileQuestionSource()

    async def plan(self, brief: InterviewBrief) -> list[QuestionRubric]:
        return [rubric_of(n, q) for n, q in enumerate(await self.questions.plan(brief), 1)]

    def turn_text(
        self,
        brief: InterviewBrief,
        history: Sequence[TurnRecord],
        turn: TurnRequest,
        question: BankQuestion | None,
    ) -> str:
        if turn.note:
            return note_follow_up(turn.note)
        if turn.kind == "follow_up":
            previous = next(
                (t for t in reversed(history) if t.answer and t.question_id == turn.question_id),
                None,
            )
            if previous is not None and previous.score is not None:
                if previous.score.reply == "clarification":
                    return clarification_text(question, turn.rubric)
                if previous.score.follow_up_focus == PERSONAL_ROLE_FOCUS:
                    return PERSONAL_ROLE_QUESTION
            if question is None or previous is None or previous.answer is None:
                return "Could you give me a concrete example of that from your own work?"
            scores = previous.score.criteria if previous.score else ()
            return scoring.follow_up_text(question, previous.answer, scores)
        body = question.text if question else "Tell me about a project you are proud of."
        if turn.is_first:
            label = TRACK_LABELS.get(brief.track, brief.track)
            plural = "question" if brief.question_count == 1 else "questions"
            return (
                f"Hello, and welcome. I'll be your interviewer for this {brief.level}-level "
                f"{label} practice interview: {brief.question_count} {plural}, one at a time. "
                f"{_leaning(brief, question)}Take your time with each answer. Let's begin. {body}"
            )
        last_outcome = history[-1].outcome if history else "answered"
        transition = (
            AFTER_UNANSWERED.get(last_outcome) or TRANSITIONS[turn.index % len(TRANSITIONS)]
        )
        return f"{transition} Question {turn.question_number} of {brief.question_count}. {body}"

    async def targets(self, brief: InterviewBrief, question_id: str | None) -> tuple[str, ...]:
        terms = focus.brief_terms(brief)
        question = await self.questions.question(brief.interview_id, question_id)
        return focus.targets(question, terms) if terms and question is not None else ()

    async def stream_turn(
        self, brief: InterviewBrief, history: Sequence[TurnRecord], turn: TurnRequest
    ) -> AsyncIterator[str]:
        question = await self.questions.question(brief.interview_id, turn.question_id)
        words = self.turn_text(brief, history, turn, question).split(" ")
        for position, word in enumerate(words):
            if position and self.pace_s:
                await asyncio.sleep(self.pace_s)
            yield word if position == len(words) - 1 else word + " "

    async def score_answer(
        self, brief: InterviewBrief, turn: TurnRecord, context: ScoreContext | None = None
    ) -> AnswerScore:
        question = await self.questions.question(
            brief.interview_id, turn.question_id
        ) or _fallback_question(brief, turn)
        answer = turn.answer or ""
        scores = scoring.score_answer(question, answer)
        reading = scoring.assess_reply(question, answer, scores)
        # Follow-ups are judged like any answer: the engine stops at the configured depth.
        worthy = reading.reply != "answer" or scoring.needs_follow_up(question, answer, scores)
        return cap_coverage(
            AnswerScore(
                criteria=tuple(scores),
                rubric_version=scoring.RUBRIC_VERSION,
                follow_up_worthy=worthy or reading.follow_up_focus == PERSONAL_ROLE_FOCUS,
                reply=reading.reply,
                incorrect_statements=reading.incorrect_statements,
                notes=reading.notes,
                follow_up_focus=reading.follow_up_focus,
            )
        )

    async def build_report(
        self,
        brief: InterviewBrief,
        history: Sequence[TurnRecord],
        rubrics: Sequence[QuestionRubric] = (),
    ) -> ReportDraft:
        # Its bank questions' points are its rubrics; the per-question parts of the report
        # (server.llm.question_report) are computed when the report is read.
        # Every turn with words counts, as the overall score counts it (a timed-out answer
        # that was scored too), and each follow-up with its main question.
        turns = [
            (
                await self.questions.question(brief.interview_id, t.question_id),
                t.answer,
                t.score.criteria if t.score else (),
            )
            for t in history
        ]
        return report.build_report(turns, track=brief.track, kinds=[t.kind for t in history])


# What an administrator's note usually starts with before its topic ("probe deeper on X").
_STEER = re.compile(
    r"^(?:please\s+)?(?:(?:probe|dig|go|drill)\s+(?:deeper|further|more)?\s*(?:on|into)|"
    r"ask(?:\s+(?:more|them|the candidate))?\s+about|focus\s+on|cover|explore|"
    r"follow\s+up\s+on)\s+",
    re.IGNORECASE,
)


def note_follow_up(note: str) -> str:
    """A follow-up on the topic of an administrator's note, in the interviewer's words (the
    note itself is never read out: "probe deeper on concurrency" asks about concurrency)."""
    topic = _STEER.sub("", note.strip()).strip().rstrip(".!?").strip() or note.strip()
    return (
        f"Before we move on, I'd like to go deeper on {topic}. Can you walk me through a "
        "concrete example from your own work, and the trade-offs you weighed?"
    )


PERSONAL_ROLE_QUESTION = (
    'You described that as "we". What did you personally do there: which part was yours, '
    "and which decision did you make yourself?"
)


def clarification_text(question: BankQuestion | None, rubric: QuestionRubric | None) -> str:
    """A one-sentence answer to a clarifying question, then the same question again."""
    text = question.text if question else rubric.question if rubric else ""
    if not text:
        return "Good question: answer it as you understand it, and state any assumption you make."
    return (
        "Good question: answer it as you understand it, stating any assumption you make. "
        f"Again: {text}"
    )


def _leaning(brief: InterviewBrief, question: BankQuestion | None) -> str:
    """A sentence saying the questions follow the job description or résumé, when they do."""
    if question is None or not focus.targets(question, focus.brief_terms(brief)):
        return ""
    if brief.job_description.strip() and brief.resume_text.strip():
        source = "the job description and résumé you shared"
    elif brief.job_description.strip():
        source = "the job description you shared"
    else:
        source = "your résumé"
    return f"I've picked questions that lean towards {source}. "


def _fallback_question(brief: InterviewBrief, turn: TurnRecord) -> BankQuestion:
    """A question record for text that is not in the bank (e.g. a follow-up after a takeover)."""
    return BankQuestion(
        id="adhoc",
        track=brief.track,
        level=brief.level,
        topics=(),
        text=turn.question,
        points=(),
        follow_up="Can you give me a specific example?",
    )
