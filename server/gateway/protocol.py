"""The live-interview WebSocket protocol, version 1: every frame as a pydantic model.

One discriminated union per direction. ``docs/protocol.md`` is written from this
module and the client's TypeScript types are checked against it.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

PROTOCOL_VERSION = 1
MAX_FRAME_BYTES = 16 * 1024
MAX_ANSWER_CHARS = 8_000


class _Frame(BaseModel):
    # Unknown fields are ignored so a newer client can talk to an older server.
    model_config = ConfigDict(extra="ignore", frozen=True)


# --- client → server -------------------------------------------------------------


class Hello(_Frame):
    type: Literal["hello"]
    token: str = Field(min_length=1, max_length=4096, description="Access token.")
    last_seq: int = Field(default=0, ge=0, description="Last seq received; 0 on first connect.")
    epoch: str | None = Field(
        default=None, max_length=64, description="Epoch of last_seq, to detect lost history."
    )


class Answer(_Frame):
    type: Literal["answer"]
    text: str = Field(min_length=1, max_length=MAX_ANSWER_CHARS)
    source: Literal["typed", "voice"] = "typed"
    turn: int | None = Field(
        default=None, ge=0, description="Turn being answered; refused if it is not the open one."
    )


class Interrupt(_Frame):
    type: Literal["interrupt"]


class Skip(_Frame):
    type: Literal["skip"]
    turn: int | None = Field(default=None, ge=0)


class End(_Frame):
    type: Literal["end"]


class Ping(_Frame):
    type: Literal["ping"]
    t: float | None = Field(default=None, description="Echoed back in pong.")


ClientFrame = Annotated[Hello | Answer | Interrupt | Skip | End | Ping, Field(discriminator="type")]
client_frame_adapter: TypeAdapter[ClientFrame] = TypeAdapter(ClientFrame)
CLIENT_FRAME_TYPES = frozenset({"hello", "answer", "interrupt", "skip", "end", "ping"})


# --- server → client -------------------------------------------------------------


class _Event(_Frame):
    seq: int = Field(
        ge=0,
        description="Position in the interview's event log (1, 2, 3, ...); 0 on connection "
        "frames (ready, pong, resync, and errors about a client frame), which are not logged.",
    )
    epoch: str = Field(description="Identity of the event log; a new epoch means a new log.")


class Phase(StrEnum):
    waiting = "waiting"  # created, nobody connected yet
    asking = "asking"  # the interviewer is speaking
    listening = "listening"  # waiting for the candidate's answer
    scoring = "scoring"
    reporting = "reporting"
    ended = "ended"


class Ready(_Event):
    type: Literal["ready"] = "ready"
    protocol: int = PROTOCOL_VERSION
    interview_id: str
    status: str
    phase: Phase
    turn: int | None = Field(description="Index of the current turn, if any.")
    kind: Literal["question", "follow_up"] | None = Field(
        default=None, description="Kind of the current turn."
    )
    text: str = Field(
        default="",
        description="The current turn's text so far, as of head_seq (for a client that resyncs).",
    )
    question_number: int = Field(description="Main questions asked so far (1-based).")
    question_count: int
    answer_deadline_ms: int | None = Field(description="Unix ms when the open answer times out.")
    provider: str
    model: str
    offline: bool = Field(description="True when the offline interviewer is in use.")
    head_seq: int = Field(description="Seq of the newest event in the log.")
    resumed: bool = Field(description="True when the events after last_seq follow.")


class Resync(_Event):
    type: Literal["resync"] = "resync"
    reason: Literal["epoch_changed", "history_trimmed"]
    head_seq: int
    message: str


class TurnStart(_Event):
    type: Literal["turn.start"] = "turn.start"
    turn: int
    kind: Literal["question", "follow_up"]
    question_number: int
    question_count: int


class TurnDelta(_Event):
    type: Literal["turn.delta"] = "turn.delta"
    turn: int
    text: str = Field(description="New text to append to the turn.")


class TurnEnd(_Event):
    type: Literal["turn.end"] = "turn.end"
    turn: int
    text: str = Field(description="The turn's full text.")
    interrupted: bool = False
    answer_deadline_ms: int = Field(description="Unix ms when the answer times out.")


class AnswerAccepted(_Event):
    type: Literal["answer.accepted"] = "answer.accepted"
    turn: int
    text: str
    source: Literal["typed", "voice"]


class AnswerTimeout(_Event):
    type: Literal["answer.timeout"] = "answer.timeout"
    turn: int


class AnswerSkipped(_Event):
    type: Literal["answer.skipped"] = "answer.skipped"
    turn: int


class CriterionScore(BaseModel):
    criterion: str
    value: int = Field(ge=1, le=5)
    evidence: str
    suggestion: str


class ScoreEvent(_Event):
    type: Literal["score"] = "score"
    turn: int
    criteria: list[CriterionScore]
    average: float
    rubric_version: str


class ReportEvent(_Event):
    type: Literal["report"] = "report"
    overall_score: float
    strengths: list[str]
    weaknesses: list[str]
    next_steps: list[str]
    rubric_version: str
    provider: str


class InterviewerChanged(_Event):
    type: Literal["interviewer.changed"] = "interviewer.changed"
    provider: str
    model: str
    offline: bool
    reason: str


class Ended(_Event):
    type: Literal["ended"] = "ended"
    status: Literal["finished", "abandoned"]
    reason: str


class ErrorCode(StrEnum):
    malformed_frame = "malformed_frame"
    unknown_type = "unknown_type"
    frame_too_large = "frame_too_large"
    answer_too_long = "answer_too_long"
    not_authenticated = "not_authenticated"
    interview_not_found = "interview_not_found"
    interview_finished = "interview_finished"
    not_listening = "not_listening"
    wrong_turn = "wrong_turn"
    rate_limited = "rate_limited"
    slow_consumer = "slow_consumer"
    provider_failed = "provider_failed"
    going_away = "going_away"
    internal = "internal"


class ErrorEvent(_Event):
    type: Literal["error"] = "error"
    code: ErrorCode
    message: str
    retryable: bool


class Pong(_Event):
    type: Literal["pong"] = "pong"
    t: float | None = None


ServerFrame = Annotated[
    Ready
    | Resync
    | TurnStart
    | TurnDelta
    | TurnEnd
    | AnswerAccepted
    | AnswerTimeout
    | AnswerSkipped
    | ScoreEvent
    | ReportEvent
    | InterviewerChanged
    | Ended
    | ErrorEvent
    | Pong,
    Field(discriminator="type"),
]
server_frame_adapter: TypeAdapter[ServerFrame] = TypeAdapter(ServerFrame)


class CloseCode(IntEnum):
    """WebSocket close codes; 4xxx are ours (what a client should do: docs/protocol.md)."""

    going_away = 1001  # server shutting down: reconnect (to another process)
    malformed_frame = 4400  # the hello frame was not valid
    not_authenticated = 4401  # no hello in time, or a missing/expired/forged token
    interview_not_found = 4404  # no such interview, or not yours
    interview_finished = 4409  # the interview has ended: read the report over REST
    frame_too_large = 4413  # a frame above MAX_FRAME_BYTES
    rate_limited = 4429  # too many frames per second
    slow_consumer = 4503  # the client did not read fast enough; reconnect and resume
