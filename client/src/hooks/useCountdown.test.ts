import { act, renderHook } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { computeCountdown, secondsUntil, useRetryCountdown } from './useCountdown';

describe('the answer countdown', () => {
  it('counts down to the deadline, clamped to the limit, warning in the last fifth', () => {
    expect(computeCountdown(null, 180, 0).remainingMs).toBeNull();
    expect(computeCountdown(100_000, 180, 0)).toMatchObject({ remainingMs: 100_000, warning: false });
    expect(computeCountdown(30_000, 180, 0)).toMatchObject({ warning: true });
    // A client clock far behind cannot show more than the limit.
    expect(computeCountdown(10_000_000, 60, 0).remainingMs).toBe(60_000);
  });
});

describe('the reconnect countdown', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(1_000_000);
  });
  afterEach(() => vi.useRealTimers());

  it('says whole seconds left, rounded up, and 0 once due', () => {
    expect(secondsUntil(1_000_000 + 4_000, 1_000_000)).toBe(4);
    expect(secondsUntil(1_000_000 + 3_001, 1_000_000)).toBe(4);
    expect(secondsUntil(1_000_000 + 1, 1_000_000)).toBe(1);
    expect(secondsUntil(1_000_000, 1_000_000)).toBe(0);
    expect(secondsUntil(1_000_000 - 5, 1_000_000)).toBe(0);
  });

  it('counts down to the scheduled attempt once a second, on time', () => {
    const retryAt = Date.now() + 3_500;
    const { result } = renderHook(() => useRetryCountdown(retryAt));
    const seen = [result.current];
    // Looked at just after each half second (the number changes just after a second passes).
    act(() => vi.advanceTimersByTime(20));
    for (let i = 0; i < 7; i++) {
      act(() => vi.advanceTimersByTime(500));
      seen.push(result.current);
    }
    expect(seen).toEqual([4, 3, 3, 2, 2, 1, 1, 0]);
  });

  it('never counts up while it waits for the same attempt, even if the clock is set back', () => {
    const retryAt = Date.now() + 5_000;
    const { result, rerender } = renderHook(() => useRetryCountdown(retryAt));
    act(() => vi.advanceTimersByTime(2_100));
    expect(result.current).toBe(3);
    vi.setSystemTime(Date.now() - 3_000);
    rerender();
    expect(result.current).toBe(3);
  });

  it('starts again from the next attempt, and is null while none is scheduled', () => {
    let retryAt: number | null = Date.now() + 1_000;
    const { result, rerender } = renderHook(() => useRetryCountdown(retryAt));
    expect(result.current).toBe(1);
    retryAt = null;
    rerender();
    expect(result.current).toBeNull();
    retryAt = Date.now() + 8_000;
    rerender();
    expect(result.current).toBe(8);
  });
});
