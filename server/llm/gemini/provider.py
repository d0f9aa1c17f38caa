"""The Gemini interviewer: streamed turns, rubric scoring and reports.

The only retry layer for Gemini calls (the SDK's own retries stay off): one policy per call.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import TypeVar

from google.genai import errors, types
from pydantic import BaseModel, Field, ValidationError

from server.llm import overall
from server.llm.base import (
    CRITERIA,
    PERSONAL_ROLE_FOCUS,
    AnswerScore,
    CallKind,
    Criterion,
    CriterionScore,
    InterviewBrief,
    Interviewer,
    Prices,
    ProviderError,
    QuestionRubric,
    ReplyKind,
    ReportDraft,
    ScoreContext,
    TurnRecord,
    TurnRequest,
    UsageSink,
    cap_coverage,
    cost_micro_usd,
    says_we_not_i,
)
from server.llm.gemini import check as operator_check
from server.llm.gemini.caching import PrefixCache
from server.llm.gemini.prompts import (
    RECENT_TURNS,
    plan_prompt,
    plan_system_instruction,
    repair_evidence,
    report_prompt,
    report_system_instruction,
    score_prompt,
    score_system_instruction,
    turn_contents,
    turn_system_instruction,
)
from server.llm.gemini.transport import (
    MODEL_DEFAULTS,
    CallTuning,
    GeminiBlocked,
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
from server.llm.offline.bank import FileQuestionSource, QuestionSource, rubric_of

log = logging.getLogger(__name__)

RUBRIC_VERSION = "gemini-2"  # anchored levels, rubric per question, correctness

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


# --- structured output schemas (their class names are sent as schema titles) -------------


# Field order is the order the model writes in (the SDK sends it as ``property_ordering``):
# the reply's kind and its wrong claims first, then per criterion the evidence, a short
# rationale and only then the value, so the model reasons before it commits to a number.


class _CriterionOut(BaseModel):
    criterion: Criterion
    evidence: str = Field(
        description="An exact quote copied character for character from the candidate's "
        "answer (5 to 30 words) that shows why this score was given."
    )
    rationale: str = Field(
        description="One short sentence: which anchored level the evidence matches, and why."
    )
    value: int = Field(ge=1, le=5, description="The anchored level, 1 to 5.")
    suggestion: str = Field(
        description="One concrete sentence: how this answer could do better on this criterion."
    )


class _ScoreOut(BaseModel):
    reply: ReplyKind = Field(
        description="answer, clarification (a question about the question), dont_know, or "
        "off_topic."
    )
    incorrect_statements: list[str] = Field(
        max_length=5,
        description="Every factually or technically wrong claim in the answer; empty if none.",
    )
    criteria: list[_CriterionOut] = Field(min_length=4, max_length=4)
    notes: str = Field(description="Private notes for the interviewer, two sentences at most.")
    follow_up_focus: str = Field(
        description="The one thing a follow-up should probe (a vague claim, a missing result, "
        "a wrong statement, or what the candidate personally did); empty if nothing."
    )
    follow_up_worthy: bool = Field(
        description="True if the answer leaves something specific worth probing with one "
        "follow-up question (a vague claim, a missing result, an unexplained decision)."
    )


class _PlannedQuestionOut(BaseModel):
    question: str = Field(description="The question, as one spoken sentence or two.")
    expected_points: list[str] = Field(min_length=3, max_length=5)
    pitfalls: list[str] = Field(min_length=1, max_length=3)


class _PlanOut(BaseModel):
    questions: list[_PlannedQuestionOut] = Field(min_length=1, max_length=20)


class _ReportOut(BaseModel):
    # No overall score: numbers are computed in code (server.llm.overall), the model writes text.
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
        prices: Prices | None = None,
        usage_sink: UsageSink | None = None,
        max_connections: int = 512,
        questions: QuestionSource | None = None,
        tuning: Mapping[CallKind, CallTuning] | None = None,
        recent_turns: int = RECENT_TURNS,
        cache_min_tokens: int = 0,
        cache_ttl_s: int = 3600,
    ) -> None:
        self.model = model
        # Thinking, output limit, temperature and seed per kind of call (the model's
        # defaults for a kind not given).
        self.tuning: dict[CallKind, CallTuning] = dict(tuning or {})
        self.recent_turns = recent_turns
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
        self.prices: Prices = dict(prices or {})
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
        self.prefixes = PrefixCache(
            self._client,
            model,
            min_tokens=cache_min_tokens,
            ttl_s=cache_ttl_s,
            timeout_s=call_timeout_s,
        )

    def _tuned(self, kind: CallKind) -> CallTuning:
        return self.tuning.get(kind, MODEL_DEFAULTS)

    async def end_interview(self, interview_id: str) -> None:
        await self.prefixes.delete(interview_id)

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            self.prefixes.close()
            await self._client.aio.aclose()

    async def check(self) -> operator_check.CheckResult:
        """One tiny call with the configured key and model, and a precise diagnosis."""
        return await operator_check.check(
            self._client, self.model, self.call_timeout_s, self._tuned("check")
        )

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

    async def plan(self, brief: InterviewBrief) -> list[QuestionRubric]:
        """Bank questions with their rubrics; with a job description or résumé, one planning
        call writes questions grounded in them, each with its rubric (the bank's plan if that
        call fails: planning never stops an interview)."""
        bank = [rubric_of(n, q) for n, q in enumerate(await self.questions.plan(brief), 1)]
        if not (brief.job_description.strip() or brief.resume_text.strip()):
            return bank
        count = brief.question_count

        def accept(response: types.GenerateContentResponse) -> list[QuestionRubric]:
            out = _parsed(response, _PlanOut)
            written = [
                QuestionRubric(
                    number=n,
                    question_id=None,
                    question=q.question.strip(),
                    expected_points=tuple(p.strip() for p in q.expected_points if p.strip()),
                    pitfalls=tuple(p.strip() for p in q.pitfalls if p.strip()),
                )
                for n, q in enumerate(out.questions[:count], 1)
            ]
            if len(written) < count or not all(r.question and r.expected_points for r in written):
                raise _Rejected(f"{len(out.questions)} usable questions, expected {count}")
            return written

        try:
            return await self._structured(
                "plan",
                brief.interview_id,
                plan_prompt(brief),
                self._tuned("plan").config(
                    system_instruction=plan_system_instruction(),
                    response_mime_type="application/json",
                    response_schema=_PlanOut,
                ),
                accept,
            )
        except ProviderError as exc:
            log.warning(
                "planning failed; asking the bank's questions",
                extra={"interview_id": brief.interview_id, "error": repr(exc)},
            )
            return bank

    async def stream_turn(
        self, brief: InterviewBrief, history: Sequence[TurnRecord], turn: TurnRequest
    ) -> AsyncIterator[str]:
        """The turn's text as Gemini streams it.

        Retries (with backoff) only until the first words are out; after that a failure
        propagates as a ``GeminiError`` with ``mid_stream=True``, so no word is ever said
        twice. Stop it by cancelling the task that iterates it: that closes the upstream
        request at once.
        """
        planned: str | None = None
        if turn.kind == "question" and turn.question_id:
            bank_question = await self.questions.question(brief.interview_id, turn.question_id)
            planned = bank_question.text if bank_question else None
        if turn.kind == "question" and planned is None and turn.rubric is not None:
            planned = turn.rubric.question  # written for this interview by the planning call
        contents = turn_contents(brief, history, turn, planned, recent_turns=self.recent_turns)
        system = turn_system_instruction(brief)
        tuned = self._tuned("turn")
        cache = self.prefixes.name_for(brief.interview_id, system)
        if cache is not None:  # the API refuses a system instruction beside a cache
            config = tuned.config(cached_content=cache)
        else:
            config = tuned.config(system_instruction=system)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.turn_deadline_s
        meter = UsageMeter("turn")
        spoken = False
        rephrased = False  # a blocked or empty turn is asked for once more, in other words
        said: list[str] = []
        stream: AsyncIterator[types.GenerateContentResponse] | None = None
        try:
            while True:
                meter.attempts += 1
                attempt_started = loop.time()
                stop: str | None = None  # why the model stopped, if it said (finish or block)
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
                        stop = _stop_reason(chunk) or stop
                        text = _chunk_text(chunk)
                        if text:
                            if not spoken:
                                spoken = True
                                meter.first_text = time.perf_counter()
                            said.append(text)
                            yield text
                    meter.commit()
                except Exception as exc:
                    meter.commit()
                    if cache is not None and not spoken and _refused_cache(exc):
                        # Expired or deleted under us: send the prefix itself from now on.
                        log.info(
                            "the context cache was refused; sending the prefix uncached",
                            extra={"interview_id": brief.interview_id, "error": describe(exc)},
                        )
                        self.prefixes.invalidate(brief.interview_id)
                        cache = None
                        config = tuned.config(system_instruction=system)
                        meter.attempts -= 1  # not a failure of the call
                        continue
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
                    continue
                if spoken:
                    break
                why = stop or "no text"
                if rephrased or loop.time() >= deadline:
                    raise GeminiBlocked(
                        f"Gemini would not speak the turn ({why}), also when asked again",
                        planned_question=planned,
                    )
                rephrased = True
                log.info(
                    "a Gemini turn was blocked or empty; asking again in other words",
                    extra={"interview_id": brief.interview_id, "reason": why},
                )
                contents = [*contents, _REPHRASE]
            if stop in BLOCKED_FINISHES:
                # Stopped part-way by a filter: the engine may regenerate the turn once.
                raise GeminiError(
                    f"Gemini stopped the turn part-way ({stop})", "blocked", mid_stream=True
                )
            if stop == "MAX_TOKENS":
                # Out of output tokens: keep what was said, marked as cut if mid-sentence.
                log.warning(
                    "a Gemini turn ran out of output tokens",
                    extra={"interview_id": brief.interview_id},
                )
                if not "".join(said).rstrip().endswith(SENTENCE_ENDS):
                    yield "…"
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

    async def score_answer(
        self, brief: InterviewBrief, turn: TurnRecord, context: ScoreContext | None = None
    ) -> AnswerScore:
        answer = turn.answer or ""

        def accept(response: types.GenerateContentResponse) -> AnswerScore:
            out = _parsed(response, _ScoreOut)
            names = [c.criterion for c in out.criteria]
            if sorted(names) != sorted(CRITERIA):
                raise _Rejected(f"criteria {names}, expected each of {list(CRITERIA)} once")
            by_name: dict[str, _CriterionOut] = {c.criterion: c for c in out.criteria}
            wrong = tuple(dict.fromkeys(w.strip() for w in out.incorrect_statements if w.strip()))
            criteria = tuple(
                CriterionScore(
                    criterion=name,
                    value=by_name[name].value,
                    evidence=repair_evidence(by_name[name].evidence, answer),
                    suggestion=_naming_wrong(name, by_name[name].suggestion.strip(), wrong),
                )
                for name in CRITERIA
            )
            focus = out.follow_up_focus.strip() or None
            if focus is None and wrong:
                focus = f'the wrong claim "{wrong[0]}"'
            if out.reply == "answer" and says_we_not_i(answer) and not wrong:
                focus = PERSONAL_ROLE_FOCUS  # a rule, not left to the model
            # Follow-ups are judged like any answer: the engine stops at the configured depth.
            return cap_coverage(
                AnswerScore(
                    criteria=criteria,
                    rubric_version=RUBRIC_VERSION,
                    follow_up_worthy=out.follow_up_worthy
                    or out.reply in ("dont_know", "off_topic", "clarification")
                    or focus == PERSONAL_ROLE_FOCUS,
                    reply=out.reply,
                    incorrect_statements=wrong,
                    notes=out.notes.strip(),
                    follow_up_focus=focus,
                )
            )

        return await self._structured(
            "score",
            brief.interview_id,
            score_prompt(brief, turn, context),
            self._tuned("score").config(
                system_instruction=score_system_instruction(),
                response_mime_type="application/json",
                response_schema=_ScoreOut,
            ),
            accept,
        )

    async def build_report(
        self,
        brief: InterviewBrief,
        history: Sequence[TurnRecord],
        rubrics: Sequence[QuestionRubric] = (),
    ) -> ReportDraft:
        """The model writes the text; the overall score is computed here by the one rule
        (``server.llm.overall``), never taken from the model. Without ``rubrics`` (the ones
        stored with the interview), the bank questions' rubrics are used."""
        if not rubrics:
            rubrics = await self._bank_rubrics(brief, history)
        computed = overall.overall(
            overall.question_results(
                [
                    overall.TurnResult(
                        kind=t.kind,
                        answered=bool(t.answer and t.answer.strip()),
                        values=[c.value for c in t.score.criteria] if t.score else [],
                    )
                    for t in history
                ]
            )
        )

        def accept(response: types.GenerateContentResponse) -> ReportDraft:
            out = _parsed(response, _ReportOut)
            lists = [
                [item.strip() for item in items]
                for items in (out.strengths, out.weaknesses, out.next_steps)
            ]
            if not all(all(lists[i]) for i in range(3)):
                raise _Rejected("an empty strength, weakness or next step")
            return ReportDraft(
                overall_score=computed if computed is not None else overall.UNANSWERED,
                strengths=lists[0],
                weaknesses=lists[1],
                next_steps=lists[2],
                rubric_version=RUBRIC_VERSION,
            )

        return await self._structured(
            "report",
            brief.interview_id,
            report_prompt(brief, history, rubrics),
            self._tuned("report").config(
                system_instruction=report_system_instruction(),
                response_mime_type="application/json",
                response_schema=_ReportOut,
            ),
            accept,
        )

    async def _bank_rubrics(
        self, brief: InterviewBrief, history: Sequence[TurnRecord]
    ) -> list[QuestionRubric]:
        rubrics = []
        number = 0
        for turn in history:
            if turn.kind != "question":
                continue
            number += 1
            question = await self.questions.question(brief.interview_id, turn.question_id)
            if question is not None:
                rubrics.append(rubric_of(number, question))
        return rubrics

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


