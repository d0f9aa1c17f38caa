/** Builders for server frames in tests. */
import type {
  CriterionScore,
  ReadyFrame,
  ServerFrame,
} from '../api/protocol';
import type { InterviewDetail } from '../api/client';

export const EPOCH = 'e1';

export function ready(over: Partial<ReadyFrame> = {}): ReadyFrame {
  return {
    type: 'ready',
    seq: 0,
    epoch: EPOCH,
    protocol: 1,
    interview_id: 'iv1',
    status: 'live',
    phase: 'waiting',
    turn: 0,
    kind: 'question',
    text: '',
    question_number: 1,
    question_count: 2,
    answer_deadline_ms: null,
    provider: 'offline',
    model: 'offline-v1',
    offline: true,
    head_seq: 0,
    resumed: true,
    ...over,
  };
}

type Distribute<T> = T extends ServerFrame ? Omit<T, 'seq' | 'epoch'> : never;

/** Numbers a list of logged events 1, 2, 3… (or from `start`). */
export function logged(events: Distribute<ServerFrame>[], start = 1, epoch = EPOCH): ServerFrame[] {
  return events.map((e, i) => ({ ...e, seq: start + i, epoch }) as ServerFrame);
}

export const criteria: CriterionScore[] = [
  { criterion: 'coverage', value: 2, evidence: 'I would add an index on user_id', suggestion: 'Mention idempotency.' },
  { criterion: 'specificity', value: 5, evidence: 'p99 went from 800ms to 120ms', suggestion: 'Give the baseline.' },
];

/** A first question streamed in three pieces, answered and scored. */
export function firstTurnEvents(): ServerFrame[] {
  return logged([
    { type: 'turn.start', turn: 0, kind: 'question', question_number: 1, question_count: 2 },
    { type: 'turn.delta', turn: 0, text: 'How do ' },
    { type: 'turn.delta', turn: 0, text: 'you handle ' },
    { type: 'turn.delta', turn: 0, text: 'retries?' },
    { type: 'turn.end', turn: 0, text: 'How do you handle retries?', interrupted: false, answer_deadline_ms: 2_000_000 },
    { type: 'answer.accepted', turn: 0, text: 'I would add an index on user_id. Our p99 went from 800ms to 120ms.', source: 'typed' },
    { type: 'score', turn: 0, criteria, average: 3.5, rubric_version: 'r1' },
  ]);
}

export function detail(over: Partial<InterviewDetail> = {}): InterviewDetail {
  return {
    id: 'iv1',
    track: 'backend',
    level: 'mid',
    topics: [],
    question_count: 2,
    answer_time_limit_s: 180,
    status: 'live',
    provider: 'offline',
    model: 'offline-v1',
    overall_score: null,
    created_at: '2026-01-05T10:00:00Z',
    started_at: '2026-01-05T10:00:01Z',
    finished_at: null,
    job_description: '',
    resume_text: '',
    tokens_in: 0,
    tokens_out: 0,
    cost_usd: 0,
    share_token: null,
    turns: [
      {
        index: 0,
        kind: 'question',
        question: 'How do you handle retries?',
        answer: 'I would add an index on user_id. Our p99 went from 800ms to 120ms.',
        answer_source: 'typed',
        outcome: 'answered',
        asked_at: '2026-01-05T10:00:02Z',
        answered_at: '2026-01-05T10:01:00Z',
        scores: criteria.map((c) => ({ ...c, rubric_version: 'r1' })),
      },
    ],
    report: null,
    ...over,
  };
}
