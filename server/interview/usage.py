"""Provider calls' tokens and cost, rolled up into each interview as they happen."""

from __future__ import annotations

import asyncio
import logging
import uuid

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server import metrics
from server.interview import records
from server.llm.base import CallRecord

log = logging.getLogger(__name__)


class UsageRecorder:
    """The provider's usage sink: logs every call, counts it in the provider metrics
    (``server/metrics.py``), keeps it as a ``provider_call`` row and adds it to the
    interview's totals.

    Writes happen in background tasks (held here, awaited on shutdown) so a provider
    call never waits for the database.
    """

    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], *, provider: str = "gemini"
    ) -> None:
        self.sessionmaker = sessionmaker
        self.provider = provider
        self._pending: set[asyncio.Task[None]] = set()

    def record(self, interview_id: str, call: CallRecord) -> None:
        metrics.observe_provider_call(call)
        log.info(
            "provider call",
            extra={
                "interview_id": interview_id or None,
                "kind": call.kind,
                "model": call.model,
                "outcome": call.outcome,
                "error_code": call.error_code,
                "latency_ms": call.latency_ms,
                "ttft_ms": call.ttft_ms,
                "tokens_in": call.prompt_tokens,
                "tokens_cached": call.cached_tokens,
                "tokens_out": call.output_tokens,
                "cost_micro_usd": call.cost_micro_usd,
                "attempts": call.attempts,
            },
        )
        task = asyncio.create_task(self._add(interview_id, call))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _add(self, interview_id: str, call: CallRecord) -> None:
        try:
            await records.add_usage(
                self.sessionmaker,
                uuid.UUID(interview_id) if interview_id else None,
                call,
                provider=self.provider,
            )
        except Exception as exc:
            log.warning("could not record usage", extra={"error": repr(exc)})

    async def drain(self) -> None:
        if self._pending:
            await asyncio.wait(self._pending, timeout=5)
