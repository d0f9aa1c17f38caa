import { describe, expect, it } from 'vitest';
import { questionScore } from '../test/questions';
import type { ServerFrame } from '../api/protocol';
import {
  audioAck,
  criteria,
  delivery,
  detail,
  EPOCH,
  firstTurnEvents,
  frameError,
  logged,
  ready,
  resync,
  serverFrameProblems,
  transcriptFinal,
} from '../test/frames';
import {
  closeDecision,
  fromPersisted,
  initialState,
  interviewReducer,
  openTurnMissing,
  pauseView,
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
    s = run(events.slice(5, 6), s);
    expect(s.phase).toBe('scoring');
    expect(s.deadlineMs).toBeNull();
    s = run(events.slice(6), s);
    expect(s.phase).toBe('asking');
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
          phase: 'asking',
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
    s = run(logged([{ type: 'turn.delta', phase: 'asking', turn: 0, text: ' again' }], 8), s);
    expect(s.turns[0].question).toBe('How do you handle retries?');
  });

  it('replaces the text when turn.start arrives again for a known turn', () => {
    let s = run([ready(), ...firstTurnEvents().slice(0, 3)]);
    expect(s.turns[0].question).toBe('How do you handle ');
    s = run(
      logged(
        [
          { type: 'turn.start', phase: 'asking', turn: 0, kind: 'question', question_number: 1, question_count: 2, targets: [] },
          { type: 'turn.delta', phase: 'asking', turn: 0, text: 'Tell me about queues.' },
        ],
        4,
      ),
      s,
    );
    expect(s.turns).toHaveLength(1);
    expect(s.turns[0]).toMatchObject({ question: 'Tell me about queues.', streaming: true });
  });

  it('counts the takes of a turn: a repeated turn.start is take 2, and a replay does not count again', () => {
    let s = run([ready(), ...firstTurnEvents().slice(0, 2)]);
    expect(s.turns[0].take).toBe(1);
    const again = logged(
      [{ type: 'turn.start', phase: 'asking', turn: 0, kind: 'question', question_number: 1, question_count: 2, targets: [] }],
      3,
    );
    s = run(again, s);
    expect(s.turns[0].take).toBe(2);
    s = run(again, s); // the same event replayed after a resume
    expect(s.turns[0].take).toBe(2);
  });

  it('marks skipped and timed-out turns, in the phase the server moved to', () => {
    let s = run([ready(), ...firstTurnEvents().slice(0, 5)]);
    s = run(logged([{ type: 'answer.skipped', phase: 'asking', turn: 0 }], 6), s);
    expect(s.turns[0].outcome).toBe('skipped');
    expect(s.phase).toBe('asking');
    s = run(
      logged(
        [
          { type: 'turn.start', phase: 'asking', turn: 1, kind: 'question', question_number: 2, question_count: 2, targets: [] },
          { type: 'turn.end', phase: 'listening', turn: 1, text: 'Q2', interrupted: true, answer_deadline_ms: 5 },
          { type: 'answer.timeout', phase: 'reporting', turn: 1 },
        ],
        7,
      ),
      s,
    );
    expect(s.turns[1]).toMatchObject({ outcome: 'timed_out', interrupted: true, questionNumber: 2 });
    expect(s.questionNumber).toBe(2);
    expect(s.phase).toBe('reporting');
  });

  it('keeps the report and, on ended, records the open question as skipped', () => {
    let s = run([ready(), ...firstTurnEvents()]);
    s = run(
      logged(
        [
          { type: 'turn.start', phase: 'asking', turn: 1, kind: 'follow_up', question_number: 1, question_count: 2, targets: [] },
          { type: 'turn.end', phase: 'listening', turn: 1, text: 'Why?', interrupted: false, answer_deadline_ms: 5 },
          {
            type: 'report',
            phase: 'reporting',
            overall_score: 3.2,
            strengths: ['a'],
            weaknesses: ['b'],
            next_steps: ['c', 'd', 'e'],
            rubric_version: 'r1',
            provider: 'offline',
          },
          { type: 'ended', phase: 'ended', status: 'finished', reason: 'ended by the candidate' },
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
    s = run([frameError({ code: 'wrong_turn', message: 'turn 3 is not open' })], s);
    expect(s.pending).toBeNull();
    expect(s.lastError).toMatchObject({ code: 'wrong_turn', seq: 0 });
    expect(s.lastSeq).toBe(5);
    expect(s.phase).toBe('listening');
  });

  it('flags an answer that could not be scored', () => {
    let s = run([ready(), ...firstTurnEvents().slice(0, 6)]);
    s = run(
      logged(
        [{ type: 'error', phase: 'asking', code: 'provider_failed', message: 'could not be scored', retryable: false }],
        7,
      ),
      s,
    );
    expect(s.turns[0].scoreFailed).toBe(true);
    expect(s.lastError?.code).toBe('provider_failed');
    expect(s.phase).toBe('asking');
  });
});

/** A whole interview as the server logs it: every event type, each with the server's phase. */
function wholeInterview(): ServerFrame[] {
  return logged([
    { type: 'turn.start', phase: 'asking', turn: 0, kind: 'question', question_number: 1, question_count: 2, targets: [] },
    { type: 'turn.delta', phase: 'asking', turn: 0, text: 'How do you handle retries?' },
    { type: 'turn.end', phase: 'listening', turn: 0, text: 'How do you handle retries?', interrupted: false, answer_deadline_ms: 9e12 },
    { type: 'answer.accepted', phase: 'scoring', turn: 0, text: 'With backoff and an idempotency key.', source: 'typed' },
    { type: 'score', phase: 'asking', turn: 0, criteria, average: 3.5, rubric_version: 'r1', delivery: null },
    { type: 'turn.start', phase: 'asking', turn: 1, kind: 'follow_up', question_number: 1, question_count: 2, targets: [] },
    { type: 'turn.delta', phase: 'asking', turn: 1, text: 'Why a key?' },
    { type: 'turn.end', phase: 'listening', turn: 1, text: 'Why a key?', interrupted: false, answer_deadline_ms: 9e12 },
    // Skipping moves straight on to the next question: the server is asking, not scoring.
    { type: 'answer.skipped', phase: 'asking', turn: 1 },
    {
      type: 'interviewer.changed',
      phase: 'asking',
      provider: 'offline',
      model: 'offline-v1',
      offline: true,
      reason: 'the interviewer failed to speak; continuing with the offline interviewer',
    },
    { type: 'turn.start', phase: 'asking', turn: 2, kind: 'question', question_number: 2, question_count: 2, targets: [] },
    { type: 'turn.delta', phase: 'asking', turn: 2, text: 'Tell me about a time ' },
    // The model failed mid-turn: a logged error, and the turn is regenerated.
    { type: 'error', phase: 'asking', code: 'provider_failed', message: 'the interviewer stopped', retryable: true },
    { type: 'turn.start', phase: 'asking', turn: 2, kind: 'question', question_number: 2, question_count: 2, targets: [] },
    { type: 'turn.delta', phase: 'asking', turn: 2, text: 'Describe an outage.' },
    { type: 'turn.end', phase: 'listening', turn: 2, text: 'Describe an outage.', interrupted: false, answer_deadline_ms: 9e12 },
    { type: 'answer.accepted', phase: 'scoring', turn: 2, text: 'We lost a region for an hour.', source: 'voice' },
    // Scoring failed: the answer is saved unscored and the interview moves on to its report.
    { type: 'error', phase: 'reporting', code: 'provider_failed', message: 'could not be scored', retryable: false },
    {
      type: 'report',
      phase: 'reporting',
      overall_score: 3.5,
      strengths: ['a'],
      weaknesses: ['b'],
      next_steps: ['c'],
      rubric_version: 'r1',
      provider: 'offline',
    },
    { type: 'ended', phase: 'ended', status: 'finished', reason: 'completed' },
  ]);
}

describe("interviewReducer: the server's phase", () => {
  it('builds its fixtures from frames the JSON Schema accepts, and the check bites', () => {
    for (const frame of [ready(), resync(3), frameError(), ...firstTurnEvents(), ...wholeInterview()]) {
      expect(serverFrameProblems(frame), JSON.stringify(frame)).toBeNull();
    }
    const [start] = wholeInterview();
    const { phase: _phase, ...withoutPhase } = start as Extract<ServerFrame, { type: 'turn.start' }>;
    expect(serverFrameProblems(withoutPhase)).toMatch(/phase/);
    expect(serverFrameProblems({ ...start, phase: 'thinking' })).toMatch(/phase/);
  });

  it('takes the phase from ready', () => {
    for (const phase of ['waiting', 'asking', 'listening', 'scoring', 'reporting', 'ended'] as const) {
      expect(run([ready({ phase })]).phase).toBe(phase);
    }
  });

  it("shows the server's phase after every event type", () => {
    const events = wholeInterview();
    const types = new Set(events.map((e) => e.type));
    expect([...types].sort()).toEqual([
      'answer.accepted',
      'answer.skipped',
      'ended',
      'error',
      'interviewer.changed',
      'report',
      'score',
      'turn.delta',
      'turn.end',
      'turn.start',
    ]);
    let s = run([ready()]);
    for (const event of events) {
      s = run([event], s);
      expect(s.phase, `after ${event.type} (seq ${event.seq})`).toBe((event as { phase: string }).phase);
    }
    expect(s.turns.map((t) => [t.question, t.outcome])).toEqual([
      ['How do you handle retries?', 'answered'],
      ['Why a key?', 'skipped'],
      ['Describe an outage.', 'answered'],
    ]);
    expect(s.turns[2].scoreFailed).toBe(true);
    expect(s.ended?.status).toBe('finished');
  });

  it('shows asking after answer.skipped, with no answer clock', () => {
    let s = run([ready(), ...wholeInterview().slice(0, 8)]);
    expect(s.phase).toBe('listening');
    expect(s.deadlineMs).toBe(9e12);
    s = run(logged([{ type: 'answer.skipped', phase: 'asking', turn: 1 }], 9), s);
    expect(s.phase).toBe('asking');
    expect(s.deadlineMs).toBeNull();
    expect(s.pending).toBeNull();
  });

  it('marks a clarifying question as not scored and moves on to the turn that answers it', () => {
    let s = run([ready(), ...firstTurnEvents().slice(0, 6)]);
    expect(s.phase).toBe('scoring');
    s = run(logged([{ type: 'answer.clarification', phase: 'asking', turn: 0 }], 7), s);
    expect(s.phase).toBe('asking');
    expect(s.turns[0]).toMatchObject({ clarification: true, scores: null, scoreFailed: false });
    expect(s.pending).toBeNull();
  });

  it('takes the phase of a logged error, and keeps it for an error that has none', () => {
    let s = run([ready(), ...firstTurnEvents().slice(0, 6)]);
    expect(s.phase).toBe('scoring');
    s = run(logged([{ type: 'error', phase: 'asking', code: 'provider_failed', message: 'unscored', retryable: false }], 7), s);
    expect(s.phase).toBe('asking');
    expect(s.lastError).toMatchObject({ code: 'provider_failed', seq: 7 });
    // An internal error logged without a phase says nothing about where the interview is.
    s = run(logged([{ type: 'error', phase: null, code: 'internal', message: 'oops', retryable: true }], 8), s);
    expect(s.phase).toBe('asking');
    expect(s.lastSeq).toBe(8);
    // An error about a frame the client sent is not logged and changes no phase either.
    s = run([frameError({ code: 'not_listening', retryable: true })], s);
    expect(s.phase).toBe('asking');
  });

  it('starts the answer clock only when the server listens after turn.end', () => {
    // The candidate answered while the interviewer was speaking: the turn ends and scoring starts.
    const s = run([
      ready(),
      ...logged([
        { type: 'turn.start', phase: 'asking', turn: 0, kind: 'question', question_number: 1, question_count: 2, targets: [] },
        { type: 'turn.delta', phase: 'asking', turn: 0, text: 'How do' },
        { type: 'turn.end', phase: 'listening', turn: 0, text: 'How do', interrupted: true, answer_deadline_ms: 5 },
        { type: 'answer.accepted', phase: 'scoring', turn: 0, text: 'Retries.', source: 'typed' },
      ]),
    ]);
    expect(s.phase).toBe('scoring');
    expect(s.deadlineMs).toBeNull();
    expect(s.turns[0]).toMatchObject({ interrupted: true, outcome: 'answered' });
  });
});

describe('interviewReducer: more time for the answer', () => {
  it('moves the answer clock when an administrator extends the open answer', () => {
    const s = run([
      ready(),
      ...logged([
        { type: 'turn.start', phase: 'asking', turn: 0, kind: 'question', question_number: 1, question_count: 2, targets: [] },
        { type: 'turn.end', phase: 'listening', turn: 0, text: 'Why?', interrupted: false, answer_deadline_ms: 5_000 },
        { type: 'answer.extended', phase: 'listening', turn: 0, answer_deadline_ms: 125_000, seconds: 120 },
      ]),
    ]);
    expect(s.phase).toBe('listening');
    expect(s.deadlineMs).toBe(125_000);
  });
});

describe('interviewReducer: a regenerated turn', () => {
  it('leaves exactly the new text when turn.start repeats after some deltas', () => {
    let s = run([ready()]);
    s = run(
      logged([
        { type: 'turn.start', phase: 'asking', turn: 0, kind: 'question', question_number: 1, question_count: 3, targets: [] },
        { type: 'turn.delta', phase: 'asking', turn: 0, text: "Thanks, that's helpful. " },
        { type: 'turn.delta', phase: 'asking', turn: 0, text: 'Next question. Question 2 of 3.' },
        // The process driving the interview died; another one regenerates the turn.
        { type: 'turn.start', phase: 'asking', turn: 0, kind: 'question', question_number: 1, question_count: 3, targets: [] },
      ]),
      s,
    );
    expect(s.turns).toHaveLength(1);
    expect(s.turns[0]).toMatchObject({ question: '', streaming: true });
    expect(s.phase).toBe('asking');
    s = run(
      logged(
        [
          { type: 'turn.delta', phase: 'asking', turn: 0, text: "Thanks, that's helpful. " },
          { type: 'turn.delta', phase: 'asking', turn: 0, text: 'Next question. Question 2 of 3: queues?' },
          {
            type: 'turn.end',
            phase: 'listening',
            turn: 0,
            text: "Thanks, that's helpful. Next question. Question 2 of 3: queues?",
            interrupted: false,
            answer_deadline_ms: 9e12,
          },
        ],
        5,
      ),
      s,
    );
    expect(s.turns).toHaveLength(1);
    expect(s.turns[0]).toMatchObject({
      question: "Thanks, that's helpful. Next question. Question 2 of 3: queues?",
      streaming: false,
      interrupted: false,
    });
    expect(s.phase).toBe('listening');
  });

  it('keeps the new text on screen before turn.end too (only the regenerated words)', () => {
    const s = run([
      ready(),
      ...logged([
        { type: 'turn.start', phase: 'asking', turn: 1, kind: 'question', question_number: 2, question_count: 3, targets: [] },
        { type: 'turn.delta', phase: 'asking', turn: 1, text: 'Old words.' },
        { type: 'turn.start', phase: 'asking', turn: 1, kind: 'question', question_number: 2, question_count: 3, targets: [] },
        { type: 'turn.delta', phase: 'asking', turn: 1, text: 'New ' },
        { type: 'turn.delta', phase: 'asking', turn: 1, text: 'words' },
      ]),
    ]);
    expect(s.turns.map((t) => t.question)).toEqual(['New words']);
  });

  it('resumed on another process: the replayed turn.start replaces what was shown', () => {
    // Seen on process A: the start of turn 0 and two deltas; then A died.
    let s = run([ready(), ...firstTurnEvents().slice(0, 3)]);
    s = apply(s, { type: 'closed', code: 1006, retryAt: 1 });
    // Process B took over and regenerated the turn; the client resumes after seq 3.
    s = run(
      [
        ready({ phase: 'asking', head_seq: 6, text: 'Why queues?', resumed: true }),
        ...logged(
          [
            { type: 'turn.start', phase: 'asking', turn: 0, kind: 'question', question_number: 1, question_count: 2, targets: [] },
            { type: 'turn.delta', phase: 'asking', turn: 0, text: 'Why ' },
            { type: 'turn.delta', phase: 'asking', turn: 0, text: 'queues?' },
          ],
          4,
        ),
      ],
      s,
    );
    expect(s.turns[0]).toMatchObject({ question: 'Why queues?', streaming: true });
    expect(s.lastSeq).toBe(6);
  });

  it('after a resync, takes the open turn from ready instead of the words it had', () => {
    // Seen in the old epoch: the start of turn 0 and two deltas.
    let s = run([ready(), ...firstTurnEvents().slice(0, 3)]);
    expect(s.turns[0].question).toBe('How do you handle ');
    s = apply(s, { type: 'closed', code: 1006, retryAt: 1 });
    // The live store was lost and the turn regenerated: ready has its words as of head_seq.
    s = run(
      [
        ready({ epoch: 'e2', phase: 'asking', turn: 0, text: 'Why ', head_seq: 2, resumed: false }),
        resync(2, { epoch: 'e2' }),
        ...logged([{ type: 'turn.delta', phase: 'asking', turn: 0, text: 'queues?' }], 3, 'e2'),
      ],
      s,
    );
    s = apply(s, { type: 'snapshot', detail: detail({ turns: [] }), headSeq: 2, epoch: 'e2' });
    expect(openTurnMissing(s)).toBe(false);
    expect(s.turns.map((t) => t.question)).toEqual(['Why queues?']);
    expect(s.turns[0].streaming).toBe(true);
    expect(s.lastSeq).toBe(3);
  });
});

describe('interviewReducer: resync after the interview was rebuilt', () => {
  /** Seen: turn 0 answered and scored, and the start of turn 1, before its process died. */
  function cutInTurnOne(): InterviewState {
    let s = run([
      ready(),
      ...firstTurnEvents(),
      ...logged(
        [
          { type: 'turn.start', phase: 'asking', turn: 1, kind: 'follow_up', question_number: 1, question_count: 2, targets: [] },
          { type: 'turn.delta', phase: 'asking', turn: 1, text: 'Building on that, ' },
        ],
        8,
      ),
    ]);
    s = apply(s, { type: 'closed', code: 1006, retryAt: 1 });
    return s;
  }

  it('drops the stale words of a turn the server has not asked yet, and shows only the new ones', () => {
    let s = cutInTurnOne();
    s = run([ready({ epoch: 'e2', phase: 'waiting', turn: 1, head_seq: 0, resumed: false }), resync(0, { epoch: 'e2' })], s);
    s = apply(s, { type: 'snapshot', detail: detail(), headSeq: 0, epoch: 'e2' });
    expect(s.turns.map((t) => t.index)).toEqual([0]);
    expect(openTurnMissing(s)).toBe(false);
    s = run(
      logged(
        [
          { type: 'turn.start', phase: 'asking', turn: 1, kind: 'question', question_number: 2, question_count: 2, targets: [] },
          { type: 'turn.delta', phase: 'asking', turn: 1, text: 'Next question.' },
        ],
        1,
        'e2',
      ),
      s,
    );
    expect(s.turns[1]).toMatchObject({ kind: 'question', question: 'Next question.', questionNumber: 2 });
  });

  it('takes the turn from ready when the rebuilt interview asks another question in its place', () => {
    let s = cutInTurnOne();
    s = run(
      [
        ready({ epoch: 'e2', phase: 'asking', turn: 1, kind: 'question', question_number: 2, text: 'Thanks, ', head_seq: 2, resumed: false }),
        resync(2, { epoch: 'e2' }),
      ],
      s,
    );
    s = apply(s, { type: 'snapshot', detail: detail(), headSeq: 2, epoch: 'e2' });
    expect(s.turns[1]).toMatchObject({ kind: 'question', questionNumber: 2, question: 'Thanks, ', streaming: true });
  });

  it('drops them when the server went on to its report instead', () => {
    let s = cutInTurnOne();
    s = run([ready({ epoch: 'e2', phase: 'reporting', turn: 1, head_seq: 0, resumed: false }), resync(0, { epoch: 'e2' })], s);
    s = apply(s, { type: 'snapshot', detail: detail(), headSeq: 0, epoch: 'e2' });
    expect(s.turns.map((t) => t.question)).toEqual(['How do you handle retries?']);
    expect(s.phase).toBe('reporting');
  });

  it('keeps the answer being scored, which only we have', () => {
    let s = run([ready(), ...firstTurnEvents().slice(0, 6)]);
    s = apply(s, { type: 'closed', code: 1006, retryAt: 1 });
    s = run([ready({ epoch: 'e2', phase: 'scoring', turn: 0, head_seq: 9, resumed: false }), resync(9, { epoch: 'e2' })], s);
    s = apply(s, { type: 'snapshot', detail: detail({ turns: [] }), headSeq: 9, epoch: 'e2' });
    expect(s.turns).toHaveLength(1);
    expect(s.turns[0]).toMatchObject({ question: 'How do you handle retries?', outcome: 'answered' });
  });
});

describe('interviewReducer: resync', () => {
  it('buffers events during a resync and rebuilds the transcript from the REST snapshot', () => {
    // We had seen seq 1..3 of an old epoch.
    let s = run([ready(), ...firstTurnEvents().slice(0, 3)]);
    s = apply(s, { type: 'closed', code: 1012, retryAt: 1 });
    s = run([ready({ epoch: 'e2', resumed: false, phase: 'listening', turn: 1, head_seq: 40 })], s);
    expect(s.connection).toBe('connected');
    s = run([resync(40, { epoch: 'e2' })], s);
    expect(s.resyncing).toBe(true);
    // Live events keep coming while the snapshot loads; some are already in head.
    const live = logged(
      [
        { type: 'turn.delta', phase: 'asking', turn: 1, text: 'ignored: at or before head' },
        { type: 'answer.accepted', phase: 'scoring', turn: 1, text: 'Because queues redeliver.', source: 'typed' },
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
            delivery: null,
            reply: 'answer',
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

  it('shows an answer saved but not yet scored as answered and waiting, not failed', () => {
    let s = run([ready({ phase: 'scoring', turn: 0 })]);
    const [turn] = detail().turns;
    const pending = { ...turn, outcome: null, scores: [] };
    s = apply(s, { type: 'snapshot', detail: detail({ turns: [pending] }), headSeq: 3, epoch: EPOCH });
    expect(s.turns[0].outcome).toBe('answered');
    expect(s.turns[0].scoreFailed).toBe(false);
    expect(s.turns[0].scores).toBeNull();
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
            { type: 'turn.start', phase: 'asking', turn: 1, kind: 'question', question_number: 2, question_count: 2, targets: [] },
            { type: 'turn.delta', phase: 'asking', turn: 1, text: 'Second?' },
            { type: 'turn.end', phase: 'listening', turn: 1, text: 'Second?', interrupted: false, answer_deadline_ms: 9 },
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
    s = run([resync(10, { reason: 'history_trimmed' })], s);
    s = apply(s, { type: 'snapshot', detail: detail(), headSeq: 10, epoch: EPOCH });
    expect(openTurnMissing(s)).toBe(false);
    const open = s.turns.find((t) => t.index === 1);
    expect(open).toMatchObject({ kind: 'follow_up', question: 'You said "p99". Why ', streaming: true });
    s = run(logged([{ type: 'turn.delta', phase: 'asking', turn: 1, text: 'that number?' }], 11), s);
    expect(s.turns.find((t) => t.index === 1)?.question).toBe('You said "p99". Why that number?');
  });

  it('takes a finished interview from REST as final', () => {
    const s = apply(initialState('iv1'), {
      type: 'snapshot',
      detail: detail({
        status: 'finished',
        report: {
          overall_score: 3,
          overall_rule: 'the mean of the scored questions',
          questions: [questionScore({ number: 1, follow_ups: 0, answered: 1, unanswered: 0, score: 3 })],
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

describe('interviewReducer: spoken answers', () => {
  function spokenAndScored(withDelivery: ReturnType<typeof delivery> | null): ServerFrame[] {
    return logged([
      { type: 'turn.start', phase: 'asking', turn: 0, kind: 'question', question_number: 1, question_count: 2, targets: [] },
      { type: 'turn.end', phase: 'listening', turn: 0, text: 'Why?', interrupted: false, answer_deadline_ms: 9e12 },
      { type: 'answer.accepted', phase: 'scoring', turn: 0, text: 'Because um it scales.', source: 'voice' },
      { type: 'score', phase: 'asking', turn: 0, criteria, average: 3.5, rubric_version: 'r1', delivery: withDelivery },
    ]);
  }

  it('keeps the delivery that comes with the score of a spoken answer', () => {
    const s = run([ready(), ...spokenAndScored(delivery({ words_per_minute: 151, fillers: { um: 4 } }))]);
    expect(s.turns[0]).toMatchObject({ answerSource: 'voice', outcome: 'answered' });
    expect(s.turns[0].delivery).toMatchObject({ words_per_minute: 151, fillers: { um: 4 } });
  });

  it('has no delivery for a typed answer', () => {
    const s = run([ready(), ...firstTurnEvents()]);
    expect(s.turns[0].answerSource).toBe('typed');
    expect(s.turns[0].delivery).toBeNull();
  });

  it('leaves the transcript and its seq alone on audio.ack and transcript.final (they are for the recorder)', () => {
    const s = run([ready(), ...firstTurnEvents().slice(0, 5)]);
    const after = run([audioAck('rec_0123456789', 3), transcriptFinal('rec_0123456789')], s);
    expect(after).toBe(s);
  });

  it('takes delivery from the REST transcript, and survives a reload', () => {
    const s = apply(initialState('iv1'), {
      type: 'snapshot',
      detail: detail({
        turns: [{ ...detail().turns[0], answer_source: 'voice', delivery: delivery({ words: 99 }) }],
      }),
    });
    expect(s.turns[0].delivery?.words).toBe(99);
    const restored = fromPersisted('iv1', JSON.parse(JSON.stringify(toPersisted(s))));
    expect(restored.turns[0].delivery?.words).toBe(99);
    // Saved by a client from before voice answers: defaults filled in.
    const { delivery: _d, take: _t, ...old } = s.turns[0];
    const legacy = fromPersisted('iv1', { ...toPersisted(s), turns: [old] });
    expect(legacy.turns[0]).toMatchObject({ delivery: null, take: 1 });
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

describe('interviewReducer: more time, counted once', () => {
  it('adds up the grants of the open turn, and a replay of the log does not count them again', () => {
    const events = logged([
      { type: 'turn.start', phase: 'asking', turn: 0, kind: 'question', question_number: 1, question_count: 2, targets: [] },
      { type: 'turn.end', phase: 'listening', turn: 0, text: 'Why?', interrupted: false, answer_deadline_ms: 5_000 },
      { type: 'answer.extended', phase: 'listening', turn: 0, answer_deadline_ms: 65_000, seconds: 60 },
      { type: 'answer.extended', phase: 'listening', turn: 0, answer_deadline_ms: 185_000, seconds: 120 },
    ]);
    let s = run([ready(), ...events]);
    expect(s.extension).toEqual({ turn: 0, totalS: 180, lastS: 120, seq: 4 });
    // A rewind replays the whole log over what we have.
    s = run([ready(), ...events], interviewReducer(s, { type: 'rewind' }));
    expect(s.extension).toEqual({ turn: 0, totalS: 180, lastS: 120, seq: 4 });
    expect(s.deadlineMs).toBe(185_000);
    expect(fromPersisted('iv1', JSON.parse(JSON.stringify(toPersisted(s)))).extension).toEqual(s.extension);
  });
});

describe('interviewReducer: a time-out', () => {
  it('closes the turn as timed out with no answer and no clock, and the next words follow', () => {
    let s = run([ready(), ...firstTurnEvents().slice(0, 5)]);
    expect(s.deadlineMs).toBe(2_000_000);
    s = run(
      logged(
        [
          { type: 'answer.timeout', phase: 'asking', turn: 0 },
          { type: 'turn.start', phase: 'asking', turn: 1, kind: 'question', question_number: 2, question_count: 2, targets: [] },
          { type: 'turn.delta', phase: 'asking', turn: 1, text: "We're out of time on that one, so let's move on." },
        ],
        6,
      ),
      s,
    );
    expect(s.turns[0]).toMatchObject({ outcome: 'timed_out', answer: null, streaming: false });
    expect(s.deadlineMs).toBeNull();
    expect(s.pending).toBeNull();
    expect(s.turns[1].question).toMatch(/^We're out of time/);
  });
});

describe('interviewReducer: a turn that restarts', () => {
  it('after a server restart, shows the regenerated words once, not after the old ones (37-room-duplicated-words)', () => {
    let s = run([ready(), ...firstTurnEvents()]);
    const second = logged(
      [
        { type: 'turn.start', phase: 'asking', turn: 1, kind: 'question', question_number: 2, question_count: 3, targets: [] },
        { type: 'turn.delta', phase: 'asking', turn: 1, text: "Thanks, that's helpful. Next question. " },
        { type: 'turn.delta', phase: 'asking', turn: 1, text: 'Question 2 of 3. ' },
      ],
      8,
    );
    s = run(second, s);
    s = apply(s, { type: 'closed', code: 1006, retryAt: 1 });
    // The restarted process speaks the turn again from its start.
    s = run(
      [
        ready({ phase: 'asking', turn: 1, head_seq: 13, resumed: true }),
        ...logged(
          [
            { type: 'turn.start', phase: 'asking', turn: 1, kind: 'question', question_number: 2, question_count: 3, targets: [] },
            { type: 'turn.delta', phase: 'asking', turn: 1, text: "Thanks, that's helpful. Next question. " },
            { type: 'turn.delta', phase: 'asking', turn: 1, text: 'Question 2 of 3. Your' },
          ],
          11,
        ),
      ],
      s,
    );
    expect(s.turns[1].question).toBe("Thanks, that's helpful. Next question. Question 2 of 3. Your");
    expect(s.turns[1].take).toBe(2);
    // The scored answer before it is untouched.
    expect(s.turns[0].scores).toHaveLength(2);
  });

  it('replayed from the start after a resync (rewind), every turn keeps its own words once', () => {
    const events = [...firstTurnEvents(), ...logged([{ type: 'turn.start', phase: 'asking', turn: 1, kind: 'question', question_number: 2, question_count: 2, targets: [] }, { type: 'turn.delta', phase: 'asking', turn: 1, text: 'Why queues?' }], 8)];
    let s = run([ready(), ...events]);
    s = interviewReducer(s, { type: 'rewind' });
    s = run([ready({ phase: 'asking' }), ...events], s);
    expect(s.turns.map((t) => t.question)).toEqual(['How do you handle retries?', 'Why queues?']);
  });
});

describe('interviewReducer: pauses', () => {
  const listening = () => run([ready(), ...firstTurnEvents().slice(0, 5)]);

  it('shows a pause as requested as soon as it is sent, and as the server logged it', () => {
    let s = apply(listening(), { type: 'pause-sent', request: 'pause' });
    expect(pauseView(s)).toBe('requested');
    s = run(logged([{ type: 'pause.requested', phase: 'listening', turn: 0 }], 6), s);
    expect(s).toMatchObject({ pauseRequested: true, pauseSent: null, phase: 'listening' });
    expect(pauseView(s)).toBe('requested');
  });

  it('pauses after the question: phase paused, no answer clock, nothing asked', () => {
    let s = run(logged([{ type: 'pause.requested', phase: 'listening', turn: 0 }], 6), listening());
    s = run(
      logged(
        [
          { type: 'answer.accepted', phase: 'scoring', turn: 0, text: 'An index.', source: 'typed' },
          { type: 'score', phase: 'paused', turn: 0, criteria, average: 3.5, rubric_version: 'r1', delivery: null },
          { type: 'interview.paused', phase: 'paused', turn: 1, paused_ms: 1_700_000_000_000 },
        ],
        7,
      ),
      s,
    );
    expect(s.phase).toBe('paused');
    expect(pauseView(s)).toBe('paused');
    expect(s).toMatchObject({ pauseRequested: false, pausedSince: 1_700_000_000_000, deadlineMs: null });
    expect(s.turns).toHaveLength(1);
  });

  it('resumes: "resuming" once Resume is sent, then the next question follows', () => {
    let s = run(
      logged(
        [
          { type: 'pause.requested', phase: 'listening', turn: 0 },
          { type: 'answer.skipped', phase: 'paused', turn: 0 },
          { type: 'interview.paused', phase: 'paused', turn: 1, paused_ms: 5 },
        ],
        6,
      ),
      listening(),
    );
    s = apply(s, { type: 'pause-sent', request: 'resume' });
    expect(pauseView(s)).toBe('resuming');
    s = run(
      logged(
        [
          { type: 'interview.resumed', phase: 'asking', turn: 1, paused_s: 42 },
          { type: 'turn.start', phase: 'asking', turn: 1, kind: 'question', question_number: 2, question_count: 2, targets: [] },
        ],
        9,
      ),
      s,
    );
    expect(pauseView(s)).toBe('none');
    expect(s).toMatchObject({ phase: 'asking', pausedSince: null, pauseSent: null, currentTurn: 1 });
  });

  it('cancels a requested pause: gone at once, and the server confirms with paused_s 0', () => {
    let s = run(logged([{ type: 'pause.requested', phase: 'listening', turn: 0 }], 6), listening());
    s = apply(s, { type: 'pause-sent', request: 'resume' });
    expect(pauseView(s)).toBe('none');
    s = run(logged([{ type: 'interview.resumed', phase: 'listening', turn: 0, paused_s: 0 }], 7), s);
    expect(s).toMatchObject({ pauseRequested: false, pauseSent: null, phase: 'listening' });
    expect(pauseView(s)).toBe('none');
  });

  it('restores the paused room from ready after a reconnect or a reload', () => {
    const s = run([ready({ phase: 'paused', turn: 1, kind: 'question', text: '', question_number: 2 })]);
    expect(pauseView(s)).toBe('paused');
    expect(s.deadlineMs).toBeNull();
  });

  it('learns of a requested pause from ready (another tab asked for it)', () => {
    expect(pauseView(run([ready({ phase: 'listening', pause_requested: true })]))).toBe('requested');
    expect(pauseView(run([ready({ phase: 'listening' })]))).toBe('none');
  });

  it('keeps a logged request over a reload (the event is before the seq it resumes from)', () => {
    const s = run(logged([{ type: 'pause.requested', phase: 'listening', turn: 0 }], 6), listening());
    const restored = fromPersisted('iv1', JSON.parse(JSON.stringify(toPersisted(s))));
    expect(restored.pauseRequested).toBe(true);
    expect(pauseView(run([ready({ phase: 'listening' })], restored))).toBe('requested');
  });

  it('forgets what was sent but not answered when the connection drops, and a refused pause', () => {
    let s = apply(listening(), { type: 'pause-sent', request: 'pause' });
    s = apply(s, { type: 'closed', code: 1006, retryAt: 1 });
    expect(pauseView(s)).toBe('none');
    s = apply(run([ready({ phase: 'reporting' })], s), { type: 'pause-sent', request: 'pause' });
    s = run([frameError({ code: 'not_listening', message: 'the interview is ending: nothing to pause' })], s);
    expect(s.pauseSent).toBeNull();
  });

  it('drops a request made during the last question once the interview moves to its report', () => {
    let s = run(logged([{ type: 'pause.requested', phase: 'listening', turn: 0 }], 6), listening());
    s = run(logged([{ type: 'answer.timeout', phase: 'reporting', turn: 0 }], 7), s);
    expect(s.pauseRequested).toBe(false);
    expect(pauseView(s)).toBe('none');
  });
});


describe('interviewReducer: what a question was chosen for', () => {
  it('keeps the job-description terms a turn.start names, and a regenerated turn replaces them', () => {
    const first = run(logged([{ type: 'turn.start', phase: 'asking', turn: 0, kind: 'question', question_number: 1, question_count: 2, targets: ['kafka', 'caching'] }]));
    expect(first.turns[0].targets).toEqual(['kafka', 'caching']);
    const again = run(logged([{ type: 'turn.start', phase: 'asking', turn: 0, kind: 'question', question_number: 1, question_count: 2, targets: [] }], 2), first);
    expect(again.turns[0].targets).toEqual([]);
  });
});
