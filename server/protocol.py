"""The live-interview WebSocket protocol, version 1: every frame as a pydantic model.

One discriminated union per direction, imported by the gateway and the engine alike:
the engine emits these models (encoded once) and the gateway relays the bytes.
``docs/protocol.md`` is checked against this module, and the client's TypeScript types
are generated from its JSON Schema (``python -m server.protocol``).
"""

from __future__ import annotations

import json
import sys
import typing
from enum import IntEnum, StrEnum
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from server.text import NonBlankText

PROTOCOL_VERSION = 1
MAX_FRAME_BYTES = 16 * 1024
MAX_ANSWER_CHARS = 8_000
CONTROL: Final = 0  # seq of connection frames (ready, pong, resync, errors about a client frame)
# Bounds on numbers a client sends: the largest integer a browser's JSON keeps exactly.
MAX_SEQ = 2**53 - 1
MAX_TURN = 10_000

TurnKind = Literal["question", "follow_up"]
AnswerSource = Literal["typed", "voice"]

# Voice answers: 16-bit little-endian PCM, 16 kHz, mono, sent as binary frames of
# CHUNK_HEADER_BYTES (the chunk's index, unsigned 32-bit big-endian) + whole samples.
AUDIO_FORMAT: Final = "pcm_s16le"
AUDIO_SAMPLE_RATE: Final = 16_000
AUDIO_BYTES_PER_SECOND: Final = AUDIO_SAMPLE_RATE * 2
CHUNK_HEADER_BYTES: Final = 4
MAX_CHUNK_AUDIO_BYTES: Final = MAX_FRAME_BYTES - CHUNK_HEADER_BYTES
MAX_CHUNKS: Final = 100_000
UploadId = Annotated[
    str,
    Field(
        pattern=r"^[A-Za-z0-9_-]{8,64}$",
        description="Chosen by the client (8-64 of A-Z a-z 0-9 _ -), unique per recording.",
    ),
]


class _Frame(BaseModel):
    # Unknown fields are ignored so a newer client can talk to an older server.
    model_config = ConfigDict(
        extra="ignore", frozen=True, json_schema_serialization_defaults_required=True
    )


# --- client → server -------------------------------------------------------------


class _ClientFrame(_Frame):
    # Strict: "5" or true is not a number, 5.0 is not a turn.
    model_config = ConfigDict(strict=True)


class Hello(_ClientFrame):
    type: Literal["hello"]
    token: str = Field(min_length=1, max_length=4096, description="Access token.")
    last_seq: int = Field(
        default=0, ge=0, le=MAX_SEQ, description="Last seq received; 0 on first connect."
    )
    epoch: str | None = Field(
        default=None, max_length=64, description="Epoch of last_seq, to detect lost history."
    )


class Answer(_ClientFrame):
    type: Literal["answer"]
    text: NonBlankText = Field(
        min_length=1,
        max_length=MAX_ANSWER_CHARS,
        description="Normalised on arrival (NFC, \\n line breaks, control characters "
        "removed); refused if nothing is left.",
    )
    source: AnswerSource = "typed"
    turn: int | None = Field(
        default=None,
        ge=0,
        le=MAX_TURN,
        description="Turn being answered; refused if it is not the open one. Absent: the turn "
        "open when the interviewer receives it.",
    )
    upload_id: UploadId | None = Field(
        default=None,
        description="For a spoken answer: the recording it was transcribed from, whose "
        "delivery (pace, fillers, pauses) is kept with the answer.",
    )


class AudioStart(_ClientFrame):
    """Open (or resume) a recording of an answer; binary frames follow, then audio.end."""

    type: Literal["audio.start"]
    upload_id: UploadId
    turn: int = Field(ge=0, le=MAX_TURN, description="The turn the recording answers.")
    format: Literal["pcm_s16le"] = Field(description="16-bit signed little-endian PCM.")
    sample_rate: Literal[16000]
    channels: Literal[1] = 1


