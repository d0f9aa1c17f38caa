/** Reconnect delays: exponential from 0.5 s, capped at 10 s, with "equal jitter". */

export const BACKOFF_BASE_MS = 500;
export const BACKOFF_CAP_MS = 10_000;
/** After 4429 (rate limited) wait at least this long. */
export const RATE_LIMITED_PAUSE_MS = 5_000;

/** The un-jittered ceiling for reconnect attempt `attempt` (0-based). */
export function backoffCeiling(attempt: number, base = BACKOFF_BASE_MS, cap = BACKOFF_CAP_MS): number {
  return Math.min(cap, base * 2 ** Math.max(0, Math.min(attempt, 30)));
}

/**
 * Delay before reconnect attempt `attempt`: uniformly within [ceiling / 2, ceiling], so clients
 * that dropped together (a server restart) do not all come back in the same instant.
 */
export function backoffDelay(
  attempt: number,
  random: () => number = Math.random,
  base = BACKOFF_BASE_MS,
  cap = BACKOFF_CAP_MS,
): number {
  const ceiling = backoffCeiling(attempt, base, cap);
  const r = Math.min(1, Math.max(0, random()));
  return Math.round(ceiling / 2 + (r * ceiling) / 2);
}
