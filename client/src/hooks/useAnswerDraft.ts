/**
 * The answer box's text for one interview, kept in sessionStorage with the question it answers,
 * and the answers time ran out on (see `answerDraft.ts` for the rules).
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import {
  addUnsent,
  editDraft,
  EMPTY_DRAFT,
  parseDraft,
  parseUnsent,
  settleDraft,
  unsentTranscript,
  type AnswerDraft,
  type UnsentAnswer,
} from './answerDraft';
import type { TranscriptTurn } from './interviewReducer';

export function draftKey(id: string) {
  return `interview.draft.${id}`;
}

export function unsentKey(id: string) {
  return `interview.unsent.${id}`;
}

function read(key: string): string | null {
  try {
    return sessionStorage.getItem(key);
  } catch {
    return null;
  }
}

function write(key: string, value: string | null): void {
  try {
    if (value) sessionStorage.setItem(key, value);
    else sessionStorage.removeItem(key);
  } catch {
    // storage unavailable: kept in memory only
  }
}

export interface AnswerDraftOptions {
  turns: TranscriptTurn[];
  /** The question that can be answered now (null: none). */
  openTurn: number | null;
  /** The spoken answer's transcript being checked, if any (the voice controller's). */
  transcript: { turn: number | null; text: string } | null;
}

export interface UseAnswerDraft {
  text: string;
  setText: (text: string) => void;
  /** The draft was sent as the answer to `turn`: cleared once the server has taken it. */
  sent: (turn: number | null) => void;
  /** Answers time ran out on, per question. */
  unsent: UnsentAnswer[];
}

export function useAnswerDraft(id: string, { turns, openTurn, transcript }: AnswerDraftOptions): UseAnswerDraft {
  const [draft, setDraft] = useState<AnswerDraft>(() => parseDraft(read(draftKey(id))));
  const [unsent, setUnsent] = useState<UnsentAnswer[]>(() => parseUnsent(read(unsentKey(id))));

  const update = useCallback(
    (next: AnswerDraft) => {
      setDraft(next);
      write(draftKey(id), next.text ? JSON.stringify(next) : null);
    },
    [id],
  );
  const keepUnsent = useCallback(
    (answer: UnsentAnswer) => {
      setUnsent((list) => {
        const next = addUnsent(list, answer);
        write(unsentKey(id), JSON.stringify(next));
        return next;
      });
    },
    [id],
  );

  const openRef = useRef(openTurn);
  openRef.current = openTurn;
  const draftRef = useRef(draft);
  draftRef.current = draft;
  const setText = useCallback(
    (text: string) => update(editDraft(draftRef.current, text, openRef.current)),
    [update],
  );

  // Clear the draft once the server has the answer it was sent as.
  const sentTurn = useRef<number | null>(null);
  const sent = useCallback((turn: number | null) => {
    sentTurn.current = turn;
  }, []);

  // The voice controller lets go of a transcript when its question is over: remember the last one.
  const lastTranscript = useRef(transcript);
  if (transcript) lastTranscript.current = transcript;

  useEffect(() => {
    const t = sentTurn.current;
    if (t !== null && turns.find((x) => x.index === t)?.outcome) {
      sentTurn.current = null;
      if (turns.find((x) => x.index === t)?.outcome === 'answered') {
        update(EMPTY_DRAFT);
        return;
      }
    }
    const settled = settleDraft(draft, turns, openTurn);
    if (settled.unsent) keepUnsent(settled.unsent);
    if (settled.draft !== draft) update(settled.draft);
    const spoken = unsentTranscript(lastTranscript.current, turns);
    if (spoken) {
      lastTranscript.current = null;
      keepUnsent(spoken);
    }
  }, [turns, openTurn, draft, update, keepUnsent]);

  return { text: draft.text, setText, sent, unsent };
}
