import type { InterviewDetail, TurnPublic } from '../api/client';
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
  /** Unix ms, for ordering and the axis. */
  at: number;
  label: string;
  track: string;
  overall: number | null;
  criteria: Record<string, number>;
}

function when(d: Pick<InterviewDetail, 'finished_at' | 'created_at'>): number {
  return new Date(d.finished_at ?? d.created_at).getTime();
}

/** One point per finished interview with a score, oldest first. */
export function progressSeries(details: InterviewDetail[]): ProgressPoint[] {
  return details
    .filter((d) => d.status === 'finished' && (d.report != null || d.overall_score != null))
    .sort((a, b) => when(a) - when(b))
    .map((d) => ({
      id: d.id,
      at: when(d),
      label: new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short' }).format(when(d)),
      track: d.track,
      overall: d.report?.overall_score ?? d.overall_score ?? null,
      criteria: Object.fromEntries(criterionAverages(d.turns).map((c) => [c.criterion, c.average])),
    }));
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
