"""The ``interview`` command: serve, migrate, create-admin."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
import uvicorn
from pydantic import ValidationError
from uvicorn.supervisors import Multiprocess

from server.config import ConfigError, Settings, parse_trusted_proxies
from server.gateway.server import GatewayServer, GatewayWebSocketProtocol
from server.protocol import MAX_FRAME_BYTES

cli = typer.Typer(
    help="Real-time AI mock-interview engine.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _settings() -> Settings:
    try:
        return Settings()
    except ConfigError as exc:
        typer.secho(f"Configuration error: {exc}", fg="red", err=True)
        raise typer.Exit(2) from exc
    except ValidationError as exc:
        typer.secho("Configuration error:", fg="red", err=True)
        for err in exc.errors():
            name = "INTERVIEW_" + "_".join(str(p) for p in err["loc"]).upper()
            typer.secho(f"  {name}: {err['msg']}", fg="red", err=True)
        raise typer.Exit(2) from exc


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[
        int, typer.Option(min=1, help="Worker processes (share state through Redis).")
    ] = 1,
    migrate: Annotated[
        bool | None,
        typer.Option(
            "--migrate/--no-migrate",
            help="Upgrade the database schema before serving. Default: yes on SQLite, "
            "no on PostgreSQL (run `interview migrate` as a release step there).",
        ),
    ] = None,
    forwarded_allow_ips: Annotated[
        str | None,
        typer.Option(
            help="Proxies whose X-Forwarded-For/-Proto are believed (IPs or CIDR networks, "
            'comma-separated; "" for none). Default: INTERVIEW_TRUSTED_PROXIES, which is none: '
            "the connecting peer is the client.",
        ),
    ] = None,
) -> None:
    """Run the API and WebSocket gateway with uvicorn (and the built client, if present)."""
    with _metrics_dir(workers):
        _serve(host, port, workers, migrate, forwarded_allow_ips)


def _serve(
    host: str, port: int, workers: int, migrate: bool | None, forwarded_allow_ips: str | None
) -> None:
    settings = _settings()
    if migrate if migrate is not None else settings.is_sqlite:
        _migrate(settings)
    if settings.is_sqlite and workers > 1:
        typer.secho(
            "Note: several workers on SQLite serialise on its write lock; use PostgreSQL "
            "and Redis (INTERVIEW_DATABASE_URL, INTERVIEW_REDIS_URL) for real traffic.",
            fg="yellow",
            err=True,
        )
    typer.echo(f"Serving on http://{host}:{port}  (provider: {settings.provider_name})", err=True)
    if forwarded_allow_ips is not None:
        try:
            proxies = parse_trusted_proxies(forwarded_allow_ips)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--forwarded-allow-ips") from exc
        settings = settings.model_copy(update={"trusted_proxies": proxies})
    config = uvicorn_config(settings, host=host, port=port, workers=workers)
    if workers > 1:
        # uvicorn's worker processes close sockets with 1012 on shutdown (no drain step).
        sock = config.bind_socket()
        _Workers(config, sockets=[sock]).run()
    else:
        GatewayServer(config).run()


# prometheus-client's multiprocess mode: every process writes its values to files there,
# and /metrics adds them up (server/metrics.py).
METRICS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"


@contextlib.contextmanager
def _metrics_dir(workers: int) -> Iterator[None]:
    """With several workers, the directory their metrics go to, set before any starts.

    The operator's ``PROMETHEUS_MULTIPROC_DIR`` if set (then with one worker too), else a
    fresh temporary directory, removed at the end. Emptied first: an earlier run's counters
    would add up with this one's and its live gauges would never leave. Runs before anything
    here imports prometheus_client, which picks its mode when imported.
    """
    given = os.environ.get(METRICS_DIR_ENV)
    if not given and workers == 1:
        yield
        return
    if given:
        path = Path(given)
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):
            stale.unlink(missing_ok=True)
    else:
        path = Path(tempfile.mkdtemp(prefix="interview-metrics-"))
        os.environ[METRICS_DIR_ENV] = str(path)  # the workers inherit it
    try:
        yield
    finally:
        if not given:
            os.environ.pop(METRICS_DIR_ENV, None)
            shutil.rmtree(path, ignore_errors=True)


class _Workers(Multiprocess):
    """uvicorn's supervisor of worker processes. A worker that shuts down takes its live
    gauges (open sockets, interviews) out of /metrics' sums itself; one that died without
    shutting down (killed, out of memory) has them taken out here when it is replaced."""

    def keep_subprocess_alive(self) -> None:
        before = {process.pid for process in self.processes}
        super().keep_subprocess_alive()
        gone = before - {process.pid for process in self.processes}
        if gone and os.environ.get(METRICS_DIR_ENV):
            from prometheus_client.multiprocess import mark_process_dead

            for pid in gone:
                if pid is not None:
                    mark_process_dead(pid, os.environ[METRICS_DIR_ENV])


def uvicorn_config(
    settings: Settings, *, host: str, port: int, workers: int = 1, app: Any = None
) -> uvicorn.Config:
    """The one uvicorn configuration, shared by `serve`, the tests and the benchmark."""
    config = uvicorn.Config(
        app if app is not None else "server.app:create_app",
        factory=app is None,
        host=host,
        port=port,
        workers=workers,
        ws=GatewayWebSocketProtocol,  # uvicorn's websockets-sansio with the protocol's limits
        ws_per_message_deflate=False,  # CPU and ~90 KiB per socket for little gain on tokens
        ws_max_size=MAX_FRAME_BYTES,  # answered with 4413 by the transport
        ws_ping_interval=settings.ws_ping_interval_s,
        ws_ping_timeout=settings.ws_ping_timeout_s,
        # Forwarded headers only from the configured proxies: anyone else could send them.
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=",".join(settings.trusted_proxies),
        timeout_graceful_shutdown=int(settings.shutdown_grace_s),
        access_log=False,
        log_config=None,
    )
    # Read by GatewayWebSocketProtocol (uvicorn hands every protocol its Config).
    config.gateway_send_buffer_bytes = settings.ws_send_buffer_bytes  # type: ignore[attr-defined]
    return config


def _migrate(settings: Settings, revision: str = "head") -> None:
    from server.store.migrate import upgrade

    asyncio.run(upgrade(settings.resolved_database_url, revision))
    typer.echo(f"Database schema is at {revision}.", err=True)


@cli.command()
def migrate(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Upgrade the database schema (INTERVIEW_DATABASE_URL) to the latest revision."""
    _migrate(_settings(), revision)


