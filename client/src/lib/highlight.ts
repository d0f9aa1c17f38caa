/**
 * Finds the scorer's evidence quotes inside the candidate's answer so the report can mark
 * them. Quotes are matched case-insensitively, ignoring differences in whitespace and quote
 * marks; a quote shortened with "..." is matched piece by piece.
 */

export interface Quote {
  criterion: string;
  evidence: string;
}

export interface Segment {
  text: string;
  /** Criteria whose evidence covers this text (empty: plain text). */
  criteria: string[];
}

interface Normalised {
  text: string;
  /** Index in the original string of each character of `text`. */
  map: number[];
}

const QUOTE_CHARS: Record<string, string> = {
  '\u2018': "'",
  '\u2019': "'",
  '\u201a': "'",
  '\u201b': "'",
  '\u201c': '"',
  '\u201d': '"',
  '\u201e': '"',
  '\u00ab': '"',
  '\u00bb': '"',
  '\u2013': '-',
  '\u2014': '-',
};

function normalise(source: string): Normalised {
  let text = '';
  const map: number[] = [];
  let lastWasSpace = true; // drop leading whitespace
  for (let i = 0; i < source.length; i++) {
    const ch = source[i];
    if (/\s/.test(ch)) {
      if (!lastWasSpace) {
        text += ' ';
        map.push(i);
      }
      lastWasSpace = true;
      continue;
    }
    lastWasSpace = false;
    text += (QUOTE_CHARS[ch] ?? ch).toLowerCase();
    map.push(i);
  }
  if (text.endsWith(' ')) {
    text = text.slice(0, -1);
    map.pop();
  }
  return { text, map };
}

/** Pieces of a quote worth looking for: without wrapping quotes, split at ellipses. */
function fragments(evidence: string): string[] {
  const stripped = evidence.trim().replace(/^["'\u201c\u2018]+|["'\u201d\u2019]+$/g, '');
  return stripped
    .split(/\.{3,}|\u2026/)
    .map((part) => normalise(part).text.replace(/^[\s,;:.-]+|[\s,;:-]+$/g, ''))
    .filter((part) => part.length >= 4);
}

/** [start, end) ranges of `answer` that `evidence` quotes. */
export function findEvidence(answer: string, evidence: string): [number, number][] {
  if (!answer || !evidence.trim()) return [];
  const hay = normalise(answer);
  const ranges: [number, number][] = [];
  let from = 0;
  for (const needle of fragments(evidence)) {
    let at = hay.text.indexOf(needle, from);
    if (at < 0) at = hay.text.indexOf(needle);
    if (at < 0) continue;
    const start = hay.map[at];
    const end = hay.map[at + needle.length - 1] + 1;
    ranges.push([start, end]);
    from = at + needle.length;
  }
  return ranges;
}

/** The answer cut into plain and highlighted segments, in order, covering all of it. */
export function highlightEvidence(answer: string, quotes: Quote[]): Segment[] {
  if (!answer) return [];
  const marks: { start: number; end: number; criterion: string }[] = [];
  for (const quote of quotes) {
    for (const [start, end] of findEvidence(answer, quote.evidence)) {
      marks.push({ start, end, criterion: quote.criterion });
    }
  }
  if (!marks.length) return [{ text: answer, criteria: [] }];
  const cuts = new Set<number>([0, answer.length]);
  for (const m of marks) {
    cuts.add(m.start);
    cuts.add(m.end);
  }
  const points = [...cuts].sort((a, b) => a - b);
  const segments: Segment[] = [];
  for (let i = 0; i < points.length - 1; i++) {
    const [start, end] = [points[i], points[i + 1]];
    if (start === end) continue;
    const criteria = [
      ...new Set(marks.filter((m) => m.start <= start && m.end >= end).map((m) => m.criterion)),
    ];
    const last = segments[segments.length - 1];
    if (last && sameSet(last.criteria, criteria)) last.text += answer.slice(start, end);
    else segments.push({ text: answer.slice(start, end), criteria });
  }
  return segments;
}

function sameSet(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

/** True when the evidence is found in the answer (otherwise the report shows it apart). */
export function evidenceFound(answer: string | null, evidence: string): boolean {
  return !!answer && findEvidence(answer, evidence).length > 0;
}
