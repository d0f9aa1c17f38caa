"""The real-Gemini half of the quality suite is opt-in: it runs only when asked for with
``-m quality``; otherwise it is skipped with the reason shown in the summary."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if "quality" in (config.getoption("markexpr") or "").replace("not quality", ""):
        return
    opt_in = pytest.mark.skip(
        reason="opt-in: the interviewer quality suite against real Gemini runs with "
        "-m quality and a GEMINI_API_KEY"
    )
    for item in items:
        if item.get_closest_marker("quality"):
            item.add_marker(opt_in)
