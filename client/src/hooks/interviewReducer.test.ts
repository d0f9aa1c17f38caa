import { describe, expect, it } from 'vitest';
import type { ServerFrame } from '../api/protocol';
import { detail, EPOCH, firstTurnEvents, logged, ready } from '../test/frames';
import {
  closeDecision,
  fromPersisted,
  initialState,
  interviewReducer,
  openTurnMissing,
  toPersisted,
  type InterviewAction,
  type InterviewState,
} from './interviewReducer';

function run(frames: ServerFrame[], state: InterviewState = initialState('iv1')): InterviewState {
  return frames.reduce((s, frame) => interviewReducer(s, { type: 'frame', frame }), state);
}

function apply(state: InterviewState, ...actions: InterviewAction[]): InterviewState {
  return actions.reduce(interviewReducer, state);
}

describe('interviewReducer: a live interview', () => {
  it('builds the transcript from streamed events and tracks seq and phase', () => {
    const events = firstTurnEvents();
    let s = run([ready()]);
    expect(s.connection).toBe('connected');
    expect(s.epoch).toBe(EPOCH);
    s = run(events.slice(0, 3), s);
    expect(s.phase).toBe('asking');
    expect(s.turns[0]).toMatchObject({ question: 'How do you handle ', streaming: true });
    s = run(events.slice(3, 5), s);
    expect(s.phase).toBe('listening');
    expect(s.deadlineMs).toBe(2_000_000);
    expect(s.turns[0]).toMatchObject({ question: 'How do you handle retries?', streaming: false });
    s = run(events.slice(5), s);
    expect(s.phase).toBe('scoring');
    expect(s.deadlineMs).toBeNull();
    expect(s.turns[0].answer).toMatch(/^I would add/);
    expect(s.turns[0].outcome).toBe('answered');
    expect(s.turns[0].scores).toHaveLength(2);
    expect(s.turns[0].average).toBe(3.5);
    expect(s.lastSeq).toBe(7);
  });

  it('shows the offline interviewer once the server switches to it', () => {
    let s = run([ready({ offline: false, provider: 'gemini', model: 'gemini-3.5-flash' })]);
    expect(s.offline).toBe(false);
    s = run(
      logged([
        {
          type: 'interviewer.changed',
          provider: 'offline',
          model: 'offline-v1',
          offline: true,
          reason: 'the interviewer failed to speak; continuing with the offline interviewer',
        },
      ]),
      s,
    );
    expect(s).toMatchObject({ offline: true, provider: 'offline', model: 'offline-v1', lastSeq: 1 });
  });

  it('drops events it has already applied when a resumed connection replays them', () => {
    const events = firstTurnEvents();
    // First connection got seq 1..3, then the socket dropped.
    let s = run([ready(), ...events.slice(0, 3)]);
    s = apply(s, { type: 'closed', code: 1006, retryAt: 1 });
    expect(s.connection).toBe('reconnecting');
    // The server replays a little more than asked for (overlap), then continues.
    s = run([ready({ resumed: true, phase: 'asking', head_seq: 7 }), ...events.slice(1)], s);
    expect(s.connection).toBe('resumed');
    expect(s.turns).toHaveLength(1);
    expect(s.turns[0].question).toBe('How do you handle retries?');
    expect(s.lastSeq).toBe(7);
    // A second replay of everything changes nothing.
    const again = run(events, s);
    expect(again.turns).toEqual(s.turns);
  });

  it('never grows a finished turn (a late delta is ignored)', () => {
    const events = firstTurnEvents();
    let s = run([ready(), ...events.slice(0, 5)]);
    s = run(logged([{ type: 'turn.delta', turn: 0, text: ' again' }], 8), s);
    expect(s.turns[0].question).toBe('How do you handle retries?');
  });

  it('replaces the text when turn.start arrives again for a known turn', () => {
    let s = run([ready(), ...firstTurnEvents().slice(0, 3)]);
    expect(s.turns[0].question).toBe('How do you handle ');
    s = run(
      logged(
        [
          { type: 'turn.start', turn: 0, kind: 'question', question_number: 1, question_count: 2 },
          { type: 'turn.delta', turn: 0, text: 'Tell me about queues.' },
        ],
        4,
      ),
      s,
    );
    expect(s.turns).toHaveLength(1);
    expect(s.turns[0]).toMatchObject({ question: 'Tell me about queues.', streaming: true });
  });

  it('marks skipped and timed-out turns and moves to scoring', () => {
    let s = run([ready(), ...firstTurnEvents().slice(0, 5)]);
    s = run(logged([{ type: 'answer.skipped', turn: 0 }], 6), s);
    expect(s.turns[0].outcome).toBe('skipped');
    s = run(
      logged(
        [
          { type: 'turn.start', turn: 1, kind: 'question', question_number: 2, question_count: 2 },
          { type: 'turn.end', turn: 1, text: 'Q2', interrupted: true, answer_deadline_ms: 5 },
          { type: 'answer.timeout', turn: 1 },
        ],
        7,
      ),
      s,
    );
    expect(s.turns[1]).toMatchObject({ outcome: 'timed_out', interrupted: true, questionNumber: 2 });
    expect(s.questionNumber).toBe(2);
  });

  it('keeps the report and, on ended, records the open question as skipped', () => {
    let s = run([ready(), ...firstTurnEvents()]);
    s = run(
      logged(
        [
          { type: 'turn.start', turn: 1, kind: 'follow_up', question_number: 1, question_count: 2 },
          { type: 'turn.end', turn: 1, text: 'Why?', interrupted: false, answer_deadline_ms: 5 },
          {
            type: 'report',
            overall_score: 3.2,
            strengths: ['a'],
            weaknesses: ['b'],
            next_steps: ['c', 'd', 'e'],
            rubric_version: 'r1',
            provider: 'offline',
          },
          { type: 'ended', status: 'finished', reason: 'ended by the candidate' },
        ],
        8,
      ),
      s,
    );
    expect(s.phase).toBe('ended');
    expect(s.report?.overall_score).toBe(3.2);
    expect(s.ended).toEqual({ status: 'finished', reason: 'ended by the candidate' });
    expect(s.turns[1].outcome).toBe('skipped');
    expect(s.deadlineMs).toBeNull();
  });

  it('reports errors about client frames without touching the transcript', () => {
    let s = run([ready(), ...firstTurnEvents().slice(0, 5)]);
    s = apply(s, { type: 'sent', kind: 'answer', turn: 0 });
    expect(s.pending).toEqual({ turn: 0, kind: 'answer' });
    s = run(
      [{ type: 'error', seq: 0, epoch: EPOCH, code: 'wrong_turn', message: 'turn 3 is not open', retryable: false }],
      s,
    );
    expect(s.pending).toBeNull();
    expect(s.lastError).toMatchObject({ code: 'wrong_turn', seq: 0 });
    expect(s.lastSeq).toBe(5);
  });

  it('flags an answer that could not be scored', () => {
    let s = run([ready(), ...firstTurnEvents().slice(0, 6)]);
    s = run(
      logged(
        [{ type: 'error', code: 'provider_failed', message: 'could not be scored', retryable: false }],
        7,
      ),
      s,
    );
    expect(s.turns[0].scoreFailed).toBe(true);
    expect(s.lastError?.code).toBe('provider_failed');
  });
});