def _naming_wrong(criterion: str, suggestion: str, wrong: tuple[str, ...]) -> str:
    """The coverage feedback names every incorrect statement, whatever the model wrote."""
    if criterion != "coverage" or not wrong:
        return suggestion
    missing = [w for w in wrong if w.lower() not in suggestion.lower()]
    if not missing:
        return suggestion
    named = "; ".join(f'"{w.rstrip(".")}"' for w in missing)
    return f"{suggestion} Not correct: {named}.".strip()


# Finish and block reasons that mean a filter stopped the model (not the end of its text).
BLOCKED_FINISHES = frozenset(
    {"SAFETY", "PROHIBITED_CONTENT", "RECITATION", "OTHER", "BLOCKLIST", "SPII", "MODEL_ARMOR"}
)
SENTENCE_ENDS = (".", "?", "!", "…", '"', "”")
_REPHRASE = types.Content(
    role="user",
    parts=[
        types.Part(
            text="[Your reply to this turn was blocked or empty. Do the same task again in "
            "different, neutral and professional words, without quoting the candidate.]"
        )
    ],
)


def _stop_reason(chunk: types.GenerateContentResponse) -> str | None:
    """Why the model stopped or was stopped, if this chunk says: a prompt block reason, or
    the candidate's finish reason."""
    feedback = chunk.prompt_feedback
    if feedback is not None and feedback.block_reason is not None:
        return _name(feedback.block_reason)
    if chunk.candidates and chunk.candidates[0].finish_reason is not None:
        return _name(chunk.candidates[0].finish_reason)
    return None


def _name(reason: object) -> str:
    return str(getattr(reason, "value", reason))


def _refused_cache(exc: BaseException) -> bool:
    """A 400/403/404 naming the cached content (gone, expired, or not this model's)."""
    return (
        isinstance(exc, errors.ClientError)
        and exc.code in (400, 403, 404)
        and "cachedcontent" in f"{exc.message} {exc.status}".replace(" ", "").lower()
    )


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
