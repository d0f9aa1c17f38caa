"""Interviewer providers: the interface, Gemini, and the offline interviewer.

Providers are imported when created: importing this package does not load the Gemini SDK.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from server.config import Settings
from server.llm.base import Interviewer, UsageSink

if TYPE_CHECKING:
    from server.llm.offline.bank import QuestionSource

__all__ = ["UsageSink", "create_gemini", "create_interviewer"]


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
    )
