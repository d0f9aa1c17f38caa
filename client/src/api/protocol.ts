/**
 * The live-interview WebSocket protocol, version 1, written by hand from
 * `server/gateway/protocol.py` (every frame there is a pydantic model).
 *
 * `tests/contract/protocol.test.ts` compares these types with `protocol.schema.json`, the JSON
 * Schema export of the server's frames, so a server change that the client does not follow
 * fails a test. The `*_FIELDS` tables below are checked against the TypeScript types at
 * compile time and against the JSON Schema at test time.
 */

export const PROTOCOL_VERSION = 1;
export const MAX_FRAME_BYTES = 16 * 1024;
export const MAX_ANSWER_CHARS = 8_000;

export type AnswerSource = 'typed' | 'voice';
export type TurnKind = 'question' | 'follow_up';

// --- client → server ------------------------------------------------------------------

export interface HelloFrame {
  type: 'hello';
  /** Access token. */
  token: string;
  /** Last seq received; 0 on first connect. */
  last_seq?: number;
  /** Epoch of last_seq, to detect lost history. */
  epoch?: string | null;
}

export interface AnswerFrame {
  type: 'answer';
  /** 1..MAX_ANSWER_CHARS characters. */
  text: string;
  source?: AnswerSource;
  /** Turn being answered; refused if it is not the open one. */
  turn?: number | null;
}

export interface InterruptFrame {
  type: 'interrupt';
}

export interface SkipFrame {
  type: 'skip';
  turn?: number | null;
}

export interface EndFrame {
  type: 'end';
}

export interface PingFrame {
  type: 'ping';
  /** Echoed back in pong. */
  t?: number | null;
}

export type ClientFrame =
  | HelloFrame
  | AnswerFrame
  | InterruptFrame
  | SkipFrame
  | EndFrame
  | PingFrame;

// --- server → client ------------------------------------------------------------------

export const PHASES = ['waiting', 'asking', 'listening', 'scoring', 'reporting', 'ended'] as const;
export type Phase = (typeof PHASES)[number];

interface EventBase {
  /** Position in the event log (1, 2, 3, …); 0 on connection frames, which are not logged. */
  seq: number;
  /** Identity of the event log; a new epoch means a new log. */
  epoch: string;
}

export interface ReadyFrame extends EventBase {
  type: 'ready';
  protocol: number;
  interview_id: string;
  status: string;
  phase: Phase;
  /** Index of the current turn, if any. */
  turn: number | null;
  /** Kind of the current turn. */
  kind: 'question' | 'follow_up' | null;
  /** The current turn's text so far, as of head_seq (for a client that resyncs). */
  text: string;
  /** Main questions asked so far (1-based). */
  question_number: number;
  question_count: number;
  /** Unix ms when the open answer times out. */
  answer_deadline_ms: number | null;
  provider: string;
  model: string;
  /** True when the offline interviewer is in use. */
  offline: boolean;
  /** Seq of the newest event in the log. */
  head_seq: number;
  /** True when the events after last_seq follow. */
  resumed: boolean;
}

export interface ResyncFrame extends EventBase {
  type: 'resync';
  reason: 'epoch_changed' | 'history_trimmed';
  head_seq: number;
  message: string;
}

export interface TurnStartFrame extends EventBase {
  type: 'turn.start';
  turn: number;
  kind: TurnKind;
  question_number: number;
  question_count: number;
}

export interface TurnDeltaFrame extends EventBase {
  type: 'turn.delta';
  turn: number;
  /** New text to append to the turn. */
  text: string;
}

export interface TurnEndFrame extends EventBase {
  type: 'turn.end';
  turn: number;
  /** The turn's full text. */
  text: string;
  interrupted: boolean;
  /** Unix ms when the answer times out. */
  answer_deadline_ms: number;
}

export interface AnswerAcceptedFrame extends EventBase {
  type: 'answer.accepted';
  turn: number;
  text: string;
  source: AnswerSource;
}

export interface AnswerTimeoutFrame extends EventBase {
  type: 'answer.timeout';
  turn: number;
}

export interface AnswerSkippedFrame extends EventBase {
  type: 'answer.skipped';
  turn: number;
}

export interface CriterionScore {
  criterion: string;
  /** 1..5 */
  value: number;
  evidence: string;
  suggestion: string;
}

export interface ScoreFrame extends EventBase {
  type: 'score';
  turn: number;
  criteria: CriterionScore[];
  average: number;
  rubric_version: string;
}

export interface ReportFrame extends EventBase {
  type: 'report';
  overall_score: number;
  strengths: string[];
  weaknesses: string[];
  next_steps: string[];
  rubric_version: string;
  provider: string;
}

export interface InterviewerChangedFrame extends EventBase {
  type: 'interviewer.changed';
  provider: string;
  model: string;
  offline: boolean;
  reason: string;
}

export interface EndedFrame extends EventBase {
  type: 'ended';
  status: 'finished' | 'abandoned';
  reason: string;
}