@cli.command("create-admin")
def create_admin(
    email: Annotated[str, typer.Argument(help="Email of the account to create or promote.")],
    password: Annotated[
        str | None,
        typer.Option(
            envvar="INTERVIEW_ADMIN_PASSWORD",
            help="Password for a NEW account (asked for if omitted; ignored when promoting).",
        ),
    ] = None,
) -> None:
    """Create an administrator account, or promote an existing account to administrator."""
    from email_validator import EmailNotValidError, validate_email

    from server.auth import service
    from server.store.db import create_engine, create_sessionmaker

    settings = _settings()
    try:
        email = validate_email(email, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        typer.secho(f"Invalid email: {exc}", fg="red", err=True)
        raise typer.Exit(2) from exc

    async def run() -> tuple[bool, bool]:
        engine = create_engine(settings.resolved_database_url)
        try:
            async with create_sessionmaker(engine)() as session:
                existing = await service.get_by_email(session, email)
                secret = password
                if existing is None and not secret:
                    if not sys.stdin.isatty():
                        raise typer.BadParameter(
                            "a new account needs --password or INTERVIEW_ADMIN_PASSWORD"
                        )
                    secret = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
                if existing is None and secret is not None and len(secret) < 8:
                    raise typer.BadParameter("the password needs at least 8 characters")
                _, created = await service.create_or_promote_admin(
                    session, email=email, password=secret
                )
                return created, existing is not None
        finally:
            await engine.dispose()

    created, _ = asyncio.run(run())
    typer.echo(f"{'Created' if created else 'Promoted'} administrator {email}.")


@cli.command()
def bench(
    target: Annotated[
        str | None,
        typer.Argument(
            help="gemini: time to first token per kind of Gemini call (configured vs the "
            "model's defaults) on the fake API with simulated thinking. subscription: the "
            "gateway's CPU per message read from its live subscription (Redis at "
            "--redis-url). Default: the load benchmark."
        ),
    ] = None,
    sessions: Annotated[
        str, typer.Option(help="Streaming interviews per run, a comma list for a sweep: 100,500.")
    ] = "100",
    idle: Annotated[
        int, typer.Option(min=0, help="Extra interviews connected but idle (after question 1).")
    ] = 0,
    processes: Annotated[
        int, typer.Option(min=1, max=2, help="Gateway processes sharing Redis (round-robin).")
    ] = 1,
    tokens: Annotated[int, typer.Option(min=1, help="Stub tokens per turn.")] = 200,
    interval_ms: Annotated[float, typer.Option(min=0, help="Ms between stub tokens.")] = 20.0,
    flush_ms: Annotated[
        int | None, typer.Option(min=0, help="INTERVIEW_STREAM_FLUSH_MS. Default: the server's.")
    ] = None,
    redis_url: Annotated[str, typer.Option(help="Redis on this machine.")] = (
        "redis://127.0.0.1:6379/0"
    ),
    database_url: Annotated[
        str | None,
        typer.Option(
            help="Default: a fresh SQLite file per run. PostgreSQL "
            "(postgresql+asyncpg://postgres@127.0.0.1:5432/DB) is the fair setup for 2 "
            "processes; the bench migrates it and deletes its account afterwards."
        ),
    ] = None,
    baseline_dir: Annotated[
        str | None,
        typer.Option(help="The bare relay baseline. Default: ../shared/perf-baseline."),
    ] = None,
    duration_cap: Annotated[
        float, typer.Option(min=5, help="Seconds per run, set-up included.")
    ] = 90.0,
    json_path: Annotated[
        str | None, typer.Option("--json", help="Append each run's results as a JSON line.")
    ] = None,
    profile_starts: Annotated[
        int,
        typer.Option(
            min=0,
            help="Instead of the load runs: start this many interviews at once and report "
            "hello→first token, starts/s, and per start the gateway's SQL statements, Redis "
            "commands and round trips, CPU µs (use with --tokens 1).",
        ),
    ] = 0,
    engine_python: Annotated[
        str | None,
        typer.Option(
            help="Interpreter that runs the gateway (e.g. another checkout's .venv/bin/python)."
        ),
    ] = None,
    recognition: Annotated[
        bool,
        typer.Option(
            "--recognition",
            help="Instead of the load runs: the embedded recogniser's real-time factor, "
            "alone and with 1, 2 and 4 transcriptions at once (INTERVIEW_VOICE_WORKERS "
            "workers; needs flite and sox).",
        ),
    ] = False,
    voice: Annotated[
        int,
        typer.Option(
            min=0,
            help="Repeat each engine run with this many spoken answers (about 10 s each) "
            "transcribed at once by the gateway's embedded recogniser while the interviews "
            "stream, and compare (needs flite and sox).",
        ),
    ] = 0,
    admins: Annotated[
        int,
        typer.Option(
            min=0,
            help="Repeat each engine run with this many admin monitors open (and one "
            "administrator watching a streaming interview), and compare.",
        ),
    ] = 0,
    repeat: Annotated[
        int,
        typer.Option(
            min=1,
            max=20,
            help="Runs per design and N, interleaved (engine, relay, engine, ...); the "
            "summary compares their medians. One run's tail on a shared machine is mostly "
            "noise.",
        ),
    ] = 1,
) -> None:
    """Load benchmark: stub-interviewer streams through the gateway vs the bare Redis relay."""
    from pathlib import Path

    if target == "gemini":
        from server.bench.gemini import GeminiBenchError, format_rows, run_gemini_bench

        settings = _settings()
        try:
            rows = run_gemini_bench(settings)
        except GeminiBenchError as exc:
            typer.secho(str(exc), fg="red", err=True)
            raise typer.Exit(1) from exc
        typer.echo(format_rows(rows, settings.gemini_model))
        return
    if target == "subscription":
        from server.bench.subscription import format_rows as subscription_rows
        from server.bench.subscription import run_subscription_bench

        typer.echo(subscription_rows(run_subscription_bench(redis_url), channels=500))
        return
    if target is not None:
        raise typer.BadParameter(f'expected "gemini", "subscription" or nothing, got {target!r}')

    if recognition:
        from server.bench.voice import RecognitionBenchError, recognition_rtf

        try:
            recognition_rtf(workers=_settings().voice_workers)
        except RecognitionBenchError as exc:
            typer.secho(str(exc), fg="red", err=True)
            raise typer.Exit(1) from exc
        return
    from server.bench.run import BenchOptions, run_bench

    try:
        counts = tuple(int(part) for part in sessions.split(",") if part.strip())
    except ValueError as exc:
        raise typer.BadParameter("a comma list of integers, e.g. 100,500") from exc
    if not counts or min(counts) < 1:
        raise typer.BadParameter("at least one positive number of sessions")
    if profile_starts:
        counts = (profile_starts,)
    options = BenchOptions(
        sessions=counts,
        idle=idle,
        processes=processes,
        tokens=tokens,
        interval_ms=interval_ms,
        flush_ms=flush_ms,
        redis_url=redis_url,
        database_url=database_url,
        baseline_dir=Path(baseline_dir) if baseline_dir else None,
        duration_cap=duration_cap,
        json_path=Path(json_path) if json_path else None,
        profile_starts=profile_starts,
        engine_python=engine_python,
        voice=voice,
        admins=admins,
        repeat=repeat,
    )
    raise typer.Exit(run_bench(options))


@cli.command()
def chaos(
    interviews: Annotated[int, typer.Option(min=1, help="Interviews running at once.")] = 50,
    seconds: Annotated[
        float,
        typer.Option(
            min=5, help="Chaos window: new interviews start, processes die, Redis restarts."
        ),
    ] = 120.0,
    processes: Annotated[int, typer.Option(min=2, max=4, help="Gateway processes.")] = 2,
    questions: Annotated[int, typer.Option(min=1, max=15, help="Questions per interview.")] = 3,
    pace_ms: Annotated[int, typer.Option(min=0, help="Offline interviewer ms per word.")] = 40,
    drop_every: Annotated[
        float, typer.Option(min=0, help="Mean seconds between a client's socket drops (0: none).")
    ] = 3.0,
    kill_every: Annotated[
        float, typer.Option(min=1, help="SIGKILL a gateway process (then restart it) this often.")
    ] = 30.0,
    redis_every: Annotated[
        float, typer.Option(min=1, help="Restart Redis (losing every live state) this often.")
    ] = 45.0,
    database_url: Annotated[
        str | None,
        typer.Option(
            help="A migrated PostgreSQL database on 127.0.0.1 (its chaos account is deleted "
            "afterwards). Default: a fresh database on --postgres, dropped afterwards."
        ),
    ] = None,
    postgres: Annotated[
        str, typer.Option(help="PostgreSQL server (admin DSN) for the fresh database.")
    ] = "postgresql://postgres@127.0.0.1:5432/postgres",
    seed: Annotated[int | None, typer.Option(help="Random seed, to repeat a run.")] = None,
    json_path: Annotated[
        str | None, typer.Option("--json", help="Append the figures as a JSON line.")
    ] = None,
) -> None:
    """Chaos run: interviews over several gateways with socket drops, SIGKILLs, Redis restarts.

    Starts its own Redis (redis-server, free port, no persistence) and gateway processes on
    127.0.0.1, answers every question, and checks that no event was skipped or repeated,
    that every transcript equals the database's and that no accepted answer was lost.
    Exits 1 if anything was.
    """
    from pathlib import Path

    from server.bench.chaos import ChaosOptions, run_chaos

    options = ChaosOptions(
        interviews=interviews,
        seconds=seconds,
        refill=True,
        processes=processes,
        question_count=questions,
        pace_ms=pace_ms,
        drop_mean_s=drop_every,
        kill_every_s=kill_every,
        redis_every_s=redis_every,
        seed=seed,
    )
    raise typer.Exit(
        run_chaos(
            options,
            database_url=database_url,
            admin_dsn=postgres,
            json_path=Path(json_path) if json_path else None,
        )
    )


@cli.command("check-gemini")
def check_gemini() -> None:
    """Make one tiny real Gemini call with the configured key and model, and diagnose failures."""
    from server.llm import create_gemini
    from server.llm.gemini import GeminiInterviewer

    settings = _settings()
    if settings.gemini_api_key is None:
        typer.secho(
            "No Gemini key: set GEMINI_API_KEY (or INTERVIEW_GEMINI_API_KEY).", fg="red", err=True
        )
        raise typer.Exit(2)

    async def run() -> bool:
        provider = create_gemini(settings)
        assert isinstance(provider, GeminiInterviewer)
        try:
            result = await provider.check()
        finally:
            await provider.close()
        color = "green" if result.ok else "red"
        typer.secho(result.message, fg=color)
        typer.echo(f"  model: {result.model}")
        if result.latency_ms is not None:
            typer.echo(f"  latency: {result.latency_ms} ms")
        if result.ok:
            typer.echo(f"  tokens: {result.prompt_tokens} in, {result.output_tokens} out")
        if result.available_models:
            typer.echo("  available models: " + ", ".join(result.available_models))
        return result.ok

    if not asyncio.run(run()):
        raise typer.Exit(1)


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
