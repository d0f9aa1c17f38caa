"""What a live interview keeps in the live store: one typed model, its only way in or out."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import TypeAdapter

from server.protocol import AnswerSource, Delivery, Phase, TurnKind
from server.store.models import InterviewStatus


@dataclass(frozen=True, slots=True)
class PendingAnswer:
    """An accepted answer waiting to be scored."""

    text: str
    source: AnswerSource
    answered_ms: int
    delivery: Delivery | None = None  # how a spoken answer was delivered


@dataclass(frozen=True, slots=True)
class LiveState:
    epoch: str  # identity of the event log; a new one means the history was lost
    owner_id: str  # the candidate, so a reconnecting socket is authorised without the database
    status: InterviewStatus
    phase: Phase
    turn: int  # index of the current (or next) turn
    kind: TurnKind
    question_number: int  # 1-based main question the current turn belongs to
    question_count: int
    follow_ups: int  # follow-ups asked on the current main question
    question_id: str | None  # bank id of the current main question, if it has one
    provider: str
    model: str
    offline: bool
    asked_ms: int = 0  # when the current turn started
    deadline_ms: int | None = None  # when the open answer times out
    answer: PendingAnswer | None = None
    pause_requested: bool = False  # the candidate asked for a pause after this question
    paused_ms: int | None = None  # when the current pause began (phase paused)

    def encode(self) -> str:
        return _adapter.dump_json(self).decode()

    @staticmethod
    def decode(encoded: str) -> LiveState:
        return _adapter.validate_json(encoded)


_adapter: TypeAdapter[LiveState] = TypeAdapter(LiveState)
