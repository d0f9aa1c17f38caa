import type { Interview, InterviewDetail, TurnPublic } from '../api/client';
import { humanise } from './format';

export interface CriterionAverage {
  criterion: string;
  average: number;
  count: number;
}

interface ScoredLike {
  scores: { criterion: string; value: number }[] | null;
}

function round(n: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/** Average per criterion over the given turns, in the order the criteria first appear. */
export function criterionAverages(turns: ScoredLike[]): CriterionAverage[] {
  const sums = new Map<string, { total: number; count: number }>();
  for (const turn of turns) {
    for (const s of turn.scores ?? []) {
      const entry = sums.get(s.criterion) ?? { total: 0, count: 0 };
      entry.total += s.value;
      entry.count += 1;
      sums.set(s.criterion, entry);
    }
  }
  return [...sums].map(([criterion, { total, count }]) => ({
    criterion,
    average: round(total / count),
    count,
  }));
}

export function criterionLabel(criterion: string): string {
  return humanise(criterion);
}

export interface ProgressPoint {
  id: string;
  /** Unix ms, for ordering. */
  at: number;
  /** "#3": the interview's number in its track, oldest first; distinct however close the dates. */
  label: string;
  /** When it finished, date and time, for the tooltip and the table. */
  when: string;
  track: string;
  level: string;
  overall: number | null;
  /** Average per criterion over the interview's answers (empty until its detail has loaded). */
  criteria: Record<string, number>;
}

function when(d: Pick<Interview, 'finished_at' | 'created_at'>): number {
  return new Date(d.finished_at ?? d.created_at).getTime();
}

const whenFormat = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short', hour: 'numeric', minute: '2-digit' });

/** Finished interviews with an overall score, as the list gives them. */
export function scoredInterviews<T extends Interview>(items: T[]): T[] {
  return items.filter((i) => i.status === 'finished' && i.overall_score != null);
}

export interface TrackCount {
  track: string;
  count: number;
}

/** The tracks of the finished interviews, the one practised last first. */
export function practisedTracks(items: Interview[]): TrackCount[] {
  const counts = new Map<string, { count: number; latest: number }>();
  for (const i of scoredInterviews(items)) {
    const entry = counts.get(i.track) ?? { count: 0, latest: 0 };
    entry.count += 1;
    entry.latest = Math.max(entry.latest, when(i));
    counts.set(i.track, entry);
  }
  return [...counts]
    .sort(([, a], [, b]) => b.latest - a.latest)
    .map(([track, { count }]) => ({ track, count }));
}

/**
 * One point per finished interview of `track`, oldest first: the overall score and the
 * criteria from the list (older servers: the criteria from each interview's detail once loaded).
 */
export function trackSeries(items: Interview[], details: InterviewDetail[], track: string): ProgressPoint[] {
  const byId = new Map(details.map((d) => [d.id, d]));
  return scoredInterviews(items)
    .filter((i) => i.track === track)
    .sort((a, b) => when(a) - when(b))
    .map((i, n) => {
      const detail = byId.get(i.id);
      return {
        id: i.id,
        at: when(i),
        label: `#${n + 1}`,
        when: whenFormat.format(when(i)),
        track: i.track,
        level: i.level,
        overall: detail?.report?.overall_score ?? i.overall_score ?? null,
        // The list carries each interview's averages; a detail read for other reasons agrees.
        criteria:
          i.criteria && Object.keys(i.criteria).length
            ? { ...i.criteria }
            : detail
              ? Object.fromEntries(criterionAverages(detail.turns).map((c) => [c.criterion, c.average]))
              : {},
      };
    });
}

export type TrendDirection = 'up' | 'down' | 'flat' | 'single';

export interface CriterionTrend {
  criterion: string;
  /** The interview's average for this criterion, oldest first (interviews that scored it). */
  values: number[];
  average: number;
  first: number;
  last: number;
  direction: TrendDirection;
}

// A change smaller than this between the first and the last interview is called steady.
const STEADY = 0.25;

/** How one criterion moved over the points, or null when none of them scored it. */
export function criterionTrend(points: ProgressPoint[], criterion: string): CriterionTrend | null {
  const values = points.flatMap((p) => (criterion in p.criteria ? [p.criteria[criterion]] : []));
  if (values.length === 0) return null;
  const first = values[0];
  const last = values[values.length - 1];
  const change = last - first;
  const direction: TrendDirection =
    values.length < 2 ? 'single' : change >= STEADY ? 'up' : change <= -STEADY ? 'down' : 'flat';
  return {
    criterion,
    values,
    average: round(values.reduce((a, b) => a + b, 0) / values.length),
    first,
    last,
    direction,
  };
}

export interface WeakSpot extends CriterionAverage {
  /** The suggestion attached to the lowest recent score for this criterion. */
  suggestion: string | null;
  evidence: string | null;
}

/** The lowest-scoring criteria across interviews (below `threshold`), weakest first. */
export function weakestCriteria(details: InterviewDetail[], limit = 3, threshold = 3.5): WeakSpot[] {
  const turns: TurnPublic[] = [...details]
    .sort((a, b) => when(b) - when(a))
    .flatMap((d) => [...d.turns].sort((a, b) => b.index - a.index));
  return criterionAverages(turns)
    .filter((c) => c.average < threshold)
    .sort((a, b) => a.average - b.average || b.count - a.count)
    .slice(0, limit)
    .map((c) => {
      let worst: { value: number; suggestion: string; evidence: string } | null = null;
      for (const turn of turns) {
        for (const s of turn.scores) {
          if (s.criterion === c.criterion && (!worst || s.value < worst.value)) worst = s;
        }
      }
      return { ...c, suggestion: worst?.suggestion ?? null, evidence: worst?.evidence ?? null };
    });
}

/** Every criterion name that appears in the series, in first-seen order. */
export function seriesCriteria(points: ProgressPoint[]): string[] {
  const seen: string[] = [];
  for (const p of points) for (const c of Object.keys(p.criteria)) if (!seen.includes(c)) seen.push(c);
  return seen;
}
