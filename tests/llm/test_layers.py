"""The provider layer's boundaries: the neutral interface never loads a provider's SDK."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LOADS_NO_GENAI = "assert not any(m.startswith('google.genai') for m in sys.modules)"


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    """``python -c code`` in a fresh interpreter, with the repository importable."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    "module",
    [
        "server.llm",
        "server.llm.base",
        "server.llm.offline",
        "server.llm.stub",
        "server.interview.records",
        "server.interview.usage",
    ],
)
def test_importing_the_neutral_layer_does_not_load_google_genai(module: str) -> None:
    """Call records, usage and the offline interviewer work without the Gemini SDK loaded."""
    result = run_python(f"import {module}, sys; {LOADS_NO_GENAI}")

    assert result.returncode == 0, result.stderr


def test_the_check_would_notice_google_genai() -> None:
    """The Gemini package itself does load the SDK, so the check above can fail."""
    result = run_python(f"import server.llm.gemini, sys; {LOADS_NO_GENAI}")

    assert result.returncode != 0
    assert "AssertionError" in result.stderr
