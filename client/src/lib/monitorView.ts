/** The live monitor's table: filters, sorting and the counts above it (pure functions). */
import type { SessionSummary } from '../api/adminProtocol';
import { PHASES, type Phase } from '../api/protocol';
import { humanise } from './format';

export type ConnectedFilter = '' | 'yes' | 'no';

export interface MonitorFilters {
  phase: Phase | '';
  track: string;
  connected: ConnectedFilter;
  /** Part of the candidate's email (or of the interview id), any case. */
  search: string;
}

export const NO_FILTERS: MonitorFilters = { phase: '', track: '', connected: '', search: '' };

export type MonitorSortKey =
  | 'candidate'
  | 'track'
  | 'level'
  | 'phase'
  | 'question'
  | 'connected'
  | 'process'
  | 'tokens'
  | 'cost'
  | 'ttft'
  | 'last_event';

export type SortDirection = 'asc' | 'desc';

export interface MonitorSort {
  key: MonitorSortKey;
  dir: SortDirection;
}

/** Newest activity first: what an operator looks at. */
export const DEFAULT_SORT: MonitorSort = { key: 'last_event', dir: 'desc' };

/** The direction a column sorts in when first clicked (numbers: biggest first). */
export const FIRST_DIRECTION: Record<MonitorSortKey, SortDirection> = {
  candidate: 'asc',
  track: 'asc',
  level: 'asc',
  phase: 'asc',
  question: 'desc',
  connected: 'desc',
  process: 'asc',
  tokens: 'desc',
  cost: 'desc',
  ttft: 'desc',
  last_event: 'desc',
};

const LEVEL_ORDER = ['junior', 'mid', 'senior'];

export function filterSessions(sessions: SessionSummary[], filters: MonitorFilters): SessionSummary[] {
  const needle = filters.search.trim().toLowerCase();
  return sessions.filter(
    (s) =>
      (!filters.phase || s.phase === filters.phase) &&
      (!filters.track || s.track === filters.track) &&
      (!filters.connected || s.connected === (filters.connected === 'yes')) &&
      (!needle || (s.candidate ?? '').toLowerCase().includes(needle) || s.interview_id.startsWith(needle)),
  );
}

type SortValue = string | number | null;

function sortValue(s: SessionSummary, key: MonitorSortKey): SortValue {
  switch (key) {
    case 'candidate':
      return (s.candidate ?? '').toLowerCase();
    case 'track':
      return s.track;
    case 'level': {
      const at = LEVEL_ORDER.indexOf(s.level);
      return at < 0 ? LEVEL_ORDER.length : at;
    }
    case 'phase':
      return PHASES.indexOf(s.phase);
    case 'question':
      return s.question_count ? s.question_number / s.question_count : 0;
    case 'connected':
      return s.connected ? 1 : 0;
    case 'process':
      return s.process;
    case 'tokens':
      return s.tokens_in + s.tokens_out;
    case 'cost':
      return s.cost_usd;
    case 'ttft':
      return s.last_ttft_ms;
    case 'last_event':
      return s.last_event_ms;
  }
}

function compareValues(a: SortValue, b: SortValue): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a).localeCompare(String(b));
}

/**
 * Sorted by `sort`; rows without a value (no TTFT yet) last in either direction, and ties in
 * the order the interviews started, so rows do not jump about as updates arrive.
 */
export function sortSessions(sessions: SessionSummary[], sort: MonitorSort): SessionSummary[] {
  const sign = sort.dir === 'asc' ? 1 : -1;
  return [...sessions].sort((a, b) => {
    const va = sortValue(a, sort.key);
    const vb = sortValue(b, sort.key);
    if (va === null || vb === null) {
      if (va !== vb) return va === null ? 1 : -1;
    } else {
      const order = compareValues(va, vb);
      if (order !== 0) return sign * order;
    }
    return a.started_ms - b.started_ms || a.interview_id.localeCompare(b.interview_id);
  });
}

/** Clicking a column: the same column flips, another starts in its natural direction. */
export function nextSort(current: MonitorSort, key: MonitorSortKey): MonitorSort {
  if (current.key === key) return { key, dir: current.dir === 'asc' ? 'desc' : 'asc' };
  return { key, dir: FIRST_DIRECTION[key] };
}

export interface MonitorCounts {
  live: number;
  connected: number;
  byPhase: Record<Phase, number>;
}

export function monitorCounts(sessions: SessionSummary[]): MonitorCounts {
  const byPhase = Object.fromEntries(PHASES.map((p) => [p, 0])) as Record<Phase, number>;
  let connected = 0;
  for (const s of sessions) {
    byPhase[s.phase] += 1;
    if (s.connected) connected += 1;
  }
  return { live: sessions.length, connected, byPhase };
}

/** The filters in a URL's query (so a filtered view can be linked and survives a reload). */
export function filtersFromParams(params: URLSearchParams): MonitorFilters {
  const phase = params.get('phase') ?? '';
  const connected = params.get('connected') ?? '';
  return {
    phase: (PHASES as readonly string[]).includes(phase) ? (phase as Phase) : '',
    track: params.get('track') ?? '',
    connected: connected === 'yes' || connected === 'no' ? connected : '',
    search: params.get('q') ?? '',
  };
}

export function sortFromParams(params: URLSearchParams): MonitorSort {
  const key = params.get('sort') as MonitorSortKey | null;
  if (!key || !(key in FIRST_DIRECTION)) return DEFAULT_SORT;
  const dir = params.get('dir');
  return { key, dir: dir === 'asc' || dir === 'desc' ? dir : FIRST_DIRECTION[key] };
}

/** A process id short enough for a table cell (the full one is in the cell's title). */
export function shortProcess(process: string): string {
  const tail = process.split(/[:/@]/).filter(Boolean).pop() ?? process;
  return tail.length > 8 ? tail.slice(0, 8) : tail;
}

export function phaseLabel(phase: string): string {
  return humanise(phase);
}
