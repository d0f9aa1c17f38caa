import { describe, expect, it } from 'vitest';
import { SentenceSplitter, speakable } from './sentences';

/** Streams `text` in pieces of `size` characters; returns every sentence, the flushed rest last. */
function split(text: string, size = 3): string[] {
  const splitter = new SentenceSplitter();
  const out: string[] = [];
  for (let at = 0; at < text.length; at += size) out.push(...splitter.push(text.slice(at, at + size)));
  const rest = splitter.flush();
  if (rest) out.push(rest);
  return out;
}

describe('SentenceSplitter', () => {
  it('gives each sentence as soon as the space after it arrives', () => {
    const splitter = new SentenceSplitter();
    expect(splitter.push('Thanks. How do you')).toEqual(['Thanks.']);
    expect(splitter.push(' handle retries?')).toEqual([]); // the end of the text is not yet known
    expect(splitter.push(' And')).toEqual(['How do you handle retries?']);
    expect(splitter.flush()).toBe('And');
    expect(splitter.flush()).toBeNull();
  });

  it('splits the same way whatever the streaming pieces', () => {
    const text = 'Good answer! Now, what happens when the queue is full? Walk me through it… Then we move on.';
    const expected = [
      'Good answer!',
      'Now, what happens when the queue is full?',
      'Walk me through it…',
      'Then we move on.',
    ];
    for (const size of [1, 2, 5, 13, text.length]) expect(split(text, size)).toEqual(expected);
  });

  it('does not end a sentence at abbreviations, initials, decimals or list numbers', () => {
    expect(
      split('Pick a store, e.g. Postgres vs. Redis. Dr. Smith said p99 rose 3.5 times at U.S. sites. Fine.'),
    ).toEqual(['Pick a store, e.g. Postgres vs. Redis.', 'Dr. Smith said p99 rose 3.5 times at U.S. sites.', 'Fine.']);
    expect(split('Consider:\n1. Latency and\n2. Cost.')).toEqual(['Consider:', '1. Latency and', '2. Cost.']);
  });

  it('keeps closing quotes and brackets with their sentence, and breaks at line ends', () => {
    expect(split('He said "no." Then (after a pause) "yes!" Really?\nNext line')).toEqual([
      'He said "no."',
      'Then (after a pause) "yes!"',
      'Really?',
      'Next line',
    ]);
  });

  it('reads Markdown as words: no asterisks, backticks or bullets', () => {
    expect(split('- Use **idempotency keys** and `retry-after`.\n- Then _measure_ it.')).toEqual([
      'Use idempotency keys and retry-after.',
      'Then measure it.',
    ]);
    expect(speakable('## Design  a [cache](https://example.com)')).toBe('Design a cache');
  });
});
