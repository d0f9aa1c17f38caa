"""``interview bench gemini``: time to first token and latency per kind of Gemini call, with
the configured tuning against the model's defaults, on the fake API with simulated thinking.

The fake (``tests/fakes/gemini.py``, so this runs from a checkout) waits before its first
token as long as the requested thinking level takes in its rough model of a Flash model
(``THINKING_DELAYS_S``), then streams a turn of 12 words, 10 ms apart. Turns and the
operator's check go through the provider itself; scoring, the report, planning and
transcription are timed as one request with their kind's configuration (their answers'
shapes belong to the provider and are not what is measured here). The numbers show what the
settings save on thinking; real latencies add the network and the model's own speed.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from server.config import Settings
from server.llm import gemini_tuning
from server.llm.base import CallKind, InterviewBrief, TurnRequest

KINDS: tuple[CallKind, ...] = ("turn", "score", "report", "plan", "transcribe", "check")
TURN_WORDS = 12
WORD_GAP_S = 0.01
BRIEF = InterviewBrief(
    interview_id="bench-gemini",
    track="backend",
    level="mid",
    topics=("databases",),
    job_description="Payments team: Python, PostgreSQL, Redis.",
    resume_text="Five years building checkout services.",
    question_count=3,
)
FIRST = TurnRequest(index=0, kind="question", question_number=1, question_id=None, is_first=True)


class GeminiBenchError(Exception):
    """The bench cannot run here (no checkout with the test fakes)."""


@dataclass(frozen=True)
class Timing:
    ttft_ms: float
    latency_ms: float


@dataclass(frozen=True)
class Row:
    kind: CallKind
    thinking: str
    max_output_tokens: int | None
    tuned: Timing
    default: Timing


def run_gemini_bench(
    settings: Settings, repeats: int = 5, thinking_delays_s: Mapping[str, float] | None = None
) -> list[Row]:
    """Time every kind; ``thinking_delays_s`` replaces the fake's model of thinking."""
    return asyncio.run(_bench(settings, repeats, thinking_delays_s))


async def _bench(
    settings: Settings, repeats: int, thinking_delays_s: Mapping[str, float] | None
) -> list[Row]:
    try:
        from tests.fakes.gemini import THINKING_DELAYS_S, FakeGemini, Reply, Stream
    except ImportError as exc:  # an installed package without the repository's tests
        raise GeminiBenchError(
            "interview bench gemini needs the repository checkout (it serves tests/fakes/"
            "gemini.py): run it from the project directory"
        ) from exc
    from server.llm.gemini import GeminiInterviewer
    from server.llm.gemini.transport import MODEL_DEFAULTS, CallTuning, make_client

    model = settings.gemini_model
    tuning = gemini_tuning(settings)
    words = [f"word{i} " for i in range(TURN_WORDS)]
    delays = THINKING_DELAYS_S if thinking_delays_s is None else thinking_delays_s
    async with FakeGemini(models=(model,), thinking_delays_s=delays) as fake:
        fake.forever("stream", Stream(chunks=words, delay_s=WORD_GAP_S))
        fake.forever("generate", Reply('{"ok": true}'))
        common = {
            "api_key": fake.api_key,
            "model": model,
            "base_url": fake.base_url,
            "api_version": "v1beta",
            "max_attempts": 1,
        }
        tuned = GeminiInterviewer(**common, tuning=tuning)  # type: ignore[arg-type]
        plain = GeminiInterviewer(**common)  # type: ignore[arg-type]
        client = make_client(
            api_key=fake.api_key, base_url=fake.base_url, api_version="v1beta", max_connections=8
        )
        try:

            def one_request(call: CallTuning) -> Callable[[], Awaitable[Timing]]:
                async def run() -> Timing:
                    started = time.perf_counter()
                    await client.aio.models.generate_content(
                        model=model, contents="bench", config=call.config()
                    )
                    elapsed = (time.perf_counter() - started) * 1000
                    return Timing(elapsed, elapsed)

                return run

            def turn(provider: GeminiInterviewer) -> Callable[[], Awaitable[Timing]]:
                async def run() -> Timing:
                    started = time.perf_counter()
                    first: float | None = None
                    async for _ in provider.stream_turn(BRIEF, [], FIRST):
                        first = first or time.perf_counter()
                    done = time.perf_counter()
                    return Timing(((first or done) - started) * 1000, (done - started) * 1000)

                return run

            def check(provider: GeminiInterviewer) -> Callable[[], Awaitable[Timing]]:
                async def run() -> Timing:
                    started = time.perf_counter()
                    await provider.check()
                    elapsed = (time.perf_counter() - started) * 1000
                    return Timing(elapsed, elapsed)

                return run

            rows: list[Row] = []
            for kind in KINDS:
                call = tuning.get(kind, MODEL_DEFAULTS)
                if kind == "turn":
                    runs = (turn(tuned), turn(plain))
                elif kind == "check":
                    runs = (check(tuned), check(plain))
                else:
                    runs = (one_request(call), one_request(MODEL_DEFAULTS))
                measured = [await _median(run, repeats) for run in runs]
                rows.append(Row(kind, call.thinking, call.max_output_tokens, *measured))
            return rows
        finally:
            await tuned.close()
            await plain.close()
            await client.aio.aclose()


async def _median(run: Callable[[], Awaitable[Timing]], repeats: int) -> Timing:
    await run()  # warm the connection
    timings = [await run() for _ in range(repeats)]
    return Timing(
        statistics.median(t.ttft_ms for t in timings),
        statistics.median(t.latency_ms for t in timings),
    )


def format_rows(rows: list[Row], model: str) -> str:
    from tests.fakes.gemini import THINKING_DELAYS_S

    delays = ", ".join(
        f"{level or 'default'} {seconds * 1000:.0f} ms"
        for level, seconds in THINKING_DELAYS_S.items()
    )
    lines = [
        f"Gemini calls on the fake API ({model}); simulated thinking before the first token: "
        f"{delays}. Median of runs, ms.",
        f"{'kind':<11} {'thinking':<14} {'max out':>7} | {'TTFT':>6} {'total':>6} | "
        f"{'default TTFT':>12} {'total':>6}",
    ]
    for row in rows:
        limit = str(row.max_output_tokens) if row.max_output_tokens else "-"
        lines.append(
            f"{row.kind:<11} {row.thinking:<14} {limit:>7} | {row.tuned.ttft_ms:>6.0f} "
            f"{row.tuned.latency_ms:>6.0f} | {row.default.ttft_ms:>12.0f} "
            f"{row.default.latency_ms:>6.0f}"
        )
    lines.append(
        "TTFT of a turn is its first words; the other calls answer at once, so their TTFT is "
        "their whole latency."
    )
    return "\n".join(lines)
