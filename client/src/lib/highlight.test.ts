import { describe, expect, it } from 'vitest';
import { findEvidence, highlightEvidence } from './highlight';

const answer = 'First, I would add an index on user_id.\nThen  I would cache reads in Redis. Our p99 went from 800ms to 120ms!';

describe('findEvidence', () => {
  it('finds an exact quote', () => {
    const [[start, end]] = findEvidence(answer, 'I would cache reads in Redis');
    expect(answer.slice(start, end)).toBe('I would cache reads in Redis');
  });

  it('ignores case, whitespace and curly quotes', () => {
    const [[start, end]] = findEvidence(answer, '“THEN I would   cache reads”');
    expect(answer.slice(start, end)).toBe('Then  I would cache reads');
  });

  it('matches a shortened quote piece by piece', () => {
    const ranges = findEvidence(answer, 'First, I would add an index... p99 went from 800ms');
    expect(ranges.map(([s, e]) => answer.slice(s, e))).toEqual(['First, I would add an index', 'p99 went from 800ms']);
  });

  it('finds nothing for a quote that is not in the answer', () => {
    expect(findEvidence(answer, 'Kafka consumer groups')).toEqual([]);
    expect(findEvidence(answer, '')).toEqual([]);
  });
});

describe('highlightEvidence', () => {
  it('covers the whole answer, marking quoted parts with their criteria', () => {
    const segments = highlightEvidence(answer, [
      { criterion: 'coverage', evidence: 'I would add an index on user_id.' },
      { criterion: 'specificity', evidence: 'p99 went from 800ms to 120ms' },
      { criterion: 'clarity', evidence: 'p99 went from 800ms' },
      { criterion: 'structure', evidence: 'not in the answer' },
    ]);
    expect(segments.map((s) => s.text).join('')).toBe(answer);
    const marked = segments.filter((s) => s.criteria.length);
    expect(marked.map((s) => [s.text, s.criteria])).toEqual([
      ['I would add an index on user_id.', ['coverage']],
      ['p99 went from 800ms', ['specificity', 'clarity']],
      [' to 120ms', ['specificity']],
    ]);
  });

  it('returns the answer as one plain segment when nothing matches', () => {
    expect(highlightEvidence('Plain answer.', [{ criterion: 'x', evidence: 'zzz zzz' }])).toEqual([
      { text: 'Plain answer.', criteria: [] },
    ]);
  });
});
