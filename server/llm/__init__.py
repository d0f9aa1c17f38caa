"""Interviewer providers: the interface, Gemini, and the offline interviewer.

Providers are imported when created: importing this package does not load the Gemini SDK.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from server.config import Settings
from server.llm.base import CallKind, Interviewer, UsageSink

if TYPE_CHECKING:
    from server.llm.gemini.transport import CallTuning
    from server.llm.offline.bank import QuestionSource

__all__ = ["UsageSink", "create_gemini", "create_interviewer", "gemini_tuning"]


def create_interviewer(
    settings: Settings,
    usage_sink: UsageSink | None = None,
    questions: QuestionSource | None = None,
) -> Interviewer:
    """The configured interviewer; ``questions`` is its question bank (default: the shipped
    files)."""
    provider = settings.provider_name
    if provider == "stub":
        from server.llm.stub import StubInterviewer

        return StubInterviewer(tokens=settings.stub_tokens, interval_ms=settings.stub_interval_ms)
    if provider == "gemini" and settings.gemini_api_key is not None:
        return create_gemini(settings, usage_sink, questions)
    from server.llm.offline import OfflineInterviewer

    return OfflineInterviewer(pace_ms=settings.offline_pace_ms, questions=questions)


def create_gemini(
    settings: Settings,
    usage_sink: UsageSink | None = None,
    questions: QuestionSource | None = None,
) -> Interviewer:
    from server.llm.gemini import GeminiInterviewer

    assert settings.gemini_api_key is not None
    return GeminiInterviewer(
        api_key=settings.gemini_api_key.get_secret_value(),
        model=settings.gemini_model,
        base_url=settings.gemini_base_url,
        api_version=settings.gemini_api_version,
        prices=dict(settings.gemini_prices),
        usage_sink=usage_sink,
        questions=questions,
        tuning=gemini_tuning(settings),
        recent_turns=settings.gemini_history_turns,
        cache_min_tokens=settings.gemini_cache_min_tokens,
        cache_ttl_s=settings.gemini_cache_ttl_s,
    )


def gemini_tuning(settings: Settings) -> dict[CallKind, CallTuning]:
    """Each kind of Gemini call as the settings tune it (``INTERVIEW_GEMINI_<KIND>_*``)."""
    from server.llm.gemini.transport import CallTuning

    s = settings
    return {
        "turn": CallTuning(
            s.gemini_turn_thinking, s.gemini_turn_max_output_tokens, s.gemini_turn_temperature
        ),
        "score": CallTuning(
            s.gemini_score_thinking,
            s.gemini_score_max_output_tokens,
            s.gemini_score_temperature,
            s.gemini_score_seed,
        ),
        "report": CallTuning(
            s.gemini_report_thinking,
            s.gemini_report_max_output_tokens,
            s.gemini_report_temperature,
        ),
        "plan": CallTuning(
            s.gemini_plan_thinking, s.gemini_plan_max_output_tokens, s.gemini_plan_temperature
        ),
        "transcribe": CallTuning(
            s.gemini_transcribe_thinking, s.gemini_transcribe_max_output_tokens
        ),
        "check": CallTuning(s.gemini_check_thinking, s.gemini_check_max_output_tokens),
    }