describe('interviewReducer: resync', () => {
  it('buffers events during a resync and rebuilds the transcript from the REST snapshot', () => {
    // We had seen seq 1..3 of an old epoch.
    let s = run([ready(), ...firstTurnEvents().slice(0, 3)]);
    s = apply(s, { type: 'closed', code: 1012, retryAt: 1 });
    s = run([ready({ epoch: 'e2', resumed: false, phase: 'listening', turn: 1, head_seq: 40 })], s);
    expect(s.connection).toBe('connected');
    s = run([{ type: 'resync', seq: 0, epoch: 'e2', reason: 'epoch_changed', head_seq: 40, message: 'reload' }], s);
    expect(s.resyncing).toBe(true);
    // Live events keep coming while the snapshot loads; some are already in head.
    const live = logged(
      [
        { type: 'turn.delta', turn: 1, text: 'ignored: at or before head' },
        { type: 'answer.accepted', turn: 1, text: 'Because queues redeliver.', source: 'typed' },
      ],
      40,
      'e2',
    );
    s = run(live, s);
    expect(s.buffered).toHaveLength(2);
    expect(s.turns[0].question).toBe('How do you handle '); // unchanged until the snapshot
    s = apply(s, {
      type: 'snapshot',
      detail: detail({
        turns: [
          ...detail().turns,
          {
            index: 1,
            kind: 'follow_up',
            question: 'Why?',
            answer: null,
            answer_source: null,
            outcome: null,
            asked_at: '2026-01-05T10:02:00Z',
            answered_at: null,
            scores: [],
          },
        ],
      }),
      headSeq: 40,
      epoch: 'e2',
    });
    expect(s.resyncing).toBe(false);
    expect(s.epoch).toBe('e2');
    expect(s.lastSeq).toBe(41);
    expect(s.turns.map((t) => t.question)).toEqual(['How do you handle retries?', 'Why?']);
    expect(s.turns[0].scores).toHaveLength(2);
    expect(s.turns[1].answer).toBe('Because queues redeliver.');
  });

  it('knows when the open question is missing after a snapshot (the REST API has finished turns only)', () => {
    let s = run([ready({ phase: 'listening', turn: 1 })]);
    s = apply(s, { type: 'snapshot', detail: detail(), headSeq: 10, epoch: EPOCH });
    expect(openTurnMissing(s)).toBe(true);
    s = apply(s, { type: 'rewind' });
    expect(s.lastSeq).toBe(0);
    // Replaying the whole log over the snapshot fills it in and duplicates nothing.
    s = run(
      [
        ...firstTurnEvents(),
        ...logged(
          [
            { type: 'turn.start', turn: 1, kind: 'question', question_number: 2, question_count: 2 },
            { type: 'turn.delta', turn: 1, text: 'Second?' },
            { type: 'turn.end', turn: 1, text: 'Second?', interrupted: false, answer_deadline_ms: 9 },
          ],
          8,
        ),
      ],
      s,
    );
    expect(openTurnMissing(s)).toBe(false);
    expect(s.turns.map((t) => t.question)).toEqual(['How do you handle retries?', 'Second?']);
    expect(s.turns[0].answer).toMatch(/^I would add/);
  });

  it('fills the open question from ready after a resync, and keeps streaming into it', () => {
    let s = run([ready({ phase: 'asking', turn: 1, kind: 'follow_up', text: 'You said "p99". Why ', head_seq: 10, resumed: false })]);
    s = run([{ type: 'resync', seq: 0, epoch: EPOCH, reason: 'history_trimmed', head_seq: 10, message: '' }], s);
    s = apply(s, { type: 'snapshot', detail: detail(), headSeq: 10, epoch: EPOCH });
    expect(openTurnMissing(s)).toBe(false);
    const open = s.turns.find((t) => t.index === 1);
    expect(open).toMatchObject({ kind: 'follow_up', question: 'You said "p99". Why ', streaming: true });
    s = run(logged([{ type: 'turn.delta', turn: 1, text: 'that number?' }], 11), s);
    expect(s.turns.find((t) => t.index === 1)?.question).toBe('You said "p99". Why that number?');
  });

  it('takes a finished interview from REST as final', () => {
    const s = apply(initialState('iv1'), {
      type: 'snapshot',
      detail: detail({
        status: 'finished',
        report: {
          overall_score: 3,
          strengths: [],
          weaknesses: [],
          next_steps: [],
          rubric_version: 'r1',
          provider: 'offline',
          created_at: '2026-01-05T10:05:00Z',
        },
      }),
    });
    expect(s.phase).toBe('ended');
    expect(s.ended?.status).toBe('finished');
    expect(s.report?.overall_score).toBe(3);
    expect(s.turns).toHaveLength(1);
  });
});