class AudioEnd(_ClientFrame):
    """The recording is complete: ``chunks`` binary frames were sent; transcribe it."""

    type: Literal["audio.end"]
    upload_id: UploadId
    chunks: int = Field(ge=1, le=MAX_CHUNKS, description="How many chunks the recording has.")


class AudioCancel(_ClientFrame):
    """Discard a recording (the candidate re-records or types instead)."""

    type: Literal["audio.cancel"]
    upload_id: UploadId


class Interrupt(_ClientFrame):
    type: Literal["interrupt"]


class Skip(_ClientFrame):
    type: Literal["skip"]
    turn: int | None = Field(default=None, ge=0, le=MAX_TURN)


class End(_ClientFrame):
    type: Literal["end"]


class Pause(_ClientFrame):
    """Take a break between questions: the next main question waits until ``resume``. Asked
    for during a question, the pause begins once that question (and its follow-ups) is
    done; no answer clock runs while paused."""

    type: Literal["pause"]


class Resume(_ClientFrame):
    """End a pause: the next question is asked. Before the pause began, it cancels it."""

    type: Literal["resume"]


class Ping(_ClientFrame):
    type: Literal["ping"]
    t: float | None = Field(
        default=None, allow_inf_nan=False, description="Echoed back in pong (a finite number)."
    )


ClientFrame = Annotated[
    Hello
    | Answer
    | Interrupt
    | Skip
    | End
    | Pause
    | Resume
    | Ping
    | AudioStart
    | AudioEnd
    | AudioCancel,
    Field(discriminator="type"),
]
client_frame_adapter: TypeAdapter[ClientFrame] = TypeAdapter(ClientFrame)

# The frames the gateway relays to the interview's engine; hello, ping and audio are the
# gateway's.
Command = Answer | Interrupt | Skip | End | Pause | Resume
AudioFrame = AudioStart | AudioEnd | AudioCancel


# --- server → client -------------------------------------------------------------


class _Event(_Frame):
    seq: int = Field(
        ge=0,
        description="Position in the interview's event log (1, 2, 3, ...); 0 on connection "
        "frames (ready, pong, resync, and errors about a client frame), which are not logged.",
    )
    epoch: str = Field(description="Identity of the event log; a new epoch means a new log.")


class Phase(StrEnum):
    """Where the interview is; every logged event carries the phase it leaves it in."""

    waiting = "waiting"  # created, nobody connected yet
    asking = "asking"  # the interviewer is speaking
    listening = "listening"  # waiting for the candidate's answer
    scoring = "scoring"
    paused = "paused"  # between questions, at the candidate's request
    reporting = "reporting"
    ended = "ended"


class _Logged(_Event):
    phase: Phase = Field(description="The interview's phase once this event is applied.")


class Ready(_Event):
    type: Literal["ready"] = "ready"
    protocol: int = PROTOCOL_VERSION
    interview_id: str
    status: str
    phase: Phase
    turn: int | None = Field(description="Index of the current turn, if any.")
    kind: TurnKind | None = Field(default=None, description="Kind of the current turn.")
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
    pause_requested: bool = Field(
        default=False, description="A pause was asked for; it begins when this question is done."
    )
    head_seq: int = Field(description="Seq of the newest event in the log.")
    resumed: bool = Field(description="True when the events after last_seq follow.")


class Resync(_Event):
    type: Literal["resync"] = "resync"
    reason: Literal["epoch_changed", "history_trimmed"]
    head_seq: int
    message: str


class TurnStart(_Logged):
    """A turn begins; a turn.start for a turn already seen regenerates it: its text restarts."""

    type: Literal["turn.start"] = "turn.start"
    turn: int
    kind: TurnKind
    question_number: int
    question_count: int
    targets: list[str] = Field(
        default_factory=list,
        description="Terms of the candidate's job description or résumé this main question "
        "was chosen for (the offline interviewer); empty otherwise.",
    )


class TurnDelta(_Logged):
    type: Literal["turn.delta"] = "turn.delta"
    turn: int
    text: str = Field(description="New text to append to the turn.")


class TurnEnd(_Logged):
    type: Literal["turn.end"] = "turn.end"
    turn: int
    text: str = Field(description="The turn's full text.")
    interrupted: bool = False
    answer_deadline_ms: int = Field(description="Unix ms when the answer times out.")


