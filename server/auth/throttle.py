"""Sign-in throttling that slows guessing down without locking the account's owner out.

Counted in the live store (every process shares the counts), keyed by a hash of the email:

- per (email, client IP): ``login_limit_per_email`` attempts per window, then 429. This is
  what a guesser on one address meets; the owner's own address is not affected by it.
- per email, failures from any client slow down clients that are not *known* for the account
  (have not signed in to it lately): ``base * 2^n`` seconds, at most the cap;
- per email, clients that are not known get ``login_limit_per_email_new_clients`` attempts per
  window between them, which bounds guessing from rotating addresses.

A client becomes known for an account by signing in to it (or registering it, or resetting its
password). Known clients skip the slowdown and the new-clients bound, so the owner keeps
signing in from their usual place while someone else guesses.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass

from server.config import Settings
from server.live.base import Counters
from server.ratelimit import enforce


def email_key(email: str) -> str:
    # Keys name a hash, not the address: the live store need not hold who tried to sign in.
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]


def slowdown_s(failures: int, settings: Settings) -> float:
    """The wait before an attempt from a new client after ``failures`` recent failures."""
    over = failures - settings.login_slowdown_after_failures
    if over < 0:
        return 0.0
    return float(min(settings.login_slowdown_cap_s, settings.login_slowdown_base_s * 2**over))


@dataclass(frozen=True, slots=True)
class LoginThrottle:
    counters: Counters
    settings: Settings

    async def before_attempt(self, email: str, client: str) -> None:
        """Raise ``RateLimited`` or wait, as the counts say; before the password is checked."""
        s = self.settings
        subject = email_key(email)
        await enforce(
            self.counters,
            f"login:ip:{client}",
            limit=s.login_limit_per_ip,
            window_s=s.login_limit_window_s,
            what="sign-in attempts from this network",
        )
        await enforce(
            self.counters,
            f"login:email-client:{subject}:{client}",
            limit=s.login_limit_per_email,
            window_s=s.login_limit_window_s,
            what="sign-in attempts for this account from this network",
        )
        if await self.is_known(email, client):
            return
        await enforce(
            self.counters,
            f"login:email-new:{subject}",
            limit=s.login_limit_per_email_new_clients,
            window_s=s.login_limit_per_email_new_clients_window_s,
            what=(
                "sign-in attempts for this account from new devices "
                "(resetting the password signs you in at once)"
            ),
        )
        failures = await self.counters.get_int(f"login:failures:{subject}") or 0
        delay = slowdown_s(failures, s)
        if delay > 0:
            await asyncio.sleep(delay)

    async def failed(self, email: str) -> None:
        subject = email_key(email)
        window = self.settings.login_limit_per_email_new_clients_window_s
        count, resets_in = await self.counters.hit(f"login:failures:{subject}", window)
        # Readable without counting another hit (a fixed window's count, kept beside it).
        await self.counters.set_int(f"login:failures:{subject}", count, resets_in)

    async def remember_client(self, email: str, client: str) -> None:
        await self.counters.set_int(
            f"login:known:{email_key(email)}:{client}", 1, self.settings.login_known_client_ttl_s
        )

    async def is_known(self, email: str, client: str) -> bool:
        return await self.counters.get_int(f"login:known:{email_key(email)}:{client}") is not None
