"""Interviewer providers: the interface, Gemini, and the offline interviewer."""

from __future__ import annotations

import logging

from server.config import Settings
from server.llm.base import Interviewer


def create_interviewer(settings: Settings) -> Interviewer:
    provider = settings.provider_name
    if provider == "stub":
        from server.llm.stub import StubInterviewer

        return StubInterviewer(tokens=settings.stub_tokens, interval_ms=settings.stub_interval_ms)
    from server.llm.offline import OfflineInterviewer

    if provider == "gemini":
        # The Gemini provider is not part of this version: say so instead of pretending.
        logging.getLogger(__name__).warning(
            "a Gemini key is set but this version has no Gemini provider; "
            "interviews run on the offline interviewer"
        )

    return OfflineInterviewer(pace_ms=settings.offline_pace_ms)
