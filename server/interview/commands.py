"""Commands for an interview's runner: what a candidate sent, plus the service's own."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from server.protocol import Answer, End, Interrupt, Pause, Resume, Skip


class DeleteInterview(BaseModel):
    """The interview was deleted over REST: stop, write nothing more."""

    model_config = ConfigDict(frozen=True)
    type: Literal["delete"] = "delete"


class NoteToInterviewer(BaseModel):
    """An administrator's hidden note (saved as ``note_id``): it shapes the next turn."""

    model_config = ConfigDict(frozen=True)
    type: Literal["admin.note"] = "admin.note"
    note_id: int
    text: str


class ExtendAnswer(BaseModel):
    """An administrator gives the open answer more time."""

    model_config = ConfigDict(frozen=True)
    type: Literal["admin.extend"] = "admin.extend"
    turn: int
    seconds: int


class EndByAdmin(BaseModel):
    """An administrator ends the interview; the report covers what was answered."""

    model_config = ConfigDict(frozen=True)
    type: Literal["admin.end"] = "admin.end"


AdminCommand = NoteToInterviewer | ExtendAnswer | EndByAdmin

RunnerCommand = Annotated[
    Answer
    | Interrupt
    | Skip
    | End
    | Pause
    | Resume
    | DeleteInterview
    | NoteToInterviewer
    | ExtendAnswer
    | EndByAdmin,
    Field(discriminator="type"),
]


class Envelope(BaseModel):
    """A command on its way to the runner, wherever it lives; ``origin`` gets any refusal."""

    model_config = ConfigDict(frozen=True)
    command: RunnerCommand
    origin: str = Field(default="", description="Connection id of the sender; empty: nobody.")

    def encode(self) -> str:
        return self.model_dump_json()

    @staticmethod
    def decode(encoded: str) -> Envelope:
        return _envelope.validate_json(encoded)


_envelope: TypeAdapter[Envelope] = TypeAdapter(Envelope)