export const ERROR_CODES = [
  'malformed_frame',
  'unknown_type',
  'frame_too_large',
  'answer_too_long',
  'not_authenticated',
  'interview_not_found',
  'interview_finished',
  'not_listening',
  'wrong_turn',
  'rate_limited',
  'slow_consumer',
  'provider_failed',
  'going_away',
  'internal',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export interface ErrorFrame extends EventBase {
  type: 'error';
  code: ErrorCode;
  message: string;
  retryable: boolean;
}

export interface PongFrame extends EventBase {
  type: 'pong';
  t?: number | null;
}

export type ServerFrame =
  | ReadyFrame
  | ResyncFrame
  | TurnStartFrame
  | TurnDeltaFrame
  | TurnEndFrame
  | AnswerAcceptedFrame
  | AnswerTimeoutFrame
  | AnswerSkippedFrame
  | ScoreFrame
  | ReportFrame
  | InterviewerChangedFrame
  | EndedFrame
  | ErrorFrame
  | PongFrame;

/** Frames that are written to the interview's event log (seq > 0 when they come from it). */
export type LoggedFrame = Exclude<ServerFrame, ReadyFrame | ResyncFrame | PongFrame>;

// --- close codes ------------------------------------------------------------------------

export const CloseCode = {
  /** Server shutting down: reconnect (to another process). */
  going_away: 1001,
  /** The hello frame was not valid. */
  malformed_frame: 4400,
  /** No hello in time, or a missing/expired/forged token. */
  not_authenticated: 4401,
  /** No such interview, or not yours. */
  interview_not_found: 4404,
  /** The interview has ended: read the report over REST. */
  interview_finished: 4409,
  /** A frame above MAX_FRAME_BYTES. */
  frame_too_large: 4413,
  /** Too many frames per second. */
  rate_limited: 4429,
  /** The client did not read fast enough; reconnect and resume. */
  slow_consumer: 4503,
} as const;
export type CloseCodeName = keyof typeof CloseCode;

/** Standard codes (not in CloseCode) that the server or the network produce. */
export const WS_NORMAL_CLOSURE = 1000;
export const WS_ABNORMAL_CLOSURE = 1006;
export const WS_INTERNAL_ERROR = 1011;
export const WS_SERVICE_RESTART = 1012;
export const WS_TRY_AGAIN_LATER = 1013;

/** Mirrors RETRYABLE_CLOSE_CODES on the server, plus the standard transient codes. */
export const RETRYABLE_CLOSE_CODES: ReadonlySet<number> = new Set([
  CloseCode.going_away,
  CloseCode.slow_consumer,
  CloseCode.rate_limited,
  WS_ABNORMAL_CLOSURE,
  WS_INTERNAL_ERROR,
  WS_SERVICE_RESTART,
  WS_TRY_AGAIN_LATER,
]);

// --- field tables (checked at compile time here, and against the JSON Schema in tests) ---

/** Resolves to F when F lists exactly the keys of T; otherwise to a tuple naming the mismatch. */
type ExactFields<T, F extends readonly string[]> = [Exclude<keyof T, F[number]>] extends [never]
  ? [Exclude<F[number], keyof T>] extends [never]
    ? F
    : readonly ['unknown field', Exclude<F[number], keyof T>]
  : readonly ['missing field', Exclude<keyof T, F[number]>];

function fieldTable<U extends { type: string }>() {
  return <const T extends { readonly [K in U['type']]: readonly string[] }>(
    table: T & { readonly [K in U['type']]: ExactFields<Extract<U, { type: K }>, T[K]> },
  ): T => table;
}

export const CLIENT_FRAME_FIELDS = fieldTable<ClientFrame>()({
  hello: ['type', 'token', 'last_seq', 'epoch'],
  answer: ['type', 'text', 'source', 'turn'],
  interrupt: ['type'],
  skip: ['type', 'turn'],
  end: ['type'],
  ping: ['type', 't'],
});

export const SERVER_FRAME_FIELDS = fieldTable<ServerFrame>()({
  ready: [
    'type',
    'seq',
    'epoch',
    'protocol',
    'interview_id',
    'status',
    'phase',
    'turn',
    'kind',
    'text',
    'question_number',
    'question_count',
    'answer_deadline_ms',
    'provider',
    'model',
    'offline',
    'head_seq',
    'resumed',
  ],
  resync: ['type', 'seq', 'epoch', 'reason', 'head_seq', 'message'],
  'turn.start': ['type', 'seq', 'epoch', 'turn', 'kind', 'question_number', 'question_count'],
  'turn.delta': ['type', 'seq', 'epoch', 'turn', 'text'],
  'turn.end': ['type', 'seq', 'epoch', 'turn', 'text', 'interrupted', 'answer_deadline_ms'],
  'answer.accepted': ['type', 'seq', 'epoch', 'turn', 'text', 'source'],
  'answer.timeout': ['type', 'seq', 'epoch', 'turn'],
  'answer.skipped': ['type', 'seq', 'epoch', 'turn'],
  score: ['type', 'seq', 'epoch', 'turn', 'criteria', 'average', 'rubric_version'],
  report: [
    'type',
    'seq',
    'epoch',
    'overall_score',
    'strengths',
    'weaknesses',
    'next_steps',
    'rubric_version',
    'provider',
  ],
  'interviewer.changed': ['type', 'seq', 'epoch', 'provider', 'model', 'offline', 'reason'],
  ended: ['type', 'seq', 'epoch', 'status', 'reason'],
  error: ['type', 'seq', 'epoch', 'code', 'message', 'retryable'],
  pong: ['type', 'seq', 'epoch', 't'],
});

export const CRITERION_SCORE_FIELDS = ['criterion', 'value', 'evidence', 'suggestion'] as const satisfies
  readonly (keyof CriterionScore)[];

export const SERVER_FRAME_TYPES = Object.keys(SERVER_FRAME_FIELDS) as ServerFrame['type'][];
export const CLIENT_FRAME_TYPES = Object.keys(CLIENT_FRAME_FIELDS) as ClientFrame['type'][];

/** Parses one text frame from the server; null when it is not a frame this client knows. */
export function parseServerFrame(text: string): ServerFrame | null {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof raw !== 'object' || raw === null) return null;
  const type = (raw as { type?: unknown }).type;
  if (typeof type !== 'string' || !(type in SERVER_FRAME_FIELDS)) return null;
  const frame = raw as ServerFrame;
  if (typeof frame.seq !== 'number') (frame as { seq: number }).seq = 0;
  return frame;
}
