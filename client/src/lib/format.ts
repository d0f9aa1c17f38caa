import type { InterviewStatus, Level, Track } from '../api/client';

export const TRACKS: { value: Track; label: string; blurb: string }[] = [
  { value: 'backend', label: 'Backend', blurb: 'APIs, data stores, reliability' },
  { value: 'frontend', label: 'Frontend', blurb: 'UI engineering, performance, accessibility' },
  { value: 'data_ml', label: 'Data / ML', blurb: 'Modelling, pipelines, evaluation' },
  { value: 'product', label: 'Product', blurb: 'Discovery, prioritisation, metrics' },
  { value: 'behavioral', label: 'Behavioral', blurb: 'Stories, collaboration, judgement' },
];

export const LEVELS: { value: Level; label: string }[] = [
  { value: 'junior', label: 'Junior' },
  { value: 'mid', label: 'Mid-level' },
  { value: 'senior', label: 'Senior' },
];

export const STATUSES: { value: InterviewStatus; label: string }[] = [
  { value: 'created', label: 'Not started' },
  { value: 'live', label: 'In progress' },
  { value: 'finished', label: 'Finished' },
  { value: 'abandoned', label: 'Abandoned' },
];

export function trackLabel(track: string): string {
  return TRACKS.find((t) => t.value === track)?.label ?? humanise(track);
}

export function levelLabel(level: string): string {
  return LEVELS.find((l) => l.value === level)?.label ?? humanise(level);
}

export function statusLabel(status: string): string {
  return STATUSES.find((s) => s.value === status)?.label ?? humanise(status);
}

export function humanise(text: string): string {
  const spaced = text.replace(/[_-]+/g, ' ').trim();
  return spaced.charAt(0).toUpperCase() + spaced.slice(1);
}

export function formatScore(score: number | null | undefined, digits = 1): string {
  if (score === null || score === undefined || Number.isNaN(score)) return '–';
  return score.toFixed(digits);
}

/** A word for a 1–5 score. */
export function scoreBand(score: number): 'strong' | 'solid' | 'developing' | 'weak' {
  if (score >= 4) return 'strong';
  if (score >= 3) return 'solid';
  if (score >= 2) return 'developing';
  return 'weak';
}

const dateFormat = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short', year: 'numeric' });
const shortDate = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short' });
const timeFormat = new Intl.DateTimeFormat(undefined, { hour: 'numeric', minute: '2-digit' });

export function formatDate(iso: string | null | undefined): string {
  if (!iso) return '–';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '–' : dateFormat.format(d);
}

export function formatShortDate(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '' : shortDate.format(d);
}

export function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return '–';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '–' : `${dateFormat.format(d)}, ${timeFormat.format(d)}`;
}

export function formatDuration(totalSeconds: number): string {
  const s = Math.max(0, Math.ceil(totalSeconds));
  const m = Math.floor(s / 60);
  const rest = s % 60;
  return `${m}:${rest.toString().padStart(2, '0')}`;
}

export function formatLimit(seconds: number): string {
  if (seconds < 60) return `${seconds} s`;
  const m = Math.floor(seconds / 60);
  const s = seconds % 60;
  return s ? `${m} min ${s} s` : `${m} min`;
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
