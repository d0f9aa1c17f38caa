import { describe, expect, it } from 'vitest';
import { addUnsent, editDraft, EMPTY_DRAFT, parseDraft, parseUnsent, settleDraft, unsentTranscript } from './answerDraft';
import { initialState, interviewReducer, type InterviewState, type TranscriptTurn } from './interviewReducer';
import { firstTurnEvents, logged, ready } from '../test/frames';
import type { ServerFrame } from '../api/protocol';

function run(frames: ServerFrame[], state: InterviewState = initialState('iv1')): InterviewState {
  return frames.reduce((s, frame) => interviewReducer(s, { type: 'frame', frame }), state);
}

/** Question 1 asked and waiting for the answer. */
const listening = () => run([ready(), ...firstTurnEvents().slice(0, 5)]).turns;
/** …and then timed out, the next question on its way. */
const timedOut = (): TranscriptTurn[] =>
  run([
    ready(),
    ...firstTurnEvents().slice(0, 5),
    ...logged(
      [
        { type: 'answer.timeout', phase: 'asking', turn: 0 },
        { type: 'turn.start', phase: 'asking', turn: 1, kind: 'question', question_number: 2, question_count: 2, targets: [] },
      ],
      6,
    ),
  ]).turns;

describe('answer drafts', () => {
  it('belong to the question open when they were written', () => {
    const draft = editDraft(EMPTY_DRAFT, 'I would add', 0);
    expect(draft).toEqual({ text: 'I would add', turn: 0 });
    // Emptied: nothing left to keep.
    expect(editDraft(draft, '', 0)).toEqual(EMPTY_DRAFT);
  });

  it('stay in the box while their question is open', () => {
    const draft = editDraft(EMPTY_DRAFT, 'I would add', 0);
    expect(settleDraft(draft, listening(), 0)).toEqual({ draft, unsent: null });
  });

  it('are cleared when their question times out, and kept as not sent (the server never had them)', () => {
    const draft = editDraft(EMPTY_DRAFT, 'I would start by talking to five churned customers', 0);
    const settled = settleDraft(draft, timedOut(), 1);
    expect(settled.draft).toEqual(EMPTY_DRAFT);
    expect(settled.unsent).toEqual({ turn: 0, text: 'I would start by talking to five churned customers', source: 'typed' });
  });

  it('leave nothing behind for blank text when time runs out', () => {
    expect(settleDraft({ text: '   ', turn: 0 }, timedOut(), 1)).toEqual({ draft: EMPTY_DRAFT, unsent: null });
  });

  it('written while no question was open, go to the next question asked', () => {
    const draft = editDraft(EMPTY_DRAFT, 'notes', null);
    expect(draft.turn).toBeNull();
    expect(settleDraft(draft, listening(), 0).draft).toEqual({ text: 'notes', turn: 0 });
  });

  it('keep the unsent words of a spoken answer whose question timed out', () => {
    expect(unsentTranscript({ turn: 0, text: 'Add an index' }, timedOut())).toEqual({ turn: 0, text: 'Add an index', source: 'voice' });
    expect(unsentTranscript({ turn: 0, text: 'Add an index' }, listening())).toBeNull();
    expect(unsentTranscript({ turn: 0, text: ' ' }, timedOut())).toBeNull();
  });

  it('keep one unsent answer per question, in order', () => {
    let list = addUnsent([], { turn: 2, text: 'b', source: 'typed' });
    list = addUnsent(list, { turn: 0, text: 'a', source: 'typed' });
    list = addUnsent(list, { turn: 2, text: 'c', source: 'voice' });
    expect(list.map((u) => [u.turn, u.text])).toEqual([
      [0, 'a'],
      [2, 'c'],
    ]);
  });

  it('read back what was stored, including the bare text an older client saved', () => {
    expect(parseDraft(JSON.stringify({ text: 'hi', turn: 3 }))).toEqual({ text: 'hi', turn: 3 });
    expect(parseDraft('plain text')).toEqual({ text: 'plain text', turn: null });
    expect(parseDraft(null)).toEqual(EMPTY_DRAFT);
    expect(parseUnsent(JSON.stringify([{ turn: 1, text: 'x', source: 'typed' }, { nope: 1 }]))).toEqual([{ turn: 1, text: 'x', source: 'typed' }]);
    expect(parseUnsent('garbage')).toEqual([]);
  });
});
