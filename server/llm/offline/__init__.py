"""The offline interviewer: a curated question bank, rule-based scoring, follow-ups, reports."""

from __future__ import annotations

from server.llm.offline.bank import (
    BANK_DIR,
    LEVELS,
    TRACKS,
    BankError,
    BankPoint,
    BankQuestion,
    FileQuestionSource,
    QuestionSource,
    load_bank,
    parse_question,
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
    "FileQuestionSource",
    "OfflineInterviewer",
    "QuestionSource",
    "build_report",
    "follow_up_text",
    "load_bank",
    "needs_follow_up",
    "parse_question",
    "score_answer",
    "select_questions",
]