class AnswerAccepted(_Logged):
    type: Literal["answer.accepted"] = "answer.accepted"
    turn: int
    text: str
    source: AnswerSource


class AnswerTimeout(_Logged):
    type: Literal["answer.timeout"] = "answer.timeout"
    turn: int


class AnswerExtended(_Logged):
    """The open answer was given more time (by an administrator)."""

    type: Literal["answer.extended"] = "answer.extended"
    turn: int
    answer_deadline_ms: int = Field(description="Unix ms when the answer now times out.")
    seconds: int = Field(description="Seconds added.")


class PauseRequested(_Logged):
    """The candidate asked for a pause; it begins once the current question is done."""

    type: Literal["pause.requested"] = "pause.requested"
    turn: int


class InterviewPaused(_Logged):
    """The interview is paused between questions (phase ``paused``) until ``resume``."""

    type: Literal["interview.paused"] = "interview.paused"
    turn: int = Field(description="The turn that will be asked on resume.")
    paused_ms: int = Field(description="Unix ms when the pause began.")


class InterviewResumed(_Logged):
    """The pause ended (or a requested pause was cancelled); the next question follows."""

    type: Literal["interview.resumed"] = "interview.resumed"
    turn: int
    paused_s: int = Field(description="Seconds this pause lasted (0: cancelled before it began).")


class AnswerSkipped(_Logged):
    type: Literal["answer.skipped"] = "answer.skipped"
    turn: int


class AnswerClarification(_Logged):
    """The reply was a clarifying question, not an answer: it is not scored; the next turn
    (a ``follow_up``) answers it and the same question stays open."""

    type: Literal["answer.clarification"] = "answer.clarification"
    turn: int


class Delivery(BaseModel):
    """How a spoken answer was delivered (typed answers have none)."""

    model_config = ConfigDict(frozen=True)
    duration_ms: int = Field(ge=0, description="Length of the recording.")
    speaking_ms: int = Field(ge=0, description="Time with speech in it.")
    words: int = Field(ge=0)
    words_per_minute: float = Field(ge=0, description="Words per minute of speaking time.")
    filler_words: int = Field(ge=0, description='Fillers such as "um", "uh", "you know".')
    fillers: dict[str, int] = Field(description="Each filler heard and how often.")
    long_pauses: int = Field(ge=0, description="Silences of 2 s or more between words.")
    longest_pause_ms: int = Field(ge=0)


class AudioAck(_Event):
    """Chunks of a recording received so far, in order: the client resends from next_chunk."""

    type: Literal["audio.ack"] = "audio.ack"
    upload_id: str
    next_chunk: int = Field(ge=0, description="Index of the first chunk not yet received.")
    received_ms: int = Field(ge=0, description="Milliseconds of audio received.")
    complete: bool = Field(description="audio.end was accepted: transcribing or transcribed.")


class TranscriptFinal(_Event):
    """The recording's transcript, for the candidate to check, edit and send as the answer."""

    type: Literal["transcript.final"] = "transcript.final"
    upload_id: str
    turn: int
    text: str = Field(description="What the recogniser heard; may be empty.")
    recognizer: str = Field(description="Which recogniser produced it.")
    rough: bool = Field(
        description="True for the embedded recogniser: the transcript may need corrections."
    )
    delivery: Delivery


class CriterionScore(BaseModel):
    criterion: str
    value: int = Field(ge=1, le=5)
    evidence: str
    suggestion: str


class ScoreEvent(_Logged):
    type: Literal["score"] = "score"
    turn: int
    criteria: list[CriterionScore]
    average: float
    rubric_version: str
    delivery: Delivery | None = Field(
        default=None, description="For a spoken answer: how it was delivered."
    )


class ReportEvent(_Logged):
    type: Literal["report"] = "report"
    overall_score: float
    strengths: list[str]
    weaknesses: list[str]
    next_steps: list[str]
    rubric_version: str
    provider: str


