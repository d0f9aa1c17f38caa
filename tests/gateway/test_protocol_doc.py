"""docs/protocol.md stays true to the protocol module."""

from __future__ import annotations

import typing
from pathlib import Path

from pydantic import BaseModel

from server import protocol

DOC = (Path(__file__).resolve().parents[2] / "docs" / "protocol.md").read_text()


def _frame_models(union: object) -> list[type[BaseModel]]:
    members = typing.get_args(typing.get_args(union)[0])
    return [m for m in members if isinstance(m, type) and issubclass(m, BaseModel)]


def test_every_frame_type_and_field_is_documented() -> None:
    unions = (
        protocol.ClientFrame,
        protocol.ServerFrame,
        protocol.AdminClientFrame,
        protocol.AdminServerFrame,
    )
    for union in unions:
        for model in _frame_models(union):
            (frame_type,) = typing.get_args(model.model_fields["type"].annotation)
            assert f"`{frame_type}`" in DOC, frame_type
            for field in model.model_fields:
                assert f"`{field}`" in DOC, f"{frame_type}.{field}"


def test_every_field_of_a_session_summary_is_documented() -> None:
    for field in protocol.SessionSummary.model_fields:
        assert f"`{field}`" in DOC, field


def test_every_error_and_close_code_is_documented() -> None:
    for code in protocol.ErrorCode:
        assert f"| `{code.value}` |" in DOC, code
    for close in protocol.CloseCode:
        assert f"| {close.value} | `{close.name}` |" in DOC, close


def test_the_documented_version_is_the_served_one() -> None:
    assert DOC.startswith(f"# Live interview protocol, version {protocol.PROTOCOL_VERSION}")
