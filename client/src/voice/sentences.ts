/**
 * Splits text that streams in piece by piece into sentences, so the interviewer's voice can start
 * on the first sentence while the rest is still arriving. A sentence ends at . ! ? or … (with any
 * closing quotes or brackets) followed by whitespace, or at a line break; "e.g.", "Dr.", initials,
 * decimals and list numbers do not end one. The end of the text is only known at `flush`.
 */

const ABBREVIATIONS = new Set([
  'e.g',
  'i.e',
  'etc',
  'vs',
  'cf',
  'approx',
  'mr',
  'mrs',
  'ms',
  'dr',
  'prof',
  'sr',
  'jr',
  'fig',
  'inc',
  'ltd',
  'co',
  'corp',
  'dept',
  'a.k.a',
  'u.s',
  'u.k',
]);

const CLOSERS = `"'”’)]}»`;

export class SentenceSplitter {
  private buffer = '';

  /** Adds streamed text; returns the sentences it completed, trimmed, in order. */
  push(text: string): string[] {
    this.buffer += text;
    const sentences: string[] = [];
    let from = 0;
    for (let i = 0; i < this.buffer.length; i++) {
      const ch = this.buffer[i];
      if (ch === '\n') {
        pushSentence(sentences, this.buffer.slice(from, i));
        from = i + 1;
        continue;
      }
      if (ch !== '.' && ch !== '!' && ch !== '?' && ch !== '…') continue;
      // Closing quotes and brackets belong to the sentence they close.
      let end = i + 1;
      while (end < this.buffer.length && CLOSERS.includes(this.buffer[end])) end++;
      // Only whitespace after it ends a sentence, and we must have seen that whitespace.
      if (end >= this.buffer.length) break;
      if (!/\s/.test(this.buffer[end])) continue;
      if (ch === '.' && !endsSentence(this.buffer.slice(from, i))) continue;
      pushSentence(sentences, this.buffer.slice(from, end));
      from = end;
      i = end - 1;
    }
    this.buffer = this.buffer.slice(from);
    return sentences;
  }

  /** The text is complete: whatever is left is the last sentence (null if nothing is). */
  flush(): string | null {
    const rest = clean(this.buffer);
    this.buffer = '';
    return rest || null;
  }

  reset(): void {
    this.buffer = '';
  }
}

function pushSentence(out: string[], text: string): void {
  const sentence = clean(text);
  if (sentence) out.push(sentence);
}

/** Whether a "." after `before` (the sentence so far) ends the sentence. */
function endsSentence(before: string): boolean {
  const word = before.match(/(\S+)$/)?.[1] ?? '';
  const bare = word.replace(/^["'“‘(\[{«]+/, '').toLowerCase();
  if (!bare) return true;
  if (ABBREVIATIONS.has(bare)) return false;
  // A single letter: an initial ("J. Smith") or part of one ("U.S.").
  if (/^[a-z]$/i.test(bare) || /^([a-z]\.)+[a-z]$/i.test(bare)) return false;
  // "1." at the start of a line or of the text: a list number, not the end of a sentence.
  if (/^\d+$/.test(bare) && before.trim() === word) return false;
  return true;
}

/** Text as it should be read aloud: Markdown marks and list bullets dropped, spaces squeezed. */
export function speakable(text: string): string {
  return text
    .replace(/```[\s\S]*?```/g, ' ')
    .replace(/`([^`]*)`/g, '$1')
    .replace(/\*\*([^*]+)\*\*|__([^_]+)__/g, '$1$2')
    .replace(/(^|\s)[*_]([^*_]+)[*_](?=\s|$|[.,!?;:])/g, '$1$2')
    .replace(/^\s*(?:#{1,6}\s+|[-*•]\s+|>\s*)/gm, '')
    .replace(/\[([^\]]+)\]\([^)]+\)/g, '$1')
    .replace(/\s+/g, ' ')
    .trim();
}

function clean(text: string): string {
  return speakable(text);
}
