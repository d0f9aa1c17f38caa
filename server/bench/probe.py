"""Bench-only launcher: ``python server/bench/probe.py serve ...`` = ``interview serve`` + counters.

Nothing in the server imports this. ``interview bench --profile-starts`` starts the gateway
through this file (by path, so it also drives an older checkout's ``server`` package) with
``INTERVIEW_BENCH_PROBE=<file>`` set. It then counts, inside the gateway process:

* SQL statements (SQLAlchemy ``before_cursor_execute``, every engine), by first keyword, and
  commits / rollbacks / pool checkouts (each checkout is one pre-ping round trip);
* Redis commands packed (``pack_command``: one per command, pipelined ones included), by
  name, and sends (``send_packed_command``: one per single command or per pipeline, i.e. the
  request round trips; pub/sub messages received are not counted).

On SIGUSR1 it writes the counts as JSON to that file (via a temporary file and a rename), with
an increasing ``dump`` number so the bench can wait for a fresh one.
"""

from __future__ import annotations

import importlib
import os
import signal
import sys
import time
from collections import Counter
from typing import Any

ENV = "INTERVIEW_BENCH_PROBE"


def install(path: str) -> Counter[str]:
    import orjson
    from redis.asyncio.connection import AbstractConnection
    from sqlalchemy import event
    from sqlalchemy.engine import Engine
    from sqlalchemy.pool import Pool

    counts: Counter[str] = Counter()

    @event.listens_for(Engine, "before_cursor_execute")
    def _sql(conn: Any, cursor: Any, statement: str, *_args: Any) -> None:
        counts["sql"] += 1
        counts["sql:" + statement.lstrip().split(None, 1)[0].upper()] += 1
        counts["stmt:" + " ".join(statement.split())[:90]] += 1

    @event.listens_for(Engine, "commit")
    def _commit(conn: Any) -> None:
        counts["sql_commit"] += 1

    @event.listens_for(Engine, "rollback")
    def _rollback(conn: Any) -> None:
        counts["sql_rollback"] += 1

    @event.listens_for(Pool, "checkout")
    def _checkout(*_args: Any) -> None:
        counts["sql_checkout"] += 1

    def counting(pack: Any) -> Any:
        def pack_command(self: Any, *args: Any) -> Any:
            counts["redis_cmds"] += 1
            name = args[0] if args else b"?"
            if isinstance(name, bytes | bytearray | memoryview):
                name = bytes(name).decode(errors="replace")
            counts["redis:" + str(name).split(" ", 1)[0].upper()] += 1
            return pack(self, *args)

        return pack_command

    def counted(send: Any) -> Any:
        async def send_packed_command(self: Any, command: Any, check_health: bool = True) -> None:
            counts["redis_sends"] += 1
            await send(self, command, check_health)

        return send_packed_command

    AbstractConnection.pack_command = counting(AbstractConnection.pack_command)  # type: ignore[method-assign]
    AbstractConnection.send_packed_command = counted(AbstractConnection.send_packed_command)  # type: ignore[method-assign]
    # The live store's own connection classes override both (a checkout may lack either).
    connect = _import("server.live.connect")
    for cls, name, wrap in (
        ("_HiredisPacking", "pack_command", counting),
        ("_WriteRaceSafe", "send_packed_command", counted),
    ):
        own = getattr(connect, cls, None)
        if own is not None and name in vars(own):
            setattr(own, name, wrap(vars(own)[name]))

    dumps = 0

    def dump(_signum: int, _frame: Any) -> None:
        nonlocal dumps
        dumps += 1
        body = {"dump": dumps, "t": time.monotonic(), "pid": os.getpid(), "counts": dict(counts)}
        tmp = f"{path}.tmp"
        with open(tmp, "wb") as f:
            f.write(orjson.dumps(body))
        os.replace(tmp, path)

    signal.signal(signal.SIGUSR1, dump)
    return counts


def _import(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def main() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    # Run by path: this folder must not shadow anything (the ``server`` package comes from
    # the interpreter's own install, which may be another checkout).
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    path = os.environ.get(ENV)
    if path:
        install(path)
    from server.cli import cli

    sys.argv[0] = "interview"
    cli()


if __name__ == "__main__":
    main()