class InterviewerChanged(_Logged):
    type: Literal["interviewer.changed"] = "interviewer.changed"
    provider: str
    model: str
    offline: bool
    reason: str


class Ended(_Logged):
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
    audio_not_started = "audio_not_started"
    audio_format_unsupported = "audio_format_unsupported"
    audio_out_of_order = "audio_out_of_order"
    audio_incomplete = "audio_incomplete"
    audio_too_long = "audio_too_long"
    too_many_uploads = "too_many_uploads"
    upload_id_reused = "upload_id_reused"
    upload_not_found = "upload_not_found"
    transcription_failed = "transcription_failed"
    read_only = "read_only"
    going_away = "going_away"
    internal = "internal"


class ErrorEvent(_Event):
    type: Literal["error"] = "error"
    code: ErrorCode
    message: str
    retryable: bool
    phase: Phase | None = Field(
        default=None,
        description="The phase after a logged error; absent on an error about a client frame.",
    )


def error_frame(code: ErrorCode, message: str, *, retryable: bool = False) -> str:
    """An error about a client's frame or command, to that client only (seq 0), encoded."""
    return ErrorEvent(
        seq=CONTROL, epoch="", code=code, message=message, retryable=retryable
    ).model_dump_json()


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
    | AnswerClarification
    | AnswerExtended
    | PauseRequested
    | InterviewPaused
    | InterviewResumed
    | ScoreEvent
    | ReportEvent
    | InterviewerChanged
    | Ended
    | ErrorEvent
    | Pong
    | AudioAck
    | TranscriptFinal,
    Field(discriminator="type"),
]
server_frame_adapter: TypeAdapter[ServerFrame] = TypeAdapter(ServerFrame)


# --- the admin socket (/ws/admin) ------------------------------------------------------
# The admin console's live monitor and steering. Same framing as the interview socket: the
# first frame is ``hello``. An administrator watches one interview on its own socket
# (/ws/interviews/{id}, read-only), receiving its events exactly as its candidate does.

MAX_NOTE_CHARS = 500
MAX_EXTEND_S = 1800


class SteerNote(_ClientFrame):
    """A hidden note to the interviewer; it shapes the next turn, the candidate never sees it."""

    type: Literal["steer.note"]
    interview_id: str = Field(min_length=36, max_length=36)
    text: NonBlankText = Field(min_length=1, max_length=MAX_NOTE_CHARS)


class SteerExtend(_ClientFrame):
    """More time for the open answer."""

    type: Literal["steer.extend"]
    interview_id: str = Field(min_length=36, max_length=36)
    turn: int = Field(ge=0, le=MAX_TURN)
    seconds: int = Field(ge=10, le=MAX_EXTEND_S)


class SteerEnd(_ClientFrame):
    """End the interview now; the report covers what was answered."""

    type: Literal["steer.end"]
    interview_id: str = Field(min_length=36, max_length=36)


AdminClientFrame = Annotated[
    Hello | Ping | SteerNote | SteerExtend | SteerEnd,
    Field(discriminator="type"),
]
admin_client_frame_adapter: TypeAdapter[AdminClientFrame] = TypeAdapter(AdminClientFrame)
SteerCommand = SteerNote | SteerExtend | SteerEnd


class SessionSummary(BaseModel):
    """One live interview as the monitor shows it (a few updates a second at most)."""

    model_config = ConfigDict(frozen=True)
    interview_id: str
    owner_id: str
    candidate: str = Field(default="", description="The candidate's email.")
    track: str
    level: str
    phase: Phase
    question_number: int
    question_count: int
    turn: int
    connected: bool = Field(description="A candidate socket is open (on any process).")
    process: str = Field(description="The gateway process driving the interview.")
    provider: str
    model: str
    tokens_in: int
    tokens_out: int
    cost_usd: float
    last_ttft_ms: int | None = Field(description="Time to first token of the latest turn.")
    last_event_ms: int = Field(description="Unix ms of the interview's latest event.")
    started_ms: int
    seen_ms: int = Field(
        description="Unix ms when its process published this summary (again only when it"
        " changes: the process's entry in `alive` says it is still driven)."
    )


