/**
 * The answer being written, and the answers time ran out on: pure rules, so that what happens to
 * a draft when its question times out is unit-tested (`answerDraft.test.ts`).
 *
 * A draft belongs to the question that was open when it was written. When that question times
 * out, nothing of it was sent (docs/protocol.md, `answer.timeout`): the box is cleared and the
 * words are kept beside the question, marked as not sent.
 */
import type { TranscriptTurn } from './interviewReducer';

export interface AnswerDraft {
  text: string;
  /** The question it answers: the one open when it was written (null: none was open). */
  turn: number | null;
}

export interface UnsentAnswer {
  turn: number;
  text: string;
  source: 'typed' | 'voice';
}

export const EMPTY_DRAFT: AnswerDraft = { text: '', turn: null };

/** The draft after the candidate edited it, with `openTurn` the question open now. */
export function editDraft(draft: AnswerDraft, text: string, openTurn: number | null): AnswerDraft {
  if (!text) return EMPTY_DRAFT;
  return { text, turn: openTurn ?? draft.turn };
}

function outcomeOf(turns: TranscriptTurn[], index: number | null) {
  if (index === null) return undefined;
  return turns.find((t) => t.index === index)?.outcome ?? null;
}

export interface SettledDraft {
  draft: AnswerDraft;
  /** The draft's words, when its question timed out before they were sent. */
  unsent: UnsentAnswer | null;
}

/**
 * Applies what happened to the draft's question: timed out, the draft becomes an unsent answer
 * and the box is empty again; written while no question was open (or for one that is over
 * otherwise), it goes to the question open now.
 */
export function settleDraft(draft: AnswerDraft, turns: TranscriptTurn[], openTurn: number | null): SettledDraft {
  if (!draft.text) return { draft, unsent: null };
  const outcome = outcomeOf(turns, draft.turn);
  if (outcome === 'timed_out' && draft.turn !== null) {
    const unsent = draft.text.trim() ? { turn: draft.turn, text: draft.text, source: 'typed' as const } : null;
    return { draft: EMPTY_DRAFT, unsent };
  }
  if (openTurn !== null && draft.turn !== openTurn && (draft.turn === null || outcome)) {
    return { draft: { ...draft, turn: openTurn }, unsent: null };
  }
  return { draft, unsent: null };
}

/** A spoken answer's transcript whose question timed out before it was sent, or null. */
export function unsentTranscript(
  transcript: { turn: number | null; text: string } | null,
  turns: TranscriptTurn[],
): UnsentAnswer | null {
  if (!transcript || transcript.turn === null || !transcript.text.trim()) return null;
  if (outcomeOf(turns, transcript.turn) !== 'timed_out') return null;
  return { turn: transcript.turn, text: transcript.text, source: 'voice' };
}

/** Adds `unsent` to the list (one per question: a later one replaces an earlier one). */
export function addUnsent(list: UnsentAnswer[], unsent: UnsentAnswer): UnsentAnswer[] {
  const others = list.filter((u) => u.turn !== unsent.turn);
  return [...others, unsent].sort((a, b) => a.turn - b.turn);
}

// --- storage (sessionStorage: a reload keeps the draft and what was not sent) ----------------

/** Reads a draft saved by this client, or by an older one that saved the text alone. */
export function parseDraft(raw: string | null): AnswerDraft {
  if (!raw) return EMPTY_DRAFT;
  try {
    const value = JSON.parse(raw) as unknown;
    if (typeof value === 'object' && value !== null && typeof (value as AnswerDraft).text === 'string') {
      const { text, turn } = value as AnswerDraft;
      return { text, turn: typeof turn === 'number' ? turn : null };
    }
  } catch {
    // not JSON: the text alone
  }
  return { text: raw, turn: null };
}

export function parseUnsent(raw: string | null): UnsentAnswer[] {
  if (!raw) return [];
  try {
    const value = JSON.parse(raw) as unknown;
    if (!Array.isArray(value)) return [];
    return value.filter(
      (u): u is UnsentAnswer =>
        typeof u === 'object' && u !== null && typeof u.turn === 'number' && typeof u.text === 'string',
    );
  } catch {
    return [];
  }
}
