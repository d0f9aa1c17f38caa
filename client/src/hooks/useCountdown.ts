import { useEffect, useState } from 'react';

export interface Countdown {
  /** Milliseconds left (0 when over), or null without a deadline. */
  remainingMs: number | null;
  /** Fraction of the limit left, 0..1 (null without a limit). */
  fraction: number | null;
  /** In the last 20% of the time. */
  warning: boolean;
  expired: boolean;
}

/**
 * Counts down to `deadlineMs` (server clock, Unix ms). The remaining time is clamped to the
 * answer limit so a client clock that runs ahead or behind cannot show nonsense.
 */
export function computeCountdown(deadlineMs: number | null, limitS: number | null, now: number): Countdown {
  if (deadlineMs === null) return { remainingMs: null, fraction: null, warning: false, expired: false };
  let remaining = Math.max(0, deadlineMs - now);
  if (limitS) remaining = Math.min(remaining, limitS * 1000);
  const fraction = limitS ? remaining / (limitS * 1000) : null;
  return {
    remainingMs: remaining,
    fraction,
    warning: fraction !== null ? fraction <= 0.2 : remaining <= 30_000,
    expired: remaining === 0,
  };
}

export function useCountdown(deadlineMs: number | null, limitS: number | null): Countdown {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (deadlineMs === null) return;
    setNow(Date.now());
    const timer = setInterval(() => setNow(Date.now()), 250);
    return () => clearInterval(timer);
  }, [deadlineMs]);
  return computeCountdown(deadlineMs, limitS, now);
}
