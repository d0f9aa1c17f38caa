"""The Gemini interviewer: streamed turns, rubric scoring and reports.

The only retry layer for Gemini calls (the SDK's own retries stay off): one policy per call.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import TypeVar

from google.genai import types
from pydantic import BaseModel, Field, ValidationError

from server.llm.base import (
    CRITERIA,
    AnswerScore,
    CallKind,
    Criterion,
    CriterionScore,
    InterviewBrief,
    Interviewer,
    ReportDraft,
    TurnRecord,
    TurnRequest,
    UsageSink,
    cost_micro_usd,
)
from server.llm.gemini import check as operator_check
from server.llm.gemini.prompts import (
    repair_evidence,
    report_prompt,
    report_system_instruction,
    score_prompt,
    score_system_instruction,
    turn_contents,
    turn_system_instruction,
)
from server.llm.gemini.transport import (
    GeminiError,
    GeminiTimeout,
    InvalidOutput,
    UsageMeter,
    as_gemini_error,
    backoff_s,
    close_upstream,
    describe,
    error_code,
    is_retryable,
    make_client,
)
from server.llm.offline.bank import FileQuestionSource, QuestionSource

log = logging.getLogger(__name__)

RUBRIC_VERSION = "gemini-1"

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


# --- structured output schemas (their class names are sent as schema titles) -------------


class _CriterionOut(BaseModel):
    criterion: Criterion
    value: int = Field(ge=1, le=5, description="1 poor, 2 weak, 3 adequate, 4 strong, 5 excellent")
    evidence: str = Field(
        description="An exact quote copied character for character from the candidate's "
        "answer (5 to 30 words) that shows why this score was given."
    )
    suggestion: str = Field(
        description="One concrete sentence: how this answer could do better on this criterion."
    )


class _ScoreOut(BaseModel):
    criteria: list[_CriterionOut] = Field(min_length=4, max_length=4)
    follow_up_worthy: bool = Field(
        description="True if the answer leaves something specific worth probing with one "
        "follow-up question (a vague claim, a missing result, an unexplained decision)."
    )


class _ReportOut(BaseModel):
    overall_score: float = Field(ge=1.0, le=5.0)
    strengths: list[str] = Field(min_length=1, max_length=5)
    weaknesses: list[str] = Field(min_length=1, max_length=5)
    next_steps: list[str] = Field(min_length=3, max_length=3)


class _Rejected(Exception):
    """A response that parsed but must not be used."""


# --- the provider -----------------------------------------------------------------------


class GeminiInterviewer(Interviewer):
    name = "gemini"
    offline = False

    def __init__(
        self,
        *,
        api_key: str,
        model: str,
        base_url: str | None = None,
        api_version: str | None = None,
        chunk_idle_timeout_s: float = 15.0,
        first_chunk_timeout_s: float = 30.0,
        turn_deadline_s: float = 60.0,
        call_timeout_s: float = 30.0,
        max_attempts: int = 3,
        backoff_base_s: float = 0.5,
        backoff_max_s: float = 8.0,
        prices: Mapping[str, tuple[float, float]] | None = None,
        usage_sink: UsageSink | None = None,
        max_connections: int = 512,
        questions: QuestionSource | None = None,
    ) -> None:
        self.model = model
        # The main questions come from the bank (the shipped files unless given the one the
        # admins edit); the model poses each in its own words and writes the follow-ups.
        self.questions = questions or FileQuestionSource()
        self.chunk_idle_timeout_s = chunk_idle_timeout_s
        self.first_chunk_timeout_s = first_chunk_timeout_s
        self.turn_deadline_s = turn_deadline_s
        self.call_timeout_s = call_timeout_s
        self.max_attempts = max(1, max_attempts)
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self.prices: Mapping[str, tuple[float, float]] = dict(prices or {})
        self.usage_sink = usage_sink
        if self.prices and cost_micro_usd(model, 1_000_000, 0, self.prices) == 0:
            log.warning("no price for Gemini model %s: its calls are recorded at no cost", model)
        self._closed = False
        self._client = make_client(
            api_key=api_key,
            base_url=base_url,
            api_version=api_version,
            max_connections=max_connections,
        )

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            await self._client.aio.aclose()

    async def check(self) -> operator_check.CheckResult:
        """One tiny call with the configured key and model, and a precise diagnosis."""
        return await operator_check.check(self._client, self.model, self.call_timeout_s)

    # --- accounting -------------------------------------------------------------------

    def _emit(self, interview_id: str, meter: UsageMeter) -> None:
        if self.usage_sink is None:
            return
        try:
            self.usage_sink(interview_id, meter.record(self.model, self.prices))
        except Exception:
            log.exception("the usage sink failed", extra={"interview_id": interview_id})

    def _backoff_s(self, attempt: int, exc: BaseException) -> float:
        return backoff_s(attempt, exc, base_s=self.backoff_base_s, max_s=self.backoff_max_s)

    def _failure(
        self, exc: BaseException, what: str, attempts: int, *, mid_stream: bool = False
    ) -> GeminiError:
        return as_gemini_error(exc, what, attempts, self.model, mid_stream=mid_stream)

    # --- the interview ----------------------------------------------------------------

    async def plan(self, brief: InterviewBrief) -> list[str | None]:
        return [q.id for q in await self.questions.plan(brief)]

    async def stream_turn(
        self, brief: InterviewBrief, history: Sequence[TurnRecord], turn: TurnRequest
    ) -> AsyncIterator[str]:
        """The turn's text as Gemini streams it.

        Retries (with backoff) only until the first words are out; after that a failure
        propagates as a ``GeminiError`` with ``mid_stream=True``, so no word is ever said
        twice. Stop it by cancelling the task that iterates it: that closes the upstream
        request at once.
        """
        planned = None
        if turn.kind == "question" and turn.question_id:
            planned = await self.questions.question(brief.interview_id, turn.question_id)
        contents = turn_contents(brief, history, turn, planned.text if planned else None)
        config = types.GenerateContentConfig(system_instruction=turn_system_instruction(brief))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.turn_deadline_s
        meter = UsageMeter("turn")
        spoken = False
        stream: AsyncIterator[types.GenerateContentResponse] | None = None
        try:
            while True:
                meter.attempts += 1
                attempt_started = loop.time()
                try:
                    # The request goes out on the first read, so the first wait covers it.
                    stream = aiter(
                        await self._client.aio.models.generate_content_stream(
                            model=self.model, contents=contents, config=config
                        )
                    )
                    while True:
                        if spoken:
                            limit = loop.time() + self.chunk_idle_timeout_s
                        else:
                            limit = attempt_started + self.first_chunk_timeout_s
                        try:
                            async with asyncio.timeout_at(min(limit, deadline)):
                                chunk = await anext(stream)
                        except StopAsyncIteration:
                            break
                        except TimeoutError as exc:
                            raise self._timeout(loop.time() >= deadline, spoken) from exc
                        if chunk.usage_metadata is not None:
                            meter.pending = chunk.usage_metadata
                        text = _chunk_text(chunk)
                        if text:
                            if not spoken:
                                spoken = True
                                meter.first_text = time.perf_counter()
                            yield text
                    meter.commit()
                    break
                except Exception as exc:
                    meter.commit()
                    if spoken or not is_retryable(exc) or meter.attempts >= self.max_attempts:
                        raise self._failure(exc, "turn", meter.attempts, mid_stream=spoken) from exc
                    wait = self._backoff_s(meter.attempts, exc)
                    if loop.time() + wait >= deadline:
                        raise self._failure(exc, "turn", meter.attempts) from exc
                    log.info(
                        "retrying a Gemini turn",
                        extra={"interview_id": brief.interview_id, "error": describe(exc)},
                    )
                    await asyncio.sleep(wait)
            if not spoken:
                raise GeminiError("Gemini returned no text for the turn", "empty")
            meter.outcome = "ok"
        except GeneratorExit:
            # Closed by the consumer (break + aclose, or garbage collection) mid-stream.
            meter.outcome = "cancelled"
            if stream is not None:
                await close_upstream(stream)
            raise
        except asyncio.CancelledError:
            meter.outcome = "cancelled"
            raise
        except Exception as exc:
            meter.error_code = error_code(exc)
            raise
        finally:
            meter.commit()  # a cancelled stream still used what it reported so far
            self._emit(brief.interview_id, meter)

    def _timeout(self, past_deadline: bool, spoken: bool) -> GeminiTimeout:
        if past_deadline:
            return GeminiTimeout(
                f"the Gemini turn passed its {self.turn_deadline_s:g}s deadline",
                "deadline",
                mid_stream=spoken,
            )
        if spoken:
            return GeminiTimeout(
                f"Gemini sent nothing for {self.chunk_idle_timeout_s:g}s mid-turn",
                "idle_timeout",
                mid_stream=True,
            )
        return GeminiTimeout(
            f"Gemini sent no first chunk within {self.first_chunk_timeout_s:g}s", "timeout"
        )

    async def score_answer(self, brief: InterviewBrief, turn: TurnRecord) -> AnswerScore:
        answer = turn.answer or ""

        def accept(response: types.GenerateContentResponse) -> AnswerScore:
            out = _parsed(response, _ScoreOut)
            names = [c.criterion for c in out.criteria]
            if sorted(names) != sorted(CRITERIA):
                raise _Rejected(f"criteria {names}, expected each of {list(CRITERIA)} once")
            by_name: dict[str, _CriterionOut] = {c.criterion: c for c in out.criteria}
            criteria = tuple(
                CriterionScore(
                    criterion=name,
                    value=by_name[name].value,
                    evidence=repair_evidence(by_name[name].evidence, answer),
                    suggestion=by_name[name].suggestion.strip(),
                )
                for name in CRITERIA
            )
            return AnswerScore(
                criteria=criteria,
                rubric_version=RUBRIC_VERSION,
                follow_up_worthy=turn.kind == "question" and out.follow_up_worthy,
            )

        return await self._structured(
            "score",
            brief.interview_id,
            score_prompt(brief, turn),
            types.GenerateContentConfig(
                system_instruction=score_system_instruction(),
                response_mime_type="application/json",
                response_schema=_ScoreOut,
            ),
            accept,
        )

    async def build_report(
        self, brief: InterviewBrief, history: Sequence[TurnRecord]
    ) -> ReportDraft:
        def accept(response: types.GenerateContentResponse) -> ReportDraft:
            out = _parsed(response, _ReportOut)
            lists = [
                [item.strip() for item in items]
                for items in (out.strengths, out.weaknesses, out.next_steps)
            ]
            if not all(all(lists[i]) for i in range(3)):
                raise _Rejected("an empty strength, weakness or next step")
            return ReportDraft(
                overall_score=round(out.overall_score, 1),
                strengths=lists[0],
                weaknesses=lists[1],
                next_steps=lists[2],
                rubric_version=RUBRIC_VERSION,
            )

        return await self._structured(
            "report",
            brief.interview_id,
            report_prompt(brief, history),
            types.GenerateContentConfig(
                system_instruction=report_system_instruction(),
                response_mime_type="application/json",
                response_schema=_ReportOut,
            ),
            accept,
        )

    async def _structured(
        self,
        kind: CallKind,
        interview_id: str,
        contents: str | list[types.Content],
        config: types.GenerateContentConfig | None,
        accept: Callable[[types.GenerateContentResponse], T],
    ) -> T:
        """One request/response call: retried on transient errors and on rejected output,
        ``max_attempts`` requests in all."""
        meter = UsageMeter(kind)
        try:
            while True:
                meter.attempts += 1
                try:
                    async with asyncio.timeout(self.call_timeout_s):
                        response = await self._client.aio.models.generate_content(
                            model=self.model, contents=contents, config=config
                        )
                except Exception as exc:
                    if not is_retryable(exc) or meter.attempts >= self.max_attempts:
                        raise self._failure(exc, kind, meter.attempts) from exc
                    await asyncio.sleep(self._backoff_s(meter.attempts, exc))
                    continue
                meter.add(response.usage_metadata)
                try:
                    result = accept(response)
                except _Rejected as problem:
                    log.warning(
                        "Gemini returned unusable output",
                        extra={"interview_id": interview_id, "kind": kind, "error": str(problem)},
                    )
                    if meter.attempts >= self.max_attempts:
                        raise InvalidOutput(
                            f"Gemini {kind} output was rejected {meter.attempts} times; "
                            f"last: {problem}"
                        ) from problem
                    continue
                meter.outcome = "ok"
                return result
        except asyncio.CancelledError:
            meter.outcome = "cancelled"
            raise
        except Exception as exc:
            meter.error_code = error_code(exc)
            raise
        finally:
            self._emit(interview_id, meter)


def _chunk_text(chunk: types.GenerateContentResponse) -> str:
    """The answer text of a chunk: no thoughts, and no SDK warning about other parts."""
    if not chunk.candidates:
        return ""
    content = chunk.candidates[0].content
    if content is None or not content.parts:
        return ""
    return "".join(p.text for p in content.parts if p.text and not p.thought)


def _parsed(response: types.GenerateContentResponse, schema: type[M]) -> M:
    """The response as ``schema``; the SDK's ``.parsed`` is silently None on a mismatch."""
    parsed = response.parsed
    if isinstance(parsed, schema):
        return parsed
    try:
        schema.model_validate_json(response.text or "")
    except ValidationError as exc:
        raise _Rejected(f"output does not match the schema: {exc.errors()[:3]}") from exc
    raise _Rejected("the SDK could not parse the output")
