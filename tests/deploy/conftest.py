"""The deployment tests: the AWS app's template (once, in the embedded pass: it does not depend
on the backend) and, on PostgreSQL + Redis, the proxy and the backup runbook."""

from __future__ import annotations

import os
import shutil
from typing import Any

import pytest

from tests.conftest import BACKEND

_moved_to_embedded: list[str] = []


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``backend_independent`` tests run in the embedded pass only, so CI runs them once."""
    if BACKEND != "services":
        return
    gone = [item for item in items if item.get_closest_marker("backend_independent")]
    if gone:
        config.hook.pytest_deselected(items=gone)
        items[:] = [item for item in items if item not in gone]
        _moved_to_embedded.extend(item.nodeid for item in gone)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _moved_to_embedded:
        terminalreporter.write_line(
            f"{len(_moved_to_embedded)} deployment tests do not depend on the backend and ran "
            "in the embedded pass (TEST_BACKEND=embedded), not in this one.",
            yellow=True,
        )


def require_binary(name: str, package: str) -> str:
    """The path of a program a test needs; fails in CI, skips with the reason elsewhere."""
    path = shutil.which(name) or next(
        (p for p in (f"/usr/sbin/{name}", f"/usr/bin/{name}") if os.access(p, os.X_OK)), None
    )
    if path is None:
        message = f"{name} is not installed (Debian package {package}; scripts/test.sh installs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path
