import { useEffect, useReducer, useRef, useState } from 'react';

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

/** Whole seconds until `at` (Unix ms), rounded up: "in 3 s" until the last second is over; 0 once due. */
export function secondsUntil(at: number, now: number): number {
  return Math.max(0, Math.ceil((at - now) / 1000));
}

/**
 * Counts down, in whole seconds, to the reconnect attempt the connection has scheduled
 * (`retryAt`, Unix ms, the time its timer fires): the number changes as each second passes, and
 * never goes up while it waits for the same attempt (a clock set back cannot make it jump).
 * Null while no attempt is scheduled.
 */
export function useRetryCountdown(retryAt: number | null): number | null {
  const [, tick] = useReducer((n: number) => n + 1, 0);
  const shown = useRef<{ at: number; seconds: number } | null>(null);
  useEffect(() => {
    if (retryAt === null) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const wake = () => {
      const left = retryAt - Date.now();
      if (left <= 0) return;
      // Just after the next whole second passes, so the number changes on time.
      timer = setTimeout(() => {
        tick();
        wake();
      }, (left % 1000 || 1000) + 10);
    };
    wake();
    return () => clearTimeout(timer);
  }, [retryAt]);
  if (retryAt === null) return null;
  let seconds = secondsUntil(retryAt, Date.now());
  if (shown.current?.at === retryAt) seconds = Math.min(seconds, shown.current.seconds);
  shown.current = { at: retryAt, seconds };
  return seconds;
}
