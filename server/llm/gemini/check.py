"""The operator's check of the Gemini settings: one tiny call, and a precise diagnosis."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Literal

from google import genai
from google.genai import errors

from server.llm.gemini.transport import (
    MODEL_DEFAULTS,
    UNREACHABLE,
    CallTuning,
    ModelNotFound,
    UsageMeter,
    describe,
)

log = logging.getLogger(__name__)

Problem = Literal["bad_key", "quota", "unknown_model", "network", "error"]


@dataclass(frozen=True, slots=True)
class CheckResult:
    """What an operator's check of the Gemini settings found."""

    ok: bool
    model: str
    message: str
    problem: Problem | None = None
    latency_ms: int | None = None
    prompt_tokens: int = 0
    output_tokens: int = 0
    available_models: tuple[str, ...] = ()


async def check(
    client: genai.Client, model: str, timeout_s: float, tuning: CallTuning = MODEL_DEFAULTS
) -> CheckResult:
    """One tiny call, and a precise diagnosis when it fails."""
    started = time.perf_counter()
    try:
        async with asyncio.timeout(timeout_s):
            response = await client.aio.models.generate_content(
                model=model, contents="Reply with the single word OK.", config=tuning.config()
            )
    except errors.APIError as exc:
        return await _diagnose(exc, client, model, timeout_s)
    except UNREACHABLE as exc:
        return CheckResult(
            ok=False,
            model=model,
            problem="network",
            message=f"Cannot reach the Gemini API: {describe(exc)}. Check the network, "
            "proxy and firewall settings (and the base URL, if one is set).",
        )
    except Exception as exc:
        return CheckResult(ok=False, model=model, problem="error", message=describe(exc))
    latency_ms = round((time.perf_counter() - started) * 1000)
    usage = response.usage_metadata
    meter = UsageMeter("check")
    meter.add(usage)
    return CheckResult(
        ok=True,
        model=model,
        message=f"Gemini answered in {latency_ms} ms with model {model}.",
        latency_ms=latency_ms,
        prompt_tokens=meter.prompt_tokens,
        output_tokens=meter.output_tokens,
    )


async def _diagnose(
    exc: errors.APIError, client: genai.Client, model: str, timeout_s: float
) -> CheckResult:
    text = f"{exc.status} {exc.message} {exc.details}"
    if exc.code in (401, 403) or (exc.code == 400 and "API_KEY_INVALID" in text):
        return CheckResult(
            ok=False,
            model=model,
            problem="bad_key",
            message=f"The Gemini API key was refused ({exc.code} {exc.status}: "
            f"{exc.message}). Set GEMINI_API_KEY to a valid key with access to the "
            "Generative Language API.",
        )
    if exc.code == 429:
        return CheckResult(
            ok=False,
            model=model,
            problem="quota",
            message=f"The key is valid but out of quota or rate-limited (429 "
            f"{exc.status}: {exc.message}). Wait, or raise the project's quota.",
        )
    if exc.code == 404:
        available: tuple[str, ...] = ()
        try:
            async with asyncio.timeout(timeout_s):
                pager = await client.aio.models.list()
                names = [
                    (m.name or "").removeprefix("models/")
                    async for m in pager
                    if not m.supported_actions or "generateContent" in m.supported_actions
                ]
            available = tuple(sorted(n for n in names if n))
        except Exception as listing:
            log.warning("could not list Gemini models: %s", describe(listing))
        return CheckResult(
            ok=False,
            model=model,
            problem="unknown_model",
            message=f"{ModelNotFound(model)} Available: "
            + (", ".join(available) if available else "(could not list models)"),
            available_models=available,
        )
    return CheckResult(
        ok=False,
        model=model,
        problem="error",
        message=f"Gemini answered {exc.code} {exc.status}: {exc.message}",
    )
