"""The offline interviewer: a curated question bank, rule-based scoring, follow-ups, reports."""

from __future__ import annotations

from server.llm.offline.bank import (
    BANK_DIR,
    LEVELS,
    TRACKS,
    BankError,
    BankPoint,
    BankQuestion,
    load_bank,
    select_questions,
)
from server.llm.offline.interviewer import OfflineInterviewer
from server.llm.offline.report import build_report
from server.llm.offline.scoring import (
    EVIDENCE_MAX_CHARS,
    RUBRIC_VERSION,
    follow_up_text,
    needs_follow_up,
    score_answer,
)

__all__ = [
    "BANK_DIR",
    "EVIDENCE_MAX_CHARS",
    "LEVELS",
    "RUBRIC_VERSION",
    "TRACKS",
    "BankError",
    "BankPoint",
    "BankQuestion",
    "OfflineInterviewer",
    "build_report",
    "follow_up_text",
    "load_bank",
    "needs_follow_up",
    "score_answer",
    "select_questions",
]
