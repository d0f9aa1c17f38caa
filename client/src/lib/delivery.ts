/** Words about how a spoken answer was delivered (pace, fillers, pauses), for the room and the report. */
import type { Interview } from '../api/client';
import type { Delivery } from '../api/protocol';
import { formatShortDate } from './format';

/** One point of a pace-and-fillers chart. */
export interface DeliveryPoint {
  /** Stable key (a turn index or an interview id). */
  id: string;
  /** Axis label: "Q1", "Q1 follow-up", or a date. */
  label: string;
  wordsPerMinute: number;
  fillersPerMinute: number;
}

/** Conversational English runs at about 120–160 words a minute. */
export function paceLabel(wordsPerMinute: number): 'slow' | 'steady' | 'fast' {
  if (wordsPerMinute < 110) return 'slow';
  if (wordsPerMinute > 170) return 'fast';
  return 'steady';
}

export const PACE_TEXT = { slow: 'unhurried', steady: 'a steady pace', fast: 'fast' } as const;

/** "um ×2, you know ×1", most frequent first. */
export function fillerList(fillers: Record<string, number>): string {
  return Object.entries(fillers)
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([word, n]) => `${word} ×${n}`)
    .join(', ');
}

/** Fillers per minute of speaking. */
export function fillersPerMinute(delivery: Pick<Delivery, 'filler_words' | 'speaking_ms'>): number {
  return delivery.speaking_ms > 0 ? (delivery.filler_words / delivery.speaking_ms) * 60_000 : 0;
}

/** 2600 → "2.6 s"; 65000 → "1:05". */
export function formatMs(ms: number): string {
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)} s`;
  const s = Math.round(seconds);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/** The delivery of one answer in one line (the room's feedback, the Markdown report). */
export function deliverySummary(d: Delivery): string {
  const parts = [`${Math.round(d.words_per_minute)} words/min`];
  parts.push(d.filler_words ? `${d.filler_words} filler${d.filler_words === 1 ? '' : 's'} (${fillerList(d.fillers)})` : 'no fillers');
  parts.push(
    d.long_pauses
      ? `${d.long_pauses} long pause${d.long_pauses === 1 ? '' : 's'} (longest ${formatMs(d.longest_pause_ms)})`
      : 'no long pauses',
  );
  parts.push(`spoke ${formatMs(d.speaking_ms)} of ${formatMs(d.duration_ms)}`);
  return parts.join(' · ');
}

/** Pace and fillers of the interviews answered by voice, oldest first. */
export function deliveryTrend(items: Interview[]): DeliveryPoint[] {
  return items
    .filter((i) => i.delivery && i.delivery.answers > 0)
    .map((i) => ({ item: i, at: Date.parse(i.finished_at ?? i.started_at ?? i.created_at) }))
    .sort((a, b) => a.at - b.at)
    .map(({ item }) => ({
      id: item.id,
      label: formatShortDate(item.finished_at ?? item.started_at ?? item.created_at),
      wordsPerMinute: item.delivery!.words_per_minute,
      fillersPerMinute: item.delivery!.fillers_per_minute,
    }));
}
