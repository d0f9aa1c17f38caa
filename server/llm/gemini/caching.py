"""Context caching of each interview's fixed prefix (persona, job description, résumé).

Every turn of an interview starts with the same long system instruction. When it is long
enough for the model's explicit caching minimum, it is cached once per interview
(``caches.create``) and later turns name the cache (``cached_content``) instead of sending
it: cached input is billed at a fraction of the input price. Creation runs in the
background, so no turn waits for it (a turn before it is ready, or after it failed, is
simply sent uncached); the cache is deleted when the interview ends, and expires by its TTL
if the process dies first.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from dataclasses import dataclass, field

from google import genai
from google.genai import types

from server.llm.gemini.transport import describe

log = logging.getLogger(__name__)

CHARS_PER_TOKEN = 4  # a rough estimate, enough to decide whether caching is worth a call


def estimated_tokens(text: str) -> int:
    return len(text) // CHARS_PER_TOKEN


@dataclass
class _Entry:
    digest: str  # of the cached system instruction: a changed brief gets a new cache
    expires_at: float  # loop time
    task: asyncio.Task[str | None] = field(repr=False)
    refused: bool = False  # the API refused the cache when a turn named it


class PrefixCache:
    """One explicit context cache per interview, keyed by interview id."""

    def __init__(
        self,
        client: genai.Client,
        model: str,
        *,
        min_tokens: int,
        ttl_s: int,
        timeout_s: float,
    ) -> None:
        self._client = client
        self._model = model
        self.min_tokens = min_tokens  # 0: never cache
        self.ttl_s = ttl_s
        self.timeout_s = timeout_s
        self._entries: dict[str, _Entry] = {}

    def worth_caching(self, system_instruction: str) -> bool:
        return self.min_tokens > 0 and estimated_tokens(system_instruction) >= self.min_tokens

    def name_for(self, interview_id: str, system_instruction: str) -> str | None:
        """The cache holding ``system_instruction`` if it is ready; else None, after starting
        its creation when there is none (the caller sends the prefix itself this time)."""
        if not self.worth_caching(system_instruction):
            return None
        loop = asyncio.get_running_loop()
        digest = hashlib.sha256(system_instruction.encode()).hexdigest()
        entry = self._entries.get(interview_id)
        if entry is not None and (entry.digest != digest or loop.time() >= entry.expires_at):
            self._drop(interview_id)
            entry = None
        if entry is None:
            self._forget_expired(loop.time())
            # A little short of the TTL: never name a cache the API may just have expired.
            expires_at = loop.time() + self.ttl_s * 0.9
            task = asyncio.create_task(
                self._create(interview_id, system_instruction),
                name=f"gemini-cache-{interview_id}",
            )
            self._entries[interview_id] = _Entry(digest, expires_at, task)
            return None
        if entry.refused or not entry.task.done() or entry.task.cancelled():
            return None
        return entry.task.result()

    async def settled(self, interview_id: str) -> str | None:
        """Wait for the interview's cache creation, if one is under way; its name, if made."""
        entry = self._entries.get(interview_id)
        if entry is None or entry.refused:
            return None
        return await asyncio.shield(entry.task)

    def invalidate(self, interview_id: str) -> None:
        """The API refused the cache (expired, deleted): send the prefix from now on."""
        entry = self._entries.get(interview_id)
        if entry is not None:
            entry.refused = True

    async def _create(self, interview_id: str, system_instruction: str) -> str | None:
        try:
            async with asyncio.timeout(self.timeout_s):
                cache = await self._client.aio.caches.create(
                    model=self._model,
                    config=types.CreateCachedContentConfig(
                        system_instruction=system_instruction,
                        ttl=f"{self.ttl_s}s",
                        display_name=f"interview {interview_id}"[:128],
                    ),
                )
        except Exception as exc:  # caching only saves money: never fail a turn over it
            log.warning(
                "could not cache the interview's prefix; sending it uncached",
                extra={"interview_id": interview_id, "error": describe(exc)},
            )
            return None
        return cache.name

    async def delete(self, interview_id: str) -> None:
        """Delete the interview's cache, if it has one. Never raises."""
        entry = self._entries.pop(interview_id, None)
        if entry is None:
            return
        name: str | None = None
        with contextlib.suppress(Exception):
            async with asyncio.timeout(self.timeout_s):
                name = await asyncio.shield(entry.task)
        if name is None:
            return
        try:
            async with asyncio.timeout(self.timeout_s):
                await self._client.aio.caches.delete(name=name)
        except Exception as exc:  # it expires by its TTL anyway
            log.warning(
                "could not delete a context cache",
                extra={"interview_id": interview_id, "cache": name, "error": describe(exc)},
            )

    def close(self) -> None:
        """Stop creations under way (the caches made expire by their TTL)."""
        for entry in self._entries.values():
            entry.task.cancel()
        self._entries.clear()

    def _drop(self, interview_id: str) -> None:
        entry = self._entries.pop(interview_id, None)
        if entry is not None and not entry.task.done():
            entry.task.cancel()

    def _forget_expired(self, now: float) -> None:
        # Interviews that ended on another process never say so here.
        for interview_id in [i for i, e in self._entries.items() if now >= e.expires_at]:
            self._drop(interview_id)
