"""The shape of the code: one place builds wire frames, and imports point one way."""

from __future__ import annotations

import ast
from pathlib import Path

from server.protocol import SERVER_FRAME_TYPES

SERVER = Path(__file__).resolve().parents[1] / "server"

# package → the server packages it must never import (the arrows point the other way)
FORBIDDEN = {
    "protocol": {"server."},  # neutral: imports nothing of ours but the text rules
    "text": {"server."},  # a leaf: how typed text is cleaned, used by every edge
    "aio": {"server."},  # a leaf: stopping background tasks
    "store": {"server.gateway", "server.interview", "server.llm", "server.live", "fastapi"},
    "live": {"server.gateway", "server.interview", "server.llm", "server.store", "fastapi"},
    "llm": {"server.gateway", "server.interview", "server.live", "server.store", "fastapi"},
    "interview": {"server.gateway"},
    # Spoken answers: used by the gateway (uploads) and the engine (a transcript's delivery).
    "voice": {"server.gateway", "server.interview", "fastapi"},
}

ALLOWED_IN_PROTOCOL = {"server.protocol", "server.text"}


def _modules() -> list[tuple[str, ast.Module]]:
    return [
        (str(path.relative_to(SERVER)), ast.parse(path.read_text(), str(path)))
        for path in sorted(SERVER.rglob("*.py"))
    ]


def _imports(tree: ast.Module) -> list[str]:
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def test_imports_point_from_the_gateway_to_the_engine_to_its_parts() -> None:
    wrong = []
    for name, tree in _modules():
        package = name.split("/")[0].removesuffix(".py")
        for imported in _imports(tree):
            for forbidden in FORBIDDEN.get(package, ()):
                if imported == forbidden or imported.startswith(forbidden.rstrip(".") + "."):
                    if not (package == "protocol" and imported in ALLOWED_IN_PROTOCOL):
                        wrong.append(f"{name} imports {imported}")
    assert wrong == []


def _frame_dicts(tree: ast.Module) -> list[int]:
    """Lines where a dict literal or dict(...) call has a "type" naming a server frame."""
    lines = []
    for node in ast.walk(tree):
        pairs: list[tuple[ast.expr | None, ast.expr]] = []
        if isinstance(node, ast.Dict):
            pairs = list(zip(node.keys, node.values, strict=True))
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "dict":
            pairs = [(ast.Constant(kw.arg), kw.value) for kw in node.keywords]
        for key, value in pairs:
            if (
                isinstance(key, ast.Constant)
                and key.value == "type"
                and isinstance(value, ast.Constant)
                and value.value in SERVER_FRAME_TYPES
            ):
                lines.append(node.lineno)
    return lines


def test_only_the_protocol_module_describes_server_frames_and_nobody_builds_them_as_dicts() -> None:
    found = {name: lines for name, tree in _modules() if (lines := _frame_dicts(tree))}
    assert found == {}


def test_the_dict_detector_sees_a_hand_built_frame() -> None:
    """Guards the guard: the scan above must notice the pattern it forbids."""
    sample = ast.parse('x = {"type": "turn.delta", "seq": 1}\ny = dict(type="error", code="x")')
    assert _frame_dicts(sample) == [1, 2]
