import { describe, expect, it } from 'vitest';
import type { Interview } from '../api/client';
import { delivery } from '../test/frames';
import { deliverySummary, deliveryTrend, fillerList, fillersPerMinute, formatMs, paceLabel } from './delivery';

function interview(over: Partial<Interview>): Interview {
  return {
    id: 'x',
    track: 'backend',
    level: 'mid',
    topics: [],
    question_count: 3,
    answer_time_limit_s: 180,
    status: 'finished',
    provider: 'offline',
    model: 'offline-v1',
    overall_score: 3,
    created_at: '2026-01-01T10:00:00Z',
    started_at: '2026-01-01T10:00:00Z',
    finished_at: '2026-01-01T10:20:00Z',
    delivery: null,
    ...over,
  };
}

describe('delivery wording', () => {
  it('names the pace against conversational speed', () => {
    expect(paceLabel(95)).toBe('slow');
    expect(paceLabel(140)).toBe('steady');
    expect(paceLabel(190)).toBe('fast');
  });

  it('lists fillers most frequent first, leaving out zeros', () => {
    expect(fillerList({ like: 1, um: 3, 'you know': 1, uh: 0 })).toBe('um ×3, like ×1, you know ×1');
    expect(fillerList({})).toBe('');
  });

  it('counts fillers per minute of speaking, not of recording', () => {
    expect(fillersPerMinute({ filler_words: 3, speaking_ms: 30_000 })).toBe(6);
    expect(fillersPerMinute({ filler_words: 3, speaking_ms: 0 })).toBe(0);
  });

  it('says a whole answer in one line', () => {
    expect(formatMs(2_600)).toBe('2.6 s');
    expect(formatMs(65_000)).toBe('1:05');
    expect(deliverySummary(delivery())).toBe(
      '140 words/min · 3 fillers (um ×2, you know ×1) · 1 long pause (longest 2.6 s) · spoke 36 s of 42 s',
    );
    expect(deliverySummary(delivery({ filler_words: 0, fillers: {}, long_pauses: 0 }))).toContain('no fillers · no long pauses');
  });
});

describe('deliveryTrend', () => {
  it('takes the interviews answered by voice, oldest first', () => {
    const spoken = (wpm: number, fpm: number) => ({
      answers: 2,
      words_per_minute: wpm,
      filler_words: 4,
      fillers_per_minute: fpm,
      long_pauses: 0,
      speaking_ms: 60_000,
    });
    const points = deliveryTrend([
      interview({ id: 'newest', finished_at: '2026-03-02T10:00:00Z', delivery: spoken(150, 2) }),
      interview({ id: 'typed', finished_at: '2026-02-01T10:00:00Z' }),
      interview({ id: 'oldest', finished_at: '2026-01-05T10:00:00Z', delivery: spoken(120, 6) }),
      interview({ id: 'empty', delivery: { ...spoken(0, 0), answers: 0 } }),
    ]);
    expect(points.map((p) => [p.id, p.wordsPerMinute, p.fillersPerMinute])).toEqual([
      ['oldest', 120, 6],
      ['newest', 150, 2],
    ]);
    expect(deliveryTrend([interview({})])).toEqual([]);
  });
});
