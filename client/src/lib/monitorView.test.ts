import { describe, expect, it } from 'vitest';
import { interviewId, NOW, summary } from '../test/adminFrames';
import {
  DEFAULT_SORT,
  filterSessions,
  filtersFromParams,
  monitorCounts,
  nextSort,
  NO_FILTERS,
  shortProcess,
  sortFromParams,
  sortSessions,
} from './monitorView';

const rows = [
  summary({ interview_id: interviewId(1), candidate: 'ada@example.com', phase: 'asking', track: 'backend', connected: true, cost_usd: 0.5, last_ttft_ms: 300, started_ms: NOW - 3_000, last_event_ms: NOW - 1_000 }),
  summary({ interview_id: interviewId(2), candidate: 'grace@example.com', phase: 'listening', track: 'frontend', connected: false, cost_usd: 0.1, last_ttft_ms: null, started_ms: NOW - 2_000, last_event_ms: NOW - 9_000 }),
  summary({ interview_id: interviewId(3), candidate: 'linus@Example.com', phase: 'listening', track: 'backend', connected: true, cost_usd: 0.9, last_ttft_ms: 900, started_ms: NOW - 1_000, last_event_ms: NOW - 5_000 }),
];

const ids = (list: typeof rows) => list.map((r) => r.interview_id.slice(-1));

describe('filterSessions', () => {
  it('keeps everything without filters', () => {
    expect(filterSessions(rows, NO_FILTERS)).toHaveLength(3);
  });

  it('filters by phase, track and whether the candidate is connected, together', () => {
    expect(ids(filterSessions(rows, { ...NO_FILTERS, phase: 'listening' }))).toEqual(['2', '3']);
    expect(ids(filterSessions(rows, { ...NO_FILTERS, track: 'backend' }))).toEqual(['1', '3']);
    expect(ids(filterSessions(rows, { ...NO_FILTERS, connected: 'no' }))).toEqual(['2']);
    expect(ids(filterSessions(rows, { ...NO_FILTERS, phase: 'listening', connected: 'yes' }))).toEqual(['3']);
  });

  it('searches the candidate’s email in any case', () => {
    expect(ids(filterSessions(rows, { ...NO_FILTERS, search: ' EXAMPLE.COM' }))).toEqual(['1', '2', '3']);
    expect(ids(filterSessions(rows, { ...NO_FILTERS, search: 'linus@ex' }))).toEqual(['3']);
    expect(filterSessions(rows, { ...NO_FILTERS, search: 'nobody' })).toEqual([]);
  });
});

describe('sortSessions', () => {
  it('sorts by the newest activity first by default', () => {
    expect(ids(sortSessions(rows, DEFAULT_SORT))).toEqual(['1', '3', '2']);
  });

  it('sorts by a column in either direction', () => {
    expect(ids(sortSessions(rows, { key: 'cost', dir: 'desc' }))).toEqual(['3', '1', '2']);
    expect(ids(sortSessions(rows, { key: 'cost', dir: 'asc' }))).toEqual(['2', '1', '3']);
    expect(ids(sortSessions(rows, { key: 'candidate', dir: 'asc' }))).toEqual(['1', '2', '3']);
    expect(ids(sortSessions(rows, { key: 'phase', dir: 'asc' }))).toEqual(['1', '2', '3']);
  });

  it('puts rows without a value last whichever the direction', () => {
    expect(ids(sortSessions(rows, { key: 'ttft', dir: 'desc' }))).toEqual(['3', '1', '2']);
    expect(ids(sortSessions(rows, { key: 'ttft', dir: 'asc' }))).toEqual(['1', '3', '2']);
  });

  it('breaks ties by when the interview started, so rows keep their places', () => {
    expect(ids(sortSessions(rows, { key: 'track', dir: 'asc' }))).toEqual(['1', '3', '2']);
    expect(ids(sortSessions(rows, { key: 'connected', dir: 'desc' }))).toEqual(['1', '3', '2']);
  });

  it('flips the same column and starts another in its natural direction', () => {
    expect(nextSort({ key: 'cost', dir: 'desc' }, 'cost')).toEqual({ key: 'cost', dir: 'asc' });
    expect(nextSort({ key: 'cost', dir: 'asc' }, 'candidate')).toEqual({ key: 'candidate', dir: 'asc' });
    expect(nextSort({ key: 'candidate', dir: 'asc' }, 'tokens')).toEqual({ key: 'tokens', dir: 'desc' });
  });
});

describe('monitorCounts', () => {
  it('counts live interviews, connected candidates and each phase', () => {
    const counts = monitorCounts(rows);
    expect(counts.live).toBe(3);
    expect(counts.connected).toBe(2);
    expect(counts.byPhase).toMatchObject({ asking: 1, listening: 2, scoring: 0, waiting: 0 });
  });
});

describe('the URL', () => {
  it('reads filters and sorting from the query, ignoring what it does not know', () => {
    const params = new URLSearchParams('phase=listening&track=backend&connected=maybe&q=ada&sort=cost&dir=asc');
    expect(filtersFromParams(params)).toEqual({ phase: 'listening', track: 'backend', connected: '', search: 'ada' });
    expect(sortFromParams(params)).toEqual({ key: 'cost', dir: 'asc' });
    expect(filtersFromParams(new URLSearchParams('phase=dancing')).phase).toBe('');
    expect(sortFromParams(new URLSearchParams('sort=bogus'))).toEqual(DEFAULT_SORT);
  });
});

describe('shortProcess', () => {
  it('shortens a process id for its cell', () => {
    expect(shortProcess('3f2a9c1d8e7b4a60b1c2d3e4f5a6b7c8')).toBe('3f2a9c1d');
    expect(shortProcess('web-1')).toBe('web-1');
  });
});
