"""The Gemini provider (google-genai): importing this package loads the SDK."""

from __future__ import annotations

from server.llm.gemini.check import CheckResult, Problem
from server.llm.gemini.prompts import repair_evidence
from server.llm.gemini.provider import RUBRIC_VERSION, GeminiInterviewer
from server.llm.gemini.transport import (
    MODEL_SETTING,
    GeminiError,
    GeminiTimeout,
    InvalidOutput,
    ModelNotFound,
)

__all__ = [
    "MODEL_SETTING",
    "RUBRIC_VERSION",
    "CheckResult",
    "GeminiError",
    "GeminiInterviewer",
    "GeminiTimeout",
    "InvalidOutput",
    "ModelNotFound",
    "Problem",
    "repair_evidence",
]
