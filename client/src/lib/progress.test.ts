import { describe, expect, it } from 'vitest';
import type { Interview } from '../api/client';
import { detail } from '../test/frames';
import { criterionTrend, practisedTracks, trackSeries, type ProgressPoint } from './progress';

function item(id: string, track: Interview['track'], finishedAt: string, overall: number | null, status: Interview['status'] = 'finished'): Interview {
  const { turns: _t, report: _r, job_description: _j, resume_text: _res, tokens_in: _i, tokens_out: _o, cost_usd: _c, share_token: _s, ...base } =
    detail({ id, track, status, overall_score: overall, finished_at: finishedAt });
  return base;
}

const point = (criteria: Record<string, number>): ProgressPoint => ({
  id: 'x',
  at: 0,
  label: '#1',
  when: '',
  track: 'backend',
  level: 'mid',
  overall: 3,
  criteria,
});

describe('practisedTracks', () => {
  it('counts the scored interviews per track, the track practised last first', () => {
    const items = [
      item('a', 'backend', '2026-03-01T10:00:00Z', 3),
      item('b', 'frontend', '2026-03-03T10:00:00Z', 4),
      item('c', 'backend', '2026-03-02T10:00:00Z', 2),
      item('d', 'product', '2026-03-04T10:00:00Z', null),
      item('e', 'behavioral', '2026-03-05T10:00:00Z', null, 'live'),
    ];
    expect(practisedTracks(items)).toEqual([
      { track: 'frontend', count: 1 },
      { track: 'backend', count: 2 },
    ]);
  });
});

describe('trackSeries', () => {
  it("numbers one track's interviews oldest first, criteria from the details that have loaded", () => {
    const items = [item('b', 'backend', '2026-03-01T16:00:00Z', 3.5), item('f', 'frontend', '2026-03-01T12:00:00Z', 4), item('a', 'backend', '2026-03-01T10:00:00Z', 2.5)];
    const series = trackSeries(items, [detail({ id: 'a', status: 'finished' })], 'backend');
    expect(series.map((p) => [p.id, p.label, p.overall])).toEqual([
      ['a', '#1', 2.5],
      ['b', '#2', 3.5],
    ]);
    expect(series[0].criteria).toEqual({ coverage: 2, specificity: 5 });
    expect(series[1].criteria).toEqual({});
    expect(series[0].when).not.toBe(series[1].when);
  });
});

describe('trackSeries with the averages the list carries', () => {
  it('draws every interview of the track at once, without reading details', () => {
    const withAverages = (id: string, at: string, criteria: Record<string, number>) => ({ ...item(id, 'backend', at, 3), criteria });
    const series = trackSeries(
      [withAverages('a', '2026-03-01T10:00:00Z', { clarity: 2.5 }), withAverages('b', '2026-03-02T10:00:00Z', { clarity: 3.25 })],
      [],
      'backend',
    );
    expect(series.map((p) => p.criteria)).toEqual([{ clarity: 2.5 }, { clarity: 3.25 }]);
  });
});

describe('criterionTrend', () => {
  it('follows one criterion from the first interview that scored it to the last', () => {
    const points = [point({ clarity: 2 }), point({}), point({ clarity: 2.5 }), point({ clarity: 3 })];
    expect(criterionTrend(points, 'clarity')).toMatchObject({ values: [2, 2.5, 3], first: 2, last: 3, average: 2.5, direction: 'up' });
    expect(criterionTrend([point({ clarity: 3 }), point({ clarity: 2 })], 'clarity')?.direction).toBe('down');
    expect(criterionTrend([point({ clarity: 3 }), point({ clarity: 3.2 })], 'clarity')?.direction).toBe('flat');
    expect(criterionTrend([point({ clarity: 3 })], 'clarity')?.direction).toBe('single');
    expect(criterionTrend([point({})], 'clarity')).toBeNull();
  });
});
