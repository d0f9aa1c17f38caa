/**
 * Builders for server frames in tests. Every frame they build is typed by the generated
 * protocol types and checked against the JSON Schema of the server's frames
 * (`protocol.schema.json`), so a fixture the server could not send fails where it is built.
 */
import { Ajv2020, type ErrorObject } from 'ajv/dist/2020';
import schema from '../../protocol.schema.json';
import type {
  AudioAckFrame,
  ClientFrame,
  CriterionScore,
  Delivery,
  ErrorFrame,
  ReadyFrame,
  ResyncFrame,
  ServerFrame,
  TranscriptFinalFrame,
} from '../api/protocol';
import type { InterviewDetail } from '../api/client';

export const EPOCH = 'e1';

// The schemas are pydantic's (draft 2020-12). Its `discriminator` is OpenAPI's keyword, with a
// `mapping` that Ajv does not implement: `oneOf` alone picks the member (each has its own `type`).
const ajv = new Ajv2020({ strict: false, allErrors: true });
const serverFrameValid = ajv.compile(schema.server);
const clientFrameValid = ajv.compile(schema.client);

function describeErrors(errors: ErrorObject[] | null | undefined): string {
  return (errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`.trim()).join('; ');
}

/** Why `frame` is not a server frame of the schema, or null when it is one. */
export function serverFrameProblems(frame: unknown): string | null {
  return serverFrameValid(frame) ? null : describeErrors(serverFrameValid.errors) || 'invalid';
}

/** Why `frame` is not a client frame of the schema, or null when it is one. */
export function clientFrameProblems(frame: unknown): string | null {
  return clientFrameValid(frame) ? null : describeErrors(clientFrameValid.errors) || 'invalid';
}

/** Returns `frame` once it is known to be valid against the schema (throws otherwise). */
export function checked<T extends ServerFrame>(frame: T): T {
  const problems = serverFrameProblems(frame);
  if (problems) throw new Error(`not a valid ${frame.type} frame: ${problems}\n${JSON.stringify(frame)}`);
  return frame;
}

export function ready(over: Partial<ReadyFrame> = {}): ReadyFrame {
  return checked<ReadyFrame>({
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
    pause_requested: false,
    head_seq: 0,
    resumed: true,
    ...over,
  });
}

export function resync(headSeq: number, over: Partial<ResyncFrame> = {}): ResyncFrame {
  return checked<ResyncFrame>({
    type: 'resync',
    seq: 0,
    epoch: EPOCH,
    reason: 'epoch_changed',
    head_seq: headSeq,
    message: 'reload',
    ...over,
  });
}

/** An error about a frame the client sent: not logged, no phase. */
export function frameError(over: Partial<ErrorFrame> = {}): ErrorFrame {
  return checked<ErrorFrame>({
    type: 'error',
    seq: 0,
    epoch: EPOCH,
    code: 'wrong_turn',
    message: 'turn 3 is not open',
    retryable: false,
    phase: null,
    ...over,
  });
}

/** How a spoken answer was delivered, as the server measures it. */
export function delivery(over: Partial<Delivery> = {}): Delivery {
  return {
    duration_ms: 42_000,
    speaking_ms: 36_000,
    words: 84,
    words_per_minute: 140,
    filler_words: 3,
    fillers: { um: 2, 'you know': 1 },
    long_pauses: 1,
    longest_pause_ms: 2_600,
    ...over,
  };
}

export function audioAck(uploadId: string, nextChunk: number, complete = false): AudioAckFrame {
  return checked<AudioAckFrame>({
    type: 'audio.ack',
    seq: 0,
    epoch: EPOCH,
    upload_id: uploadId,
    next_chunk: nextChunk,
    received_ms: nextChunk * 250,
    complete,
  });
}

export function transcriptFinal(uploadId: string, over: Partial<TranscriptFinalFrame> = {}): TranscriptFinalFrame {
  return checked<TranscriptFinalFrame>({
    type: 'transcript.final',
    seq: 0,
    epoch: EPOCH,
    upload_id: uploadId,
    turn: 0,
    text: 'I would add an index on user id',
    recognizer: 'pocketsphinx',
    rough: true,
    delivery: delivery(),
    ...over,
  });
}

type Distribute<T> = T extends ServerFrame ? Omit<T, 'seq' | 'epoch'> : never;
export type UnloggedEvent = Distribute<ServerFrame>;

/** Numbers a list of logged events 1, 2, 3… (or from `start`). */
export function logged(events: UnloggedEvent[], start = 1, epoch = EPOCH): ServerFrame[] {
  return events.map((e, i) => checked({ ...e, seq: start + i, epoch } as ServerFrame));
}

export const criteria: CriterionScore[] = [
  { criterion: 'coverage', value: 2, evidence: 'I would add an index on user_id', suggestion: 'Mention idempotency.' },
  { criterion: 'specificity', value: 5, evidence: 'p99 went from 800ms to 120ms', suggestion: 'Give the baseline.' },
];

/** A first question streamed in three pieces, answered and scored (then the next is asked). */
export function firstTurnEvents(): ServerFrame[] {
  return logged([
    { type: 'turn.start', phase: 'asking', turn: 0, kind: 'question', question_number: 1, question_count: 2, targets: [] },
    { type: 'turn.delta', phase: 'asking', turn: 0, text: 'How do ' },
    { type: 'turn.delta', phase: 'asking', turn: 0, text: 'you handle ' },
    { type: 'turn.delta', phase: 'asking', turn: 0, text: 'retries?' },
    {
      type: 'turn.end',
      phase: 'listening',
      turn: 0,
      text: 'How do you handle retries?',
      interrupted: false,
      answer_deadline_ms: 2_000_000,
    },
    {
      type: 'answer.accepted',
      phase: 'scoring',
      turn: 0,
      text: 'I would add an index on user_id. Our p99 went from 800ms to 120ms.',
      source: 'typed',
    },
    { type: 'score', phase: 'asking', turn: 0, criteria, average: 3.5, rubric_version: 'r1', delivery: null },
  ]);
}

/** Client frames as tests expect the client to send them, checked like the server's. */
export function checkedClientFrame<T extends ClientFrame>(frame: T): T {
  const problems = clientFrameProblems(frame);
  if (problems) throw new Error(`not a valid ${frame.type} frame: ${problems}\n${JSON.stringify(frame)}`);
  return frame;
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
    delivery: null,
    pauses: 0,
    paused_s: 0,
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
        delivery: null,
        reply: 'answer',
      },
    ],
    report: null,
    ...over,
  };
}
