import { describe, expect, it } from 'vitest';
import { backoffCeiling, backoffDelay, BACKOFF_BASE_MS, BACKOFF_CAP_MS } from './backoff';

describe('backoff', () => {
  it('doubles from 0.5 s and caps at 10 s', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 20].map((n) => backoffCeiling(n))).toEqual([
      500, 1000, 2000, 4000, 8000, 10_000, 10_000, 10_000,
    ]);
  });

  it('jitters within [ceiling / 2, ceiling]', () => {
    for (let attempt = 0; attempt < 12; attempt++) {
      const ceiling = backoffCeiling(attempt);
      expect(backoffDelay(attempt, () => 0)).toBe(ceiling / 2);
      expect(backoffDelay(attempt, () => 1)).toBe(ceiling);
      for (let i = 0; i < 50; i++) {
        const d = backoffDelay(attempt);
        expect(d).toBeGreaterThanOrEqual(ceiling / 2);
        expect(d).toBeLessThanOrEqual(ceiling);
      }
    }
  });

  it('never waits less than a quarter second or more than the cap', () => {
    expect(backoffDelay(0, () => 0)).toBe(BACKOFF_BASE_MS / 2);
    expect(backoffDelay(1000, () => 1)).toBe(BACKOFF_CAP_MS);
    expect(backoffDelay(-3, () => 0.5)).toBe(375);
  });
});