describe('interviewReducer: connection', () => {
  it.each([
    [1001, 'retry'],
    [1006, 'retry'],
    [1012, 'retry'],
    [1011, 'retry'],
    [4429, 'retry'],
    [4503, 'retry'],
    [4413, 'retry'],
    [4401, 'auth'],
    [4404, 'not_found'],
    [4409, 'finished'],
    [4400, 'fatal'],
  ] as const)('close code %i means %s', (code, decision) => {
    expect(closeDecision(code)).toBe(decision);
  });

  it('counts reconnect attempts and resets them on ready', () => {
    let s = initialState('iv1');
    s = apply(s, { type: 'closed', code: 1006, retryAt: 10 }, { type: 'closed', code: 1006, retryAt: 20 });
    expect(s).toMatchObject({ connection: 'reconnecting', attempt: 2, retryAt: 20, lastCloseCode: 1006 });
    s = apply(s, { type: 'connect', reconnect: true });
    expect(s.connection).toBe('reconnecting');
    s = run([ready()], s);
    expect(s).toMatchObject({ connection: 'connected', attempt: 0, retryAt: null });
  });

  it('stops for good on 4401, 4404 and 4409', () => {
    for (const [code, reason] of [
      [4401, 'auth'],
      [4404, 'not_found'],
      [4409, 'finished'],
    ] as const) {
      const s = apply(initialState('iv1'), { type: 'closed', code, retryAt: null });
      expect(s.connection).toBe('closed');
      expect(s.closeReason).toBe(reason);
      // Nothing reopens it.
      expect(apply(s, { type: 'connect', reconnect: true }).connection).toBe('closed');
    }
  });

  it('shows "resumed" after a reconnect until it settles', () => {
    let s = run([ready(), ...firstTurnEvents().slice(0, 2)]);
    s = apply(s, { type: 'closed', code: 1006, retryAt: 1 });
    s = run([ready({ resumed: true })], s);
    expect(s.connection).toBe('resumed');
    expect(apply(s, { type: 'settled' }).connection).toBe('connected');
  });
});

describe('interviewReducer: persistence', () => {
  it('round-trips the transcript with its seq', () => {
    const s = run([ready(), ...firstTurnEvents().slice(0, 3)]);
    const restored = fromPersisted('iv1', JSON.parse(JSON.stringify(toPersisted(s))));
    expect(restored.lastSeq).toBe(3);
    expect(restored.epoch).toBe(EPOCH);
    expect(restored.turns).toEqual(s.turns);
    expect(restored.connection).toBe('connecting');
    // Continuing from the restored state does not repeat a word.
    const next = run([ready({ phase: 'asking' }), ...firstTurnEvents()], restored);
    expect(next.turns[0].question).toBe('How do you handle retries?');
  });

  it('ignores garbage', () => {
    expect(fromPersisted('iv1', { v: 99 })).toEqual(initialState('iv1'));
    expect(fromPersisted('iv1', null)).toEqual(initialState('iv1'));
  });
});