_ALIVE = (
    "Unix ms each gateway process last said it is running (every 2 s): a summary is live"
    " while its process's entry or its own `seen_ms` is under 6 s old."
)


class MonitorSnapshot(_Event):
    """The first frame after hello: every live interview."""

    type: Literal["monitor.snapshot"] = "monitor.snapshot"
    sessions: list[SessionSummary]
    alive: dict[str, int] = Field(default_factory=dict, description=_ALIVE)
    at_ms: int


class MonitorUpdate(_Event):
    """What changed: summaries to add or replace, interviews that left, processes alive."""

    type: Literal["monitor.update"] = "monitor.update"
    sessions: list[SessionSummary]
    removed: list[str]
    alive: dict[str, int] = Field(default_factory=dict, description=_ALIVE)
    at_ms: int


SteerAction = Literal["steer.note", "steer.extend", "steer.end"]


class SteerAck(_Event):
    """The interview's runner took a steering command."""

    type: Literal["steer.ack"] = "steer.ack"
    interview_id: str
    action: SteerAction
    message: str


AdminServerFrame = Annotated[
    MonitorSnapshot | MonitorUpdate | SteerAck | ErrorEvent | Pong,
    Field(discriminator="type"),
]
admin_server_frame_adapter: TypeAdapter[AdminServerFrame] = TypeAdapter(AdminServerFrame)


def _frame_types(union: object) -> frozenset[str]:
    members = typing.get_args(typing.get_args(union)[0])
    return frozenset(typing.get_args(m.model_fields["type"].annotation)[0] for m in members)


CLIENT_FRAME_TYPES = _frame_types(ClientFrame)
SERVER_FRAME_TYPES = _frame_types(ServerFrame) | _frame_types(AdminServerFrame)
ADMIN_CLIENT_FRAME_TYPES = _frame_types(AdminClientFrame)


# The standard "service restart" close code, which the gateway also sends when a socket's
# view of the interview no longer holds (its live state was lost, or its event log changed):
# the client reconnects, and its ``ready`` is followed by ``resync`` (docs/protocol.md).
SERVICE_RESTART: Final = 1012


class CloseCode(IntEnum):
    """WebSocket close codes; 4xxx are ours (what a client should do: docs/protocol.md)."""

    going_away = 1001  # server shutting down: reconnect (to another process)
    malformed_frame = 4400  # the hello frame was not valid
    not_authenticated = 4401  # no hello in time, or a missing/expired/forged token
    origin_not_allowed = 4403  # a browser page from an origin the server does not serve
    interview_not_found = 4404  # no such interview, or not yours; admin socket: not an admin
    interview_finished = 4409  # the interview has ended: read the report over REST
    frame_too_large = 4413  # a frame above MAX_FRAME_BYTES
    rate_limited = 4429  # too many frames per second
    slow_consumer = 4503  # the client did not read fast enough; reconnect and resume


def json_schema() -> dict[str, Any]:
    """The protocol as JSON Schema: committed as ``client/protocol.schema.json``."""
    return {
        "client": client_frame_adapter.json_schema(),
        # Serialization mode: every field the server always sends is required in the schema.
        "server": server_frame_adapter.json_schema(mode="serialization"),
        "limits": {
            "protocol": PROTOCOL_VERSION,
            "max_frame_bytes": MAX_FRAME_BYTES,
            "max_answer_chars": MAX_ANSWER_CHARS,
            "audio_sample_rate": AUDIO_SAMPLE_RATE,
            "audio_chunk_header_bytes": CHUNK_HEADER_BYTES,
            "max_chunk_audio_bytes": MAX_CHUNK_AUDIO_BYTES,
        },
        "close_codes": {code.name: code.value for code in CloseCode},
        "admin": {
            "client": admin_client_frame_adapter.json_schema(),
            "server": admin_server_frame_adapter.json_schema(mode="serialization"),
        },
    }


if __name__ == "__main__":
    sys.stdout.write(json.dumps(json_schema(), indent=2, sort_keys=True) + "\n")
