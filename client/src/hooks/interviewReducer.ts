/**
 * The live interview as a pure reducer: server frames (and a few connection facts) in, the
 * transcript and the interview's phase out. No timers, sockets or storage here, so every rule
 * (de-duplication on resume, a repeated turn.start replacing the text, resync from a REST
 * snapshot) is unit-tested in `interviewReducer.test.ts`.
 *
 * The phase is never inferred: it is the server's, from `ready` and from the `phase` every
 * logged event carries (the interview's phase once that event is applied).
 */
import type { InterviewDetail } from '../api/client';
import {
  CloseCode,
  type AnswerSource,
  type CriterionScore,
  type Delivery,
  type LoggedFrame,
  type Phase,
  type ReadyFrame,
  type ServerFrame,
  type TurnKind,
} from '../api/protocol';

export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'resumed' | 'closed';

/** Why the connection stopped for good (null while it is alive or retrying). */
export type CloseReason = 'finished' | 'auth' | 'not_found' | 'fatal' | 'stopped';

export type TurnOutcome = 'answered' | 'skipped' | 'timed_out';

export interface TranscriptTurn {
  index: number;
  kind: TurnKind;
  /** The main question this turn belongs to (a follow-up shares its question's number). */
  questionNumber: number;
  /** The interviewer's words so far. */
  question: string;
  /** True while the interviewer is still speaking this turn. */
  streaming: boolean;
  /** The candidate stopped the interviewer mid-sentence. */
  interrupted: boolean;
  answer: string | null;
  answerSource: AnswerSource | null;
  outcome: TurnOutcome | null;
  scores: CriterionScore[] | null;
  average: number | null;
  rubricVersion: string | null;
  /** Scoring failed for this answer (it is saved; the interview went on). */
  scoreFailed: boolean;
  /** The reply was a clarifying question: not scored; the next turn answers it. */
  clarification: boolean;
  /** How a spoken answer was delivered (pace, fillers, pauses); null for a typed one. */
  delivery: Delivery | null;
  /**
   * How many times the interviewer has started this turn: a turn.start for a turn already seen
   * (a regenerated turn) makes it 2, 3, … so whoever reads the words aloud knows to start over.
   */
  take: number;
  /** Terms of the candidate's job description or résumé this question was chosen for. */
  targets: string[];
}

export interface LiveReport {
  overall_score: number;
  strengths: string[];
  weaknesses: string[];
  next_steps: string[];
  rubric_version: string;
  provider: string;
}

export interface LiveError {
  code: string;
  message: string;
  retryable: boolean;
  /** seq of the logged error event, or 0 for an error about a client frame / the connection. */
  seq: number;
}

export interface InterviewState {
  interviewId: string;
  connection: ConnectionState;
  closeReason: CloseReason | null;
  /** Close code of the last dropped connection, for the status line. */
  lastCloseCode: number | null;
  /** Reconnect attempts since the last successful handshake. */
  attempt: number;
  /** Unix ms of the next reconnect attempt, while waiting for it. */
  retryAt: number | null;

  /** The server's phase, as of the last `ready` or logged event applied. */
  phase: Phase | null;
  status: string | null;
  currentTurn: number | null;
  questionNumber: number;
  questionCount: number;
  /** Unix ms (server clock) when the open answer times out. */
  deadlineMs: number | null;
  provider: string | null;
  model: string | null;
  offline: boolean;

  turns: TranscriptTurn[];
  report: LiveReport | null;
  ended: { status: 'finished' | 'abandoned'; reason: string } | null;

  /** Highest logged seq applied, and its epoch: sent in hello to resume. */
  lastSeq: number;
  epoch: string | null;
  /** A resync is in progress: logged events wait here for the REST snapshot. */
  resyncing: boolean;
  /** The turn in progress as `ready` described it (as of head_seq): its words after a resync. */
  readyOpen: { turn: number; kind: TurnKind; text: string } | null;
  buffered: LoggedFrame[];

  lastError: LiveError | null;
  /** The turn an answer (or skip) was sent for and not yet acknowledged. */
  pending: { turn: number | null; kind: 'answer' | 'skip' } | null;
  /** More time an administrator gave an answer (the latest turn given any). */
  extension: AnswerExtension | null;

  /** The server logged a pause request (`pause.requested`) that has not begun or been cancelled. */
  pauseRequested: boolean;
  /** Unix ms when the current pause began (`interview.paused`), while the phase is `paused`. */
  pausedSince: number | null;
  /**
   * What this client last asked of the pause (`pause` or `resume` sent) and the server has not
   * answered yet: shown at once, then the server's events take over.
   */
  pauseSent: 'pause' | 'resume' | null;
}

/** The pause as the room shows it. */
export type PauseView = 'none' | 'requested' | 'paused' | 'resuming';

export function pauseView(state: InterviewState): PauseView {
  if (state.phase === 'paused') return state.pauseSent === 'resume' ? 'resuming' : 'paused';
  if (state.phase === 'reporting' || state.phase === 'ended' || state.ended) return 'none';
  if (state.pauseSent === 'pause') return 'requested';
  if (state.pauseSent === 'resume') return 'none';
  return state.pauseRequested ? 'requested' : 'none';
}

export interface AnswerExtension {
  turn: number;
  /** Seconds added to this turn's answer in all. */
  totalS: number;
  /** Seconds the latest grant added. */
  lastS: number;
  /** seq of the latest grant: a grant is counted once, however often the log is replayed. */
  seq: number;
}

export type InterviewAction =
  | { type: 'connect'; reconnect: boolean }
  | { type: 'frame'; frame: ServerFrame }
  | { type: 'closed'; code: number; retryAt: number | null }
  | { type: 'snapshot'; detail: InterviewDetail; headSeq?: number; epoch?: string }
  | { type: 'rewind' }
  | { type: 'settled' }
  | { type: 'sent'; kind: 'answer' | 'skip'; turn: number | null }
  | { type: 'pause-sent'; request: 'pause' | 'resume' }
  | { type: 'local-error'; code: string; message: string }
  | { type: 'dismiss-error' }
  | { type: 'stopped' };

export function initialState(interviewId: string): InterviewState {
  return {
    interviewId,
    connection: 'connecting',
    closeReason: null,
    lastCloseCode: null,
    attempt: 0,
    retryAt: null,
    phase: null,
    status: null,
    currentTurn: null,
    questionNumber: 0,
    questionCount: 0,
    deadlineMs: null,
    provider: null,
    model: null,
    offline: false,
    turns: [],
    report: null,
    ended: null,
    lastSeq: 0,
    epoch: null,
    resyncing: false,
    readyOpen: null,
    buffered: [],
    lastError: null,
    pending: null,
    extension: null,
    pauseRequested: false,
    pausedSince: null,
    pauseSent: null,
  };
}

// --- close codes -----------------------------------------------------------------------

export type CloseDecision = 'retry' | 'finished' | 'auth' | 'not_found' | 'fatal';

/**
 * What to do after the socket closed with `code`: reconnect (1001, 1006, 1011, 1012, 4429,
 * 4503 and anything unexpected), or stop: 4401 sign in again, 4404 not found, 4409 finished,
 * 4400 a hello this client cannot fix by retrying.
 */
export function closeDecision(code: number): CloseDecision {
  switch (code) {
    case CloseCode.not_authenticated:
      return 'auth';
    case CloseCode.interview_not_found:
      return 'not_found';
    case CloseCode.interview_finished:
      return 'finished';
    case CloseCode.malformed_frame:
      return 'fatal';
    default:
      return 'retry';
  }
}

// --- the reducer -------------------------------------------------------------------------

export function interviewReducer(state: InterviewState, action: InterviewAction): InterviewState {
  switch (action.type) {
    case 'connect':
      if (state.closeReason) return state;
      return {
        ...state,
        connection: action.reconnect ? 'reconnecting' : 'connecting',
        retryAt: null,
      };
    case 'frame':
      return onFrame(state, action.frame);
    case 'closed':
      return onClosed(state, action.code, action.retryAt);
    case 'snapshot':
      return onSnapshot(state, action.detail, action.headSeq, action.epoch);
    case 'rewind':
      // Replay the whole log over what we have (every event applies idempotently).
      return { ...state, lastSeq: 0 };
    case 'settled':
      return state.connection === 'resumed' ? { ...state, connection: 'connected' } : state;
    case 'sent':
      return { ...state, pending: { turn: action.turn, kind: action.kind }, lastError: null };
    case 'pause-sent':
      return { ...state, pauseSent: action.request, lastError: null };
    case 'local-error':
      return {
        ...state,
        lastError: { code: action.code, message: action.message, retryable: true, seq: 0 },
      };
    case 'dismiss-error':
      return { ...state, lastError: null };
    case 'stopped':
      return {
        ...state,
        connection: 'closed',
        closeReason: state.closeReason ?? 'stopped',
        retryAt: null,
      };
  }
}

function onClosed(state: InterviewState, code: number, retryAt: number | null): InterviewState {
  const decision = closeDecision(code);
  // What was sent and not answered may not have arrived: the server's events say, once back.
  const base = { ...state, lastCloseCode: code, pending: null, pauseSent: null, resyncing: false, buffered: [] };
  if (decision === 'retry') {
    if (state.closeReason) return { ...base, connection: 'closed' };
    return { ...base, connection: 'reconnecting', attempt: state.attempt + 1, retryAt };
  }
  return { ...base, connection: 'closed', closeReason: decision, retryAt: null };
}

function onFrame(state: InterviewState, frame: ServerFrame): InterviewState {
  switch (frame.type) {
    case 'ready':
      return onReady(state, frame);
    case 'resync':
      return { ...state, resyncing: true, buffered: [] };
    case 'pong':
    case 'audio.ack':
    case 'transcript.final':
      // About this socket's recording: the voice controller's business, not the transcript's.
      return state;
    default:
      break;
  }
  if (frame.seq === 0) {
    // Not logged: an error about a frame this client sent.
    if (frame.type === 'error') {
      return {
        ...state,
        pending: null,
        pauseSent: null,
        lastError: { code: frame.code, message: frame.message, retryable: frame.retryable, seq: 0 },
      };
    }
    return state;
  }
  if (state.resyncing) return { ...state, buffered: [...state.buffered, frame] };
  if (frame.seq <= state.lastSeq) return state; // already applied (replay after resume)
  return { ...applyLogged(state, frame), lastSeq: frame.seq, epoch: frame.epoch || state.epoch };
}

function onReady(state: InterviewState, ready: ReadyFrame): InterviewState {
  const resumed = state.lastSeq > 0 && ready.resumed;
  const ended = ready.phase === 'ended';
  const over = ended || ready.phase === 'reporting';
  return {
    ...state,
    connection: resumed ? 'resumed' : 'connected',
    attempt: 0,
    retryAt: null,
    lastCloseCode: null,
    epoch: state.lastSeq === 0 ? ready.epoch : state.epoch,
    phase: ready.phase,
    status: ready.status,
    currentTurn: ready.turn,
    questionNumber: ready.question_number,
    questionCount: ready.question_count,
    deadlineMs: ready.phase === 'listening' ? ready.answer_deadline_ms : null,
    provider: ready.provider,
    model: ready.model,
    offline: ready.offline,
    readyOpen:
      ready.turn !== null
        ? { turn: ready.turn, kind: ready.kind ?? 'question', text: ready.text ?? '' }
        : null,
    lastError: state.lastError && state.lastError.seq === 0 ? null : state.lastError,
    pending: ended ? null : state.pending,
    // `ready` says whether the interview is paused, and whether a pause is requested (a pause
    // sent while the question streamed is logged once it ends: `pauseSent` covers that gap).
    pausedSince: ready.phase === 'paused' ? state.pausedSince : null,
    pauseRequested: over ? false : ready.pause_requested || state.pauseRequested,
  };
}

function blankTurn(index: number, kind: TurnKind, questionNumber: number): TranscriptTurn {
  return {
    index,
    kind,
    questionNumber,
    question: '',
    streaming: true,
    interrupted: false,
    answer: null,
    answerSource: null,
    outcome: null,
    scores: null,
    average: null,
    rubricVersion: null,
    scoreFailed: false,
    clarification: false,
    delivery: null,
    take: 1,
    targets: [],
  };
}

function upsertTurn(
  turns: TranscriptTurn[],
  index: number,
  update: (turn: TranscriptTurn | undefined) => TranscriptTurn | null,
): TranscriptTurn[] {
  const at = turns.findIndex((t) => t.index === index);
  const next = update(at >= 0 ? turns[at] : undefined);
  if (next === null) return turns;
  if (at >= 0) {
    const copy = turns.slice();
    copy[at] = next;
    return copy;
  }
  return [...turns, next].sort((a, b) => a.index - b.index);
}

/**
 * Applies one logged event (seq > the last applied). Every rule is idempotent on replay.
 * The phase becomes the event's: the server's word for where the interview now is (an error
 * about the interview may carry none, and then leaves the phase as it was).
 */
export function applyLogged(state: InterviewState, frame: LoggedFrame): InterviewState {
  let next = applyEvent(state, frame);
  const phase = frame.phase ?? next.phase;
  if (phase !== next.phase) next = { ...next, phase };
  // A pause asked for during the last question never begins: the interview is ending.
  if ((phase === 'reporting' || phase === 'ended') && (next.pauseRequested || next.pauseSent)) {
    next = { ...next, pauseRequested: false, pauseSent: null };
  }
  return next;
}

function applyEvent(state: InterviewState, frame: LoggedFrame): InterviewState {
  switch (frame.type) {
    case 'turn.start': {
      // A turn.start for a turn we already have means the interviewer regenerated it:
      // its text is replaced (answers and scores, if any, are kept).
      const turns = upsertTurn(state.turns, frame.turn, (turn) => ({
        ...(turn ?? blankTurn(frame.turn, frame.kind, frame.question_number)),
        kind: frame.kind,
        questionNumber: frame.question_number,
        question: '',
        streaming: true,
        interrupted: false,
        take: turn ? turn.take + 1 : 1,
        targets: frame.targets ?? [],
      }));
      return {
        ...state,
        turns,
        currentTurn: frame.turn,
        questionNumber: frame.question_number,
        questionCount: frame.question_count,
        deadlineMs: null,
        pending: null,
      };
    }
    case 'turn.delta': {
      const turns = upsertTurn(state.turns, frame.turn, (turn) => {
        if (!turn) {
          // The start was not seen (history trimmed): show what arrives; turn.end fixes it.
          return {
            ...blankTurn(frame.turn, 'question', state.questionNumber),
            question: frame.text,
          };
        }
        if (!turn.streaming) return null; // a finished turn never grows
        return { ...turn, question: turn.question + frame.text };
      });
      return turns === state.turns ? state : { ...state, turns };
    }
    case 'turn.end': {
      const turns = upsertTurn(state.turns, frame.turn, (turn) => ({
        ...(turn ?? blankTurn(frame.turn, 'question', state.questionNumber)),
        question: frame.text,
        streaming: false,
        interrupted: frame.interrupted ?? false,
      }));
      return {
        ...state,
        turns,
        currentTurn: frame.turn,
        // The answer clock runs only while the server waits for the answer.
        deadlineMs: frame.phase === 'listening' ? frame.answer_deadline_ms : null,
      };
    }
    case 'answer.accepted': {
      const turns = upsertTurn(state.turns, frame.turn, (turn) =>
        turn
          ? { ...turn, answer: frame.text, answerSource: frame.source, outcome: 'answered', streaming: false }
          : null,
      );
      return { ...state, turns, deadlineMs: null, pending: null };
    }
    case 'answer.clarification': {
      const turns = upsertTurn(state.turns, frame.turn, (turn) =>
        turn ? { ...turn, clarification: true, streaming: false } : null,
      );
      return { ...state, turns, deadlineMs: null, pending: null };
    }
    case 'answer.timeout':
    case 'answer.skipped': {
      const outcome: TurnOutcome = frame.type === 'answer.timeout' ? 'timed_out' : 'skipped';
      const turns = upsertTurn(state.turns, frame.turn, (turn) =>
        turn ? { ...turn, outcome, streaming: false } : null,
      );
      return { ...state, turns, deadlineMs: null, pending: null };
    }
    case 'answer.extended': {
      // An administrator gave the open answer more time: the countdown moves.
      if (state.currentTurn !== frame.turn) return state;
      const known = state.extension?.turn === frame.turn ? state.extension : null;
      if (known && frame.seq <= known.seq) return { ...state, deadlineMs: frame.answer_deadline_ms };
      return {
        ...state,
        deadlineMs: frame.answer_deadline_ms,
        extension: { turn: frame.turn, totalS: (known?.totalS ?? 0) + frame.seconds, lastS: frame.seconds, seq: frame.seq },
      };
    }
    case 'score': {
      const turns = upsertTurn(state.turns, frame.turn, (turn) =>
        turn
          ? {
              ...turn,
              scores: frame.criteria,
              average: frame.average,
              rubricVersion: frame.rubric_version,
              scoreFailed: false,
              delivery: frame.delivery ?? turn.delivery,
            }
          : null,
      );
      return { ...state, turns };
    }
    case 'report':
      return {
        ...state,
        report: {
          overall_score: frame.overall_score,
          strengths: frame.strengths,
          weaknesses: frame.weaknesses,
          next_steps: frame.next_steps,
          rubric_version: frame.rubric_version,
          provider: frame.provider,
        },
        deadlineMs: null,
      };
    case 'pause.requested':
      return { ...state, pauseRequested: true, pauseSent: state.pauseSent === 'pause' ? null : state.pauseSent };
    case 'interview.paused':
      // Between questions: no answer clock runs. `turn` is the one asked on resume.
      return {
        ...state,
        pauseRequested: false,
        pausedSince: frame.paused_ms,
        pauseSent: state.pauseSent === 'pause' ? null : state.pauseSent,
        deadlineMs: null,
      };
    case 'interview.resumed':
      // The pause ended, or (paused_s 0, before it began) was cancelled.
      return { ...state, pauseRequested: false, pausedSince: null, pauseSent: null };
    case 'interviewer.changed':
      // The model kept failing: the interview goes on with the offline interviewer.
      return { ...state, offline: frame.offline, provider: frame.provider, model: frame.model };
    case 'ended': {
      // The question on screen when the interview ended is saved as skipped by the server.
      const turns = state.turns
        .filter((t) => t.question !== '' || t.outcome !== null)
        .map((t) =>
          t.outcome === null && t.answer === null
            ? { ...t, outcome: 'skipped' as const, streaming: false }
            : { ...t, streaming: false },
        );
      return {
        ...state,
        turns,
        ended: { status: frame.status, reason: frame.reason },
        status: frame.status,
        deadlineMs: null,
        pending: null,
      };
    }
    case 'error': {
      let turns = state.turns;
      // The phase before the error: scoring failed for the answer that was being scored.
      if (frame.code === 'provider_failed' && state.phase === 'scoring') {
        const waiting = [...turns].reverse().find((t) => t.outcome === 'answered' && !t.scores);
        if (waiting) {
          turns = upsertTurn(turns, waiting.index, (t) => (t ? { ...t, scoreFailed: true } : null));
        }
      }
      return {
        ...state,
        turns,
        lastError: { code: frame.code, message: frame.message, retryable: frame.retryable, seq: frame.seq },
      };
    }
  }
}

// --- REST snapshot (resync, or an interview that ended while we were away) ----------------

function average(values: number[]): number | null {
  if (!values.length) return null;
  return Math.round((values.reduce((a, b) => a + b, 0) / values.length) * 100) / 100;
}

/** The transcript as the REST API has it (completed turns only). */
export function turnsFromDetail(detail: InterviewDetail): TranscriptTurn[] {
  let questionNumber = 0;
  return [...detail.turns]
    .sort((a, b) => a.index - b.index)
    .map((t) => {
      if (t.kind === 'question') questionNumber += 1;
      const scores = t.scores.map(({ criterion, value, evidence, suggestion }) => ({
        criterion,
        value,
        evidence,
        suggestion,
      }));
      return {
        index: t.index,
        kind: t.kind,
        questionNumber: Math.max(questionNumber, 1),
        question: t.question,
        streaming: false,
        interrupted: false,
        answer: t.answer,
        answerSource: t.answer_source,
        // An answer is saved when it is accepted (outcome null until scored): answered,
        // its score on its way.
        outcome: t.outcome === null && t.answer !== null ? 'answered' : t.outcome,
        scores: scores.length ? scores : null,
        average: average(scores.map((s) => s.value)),
        rubricVersion: t.scores[0]?.rubric_version ?? null,
        scoreFailed: t.outcome === 'answered' && scores.length === 0 && t.reply !== 'clarification',
        clarification: t.reply === 'clarification',
        delivery: t.delivery ?? null,
        take: 1,
        targets: [],
      };
    });
}

function onSnapshot(
  state: InterviewState,
  detail: InterviewDetail,
  headSeq: number | undefined,
  epoch: string | undefined,
): InterviewState {
  const restTurns = turnsFromDetail(detail);
  const lastRest = restTurns.length ? restTurns[restTurns.length - 1].index : -1;
  const finished = detail.status === 'finished' || detail.status === 'abandoned';
  // Turns the database does not have yet: after a resync, only the one `ready` described (as of
  // head_seq); otherwise the ones we know.
  const live =
    headSeq === undefined ? state.turns.filter((t) => t.index > lastRest) : openTurnAfterResync(state, restTurns);
  let next: InterviewState = {
    ...state,
    turns: [...restTurns, ...live],
    status: detail.status,
    questionCount: detail.question_count,
    provider: state.provider ?? detail.provider,
    model: state.model ?? detail.model,
    report: detail.report
      ? {
          overall_score: detail.report.overall_score,
          strengths: detail.report.strengths,
          weaknesses: detail.report.weaknesses,
          next_steps: detail.report.next_steps,
          rubric_version: detail.report.rubric_version,
          provider: detail.report.provider,
        }
      : state.report,
    resyncing: false,
    buffered: [],
  };
  if (finished) {
    next = {
      ...next,
      turns: restTurns,
      phase: 'ended',
      deadlineMs: null,
      ended: next.ended ?? { status: detail.status as 'finished' | 'abandoned', reason: '' },
      pending: null,
    };
  }
  if (headSeq !== undefined) {
    next = { ...next, lastSeq: headSeq, epoch: epoch ?? next.epoch };
    // Events that arrived while the snapshot loaded, after head_seq, still apply.
    for (const frame of state.buffered) {
      if (frame.seq > next.lastSeq) {
        next = { ...applyLogged(next, frame), lastSeq: frame.seq };
      }
    }
  }
  return next;
}

/**
 * After a resync, the turn that the database does not have yet, as the server had it at
 * head_seq (`ready`): the turns we showed beyond the database's may be stale, since the process
 * that spoke them may have died and the interview been rebuilt or the turn regenerated since.
 */
function openTurnAfterResync(state: InterviewState, restTurns: TranscriptTurn[]): TranscriptTurn[] {
  const index = state.currentTurn;
  if (index === null || restTurns.some((t) => t.index === index)) return [];
  const ours = state.turns.find((t) => t.index === index);
  // Scoring: the answered turn, as we have it (answers are not in `ready`).
  if (state.phase === 'scoring') return ours ? [ours] : [];
  // Waiting: the turn is not asked yet (turn.start follows); reporting, ended: no open turn.
  if (state.phase !== 'asking' && state.phase !== 'listening') return [];
  // Its words as of head_seq are the ones `ready` gave (later deltas continue them), not the ones
  // we had. While asking, even no words is an answer; while listening, no words means they were
  // lost: ours are kept if we have them, else the caller replays the log.
  const asking = state.phase === 'asking';
  const known = state.readyOpen?.turn === index && (asking || state.readyOpen.text) ? state.readyOpen : null;
  if (known) {
    return [
      {
        ...(ours ?? blankTurn(index, known.kind, state.questionNumber || 1)),
        kind: known.kind,
        questionNumber: state.questionNumber || 1,
        question: known.text,
        streaming: asking,
        interrupted: asking ? false : (ours?.interrupted ?? false),
      },
    ];
  }
  return [ours ?? { ...blankTurn(index, 'question', state.questionNumber || 1), streaming: false }];
}

/** True when the turn the interviewer is on is missing its text (e.g. after a resync). */
export function openTurnMissing(state: InterviewState): boolean {
  if (state.phase !== 'asking' && state.phase !== 'listening') return false;
  if (state.currentTurn === null) return false;
  const turn = state.turns.find((t) => t.index === state.currentTurn);
  return !turn || (turn.question === '' && !turn.streaming);
}

// --- persistence (sessionStorage, so a reload resumes without repeating a word) -------------

const PERSISTED_VERSION = 1;

export interface PersistedInterview {
  v: number;
  lastSeq: number;
  epoch: string | null;
  turns: TranscriptTurn[];
  report: LiveReport | null;
  ended: InterviewState['ended'];
  questionNumber: number;
  questionCount: number;
  offline: boolean;
  provider: string | null;
  /** Added after v1 shipped: absent in what older clients saved. */
  extension?: AnswerExtension | null;
  /** A pause request is in the log before lastSeq: a reload does not see it again. */
  pauseRequested?: boolean;
  pausedSince?: number | null;
}

export function toPersisted(state: InterviewState): PersistedInterview {
  return {
    v: PERSISTED_VERSION,
    lastSeq: state.lastSeq,
    epoch: state.epoch,
    turns: state.turns,
    report: state.report,
    ended: state.ended,
    questionNumber: state.questionNumber,
    questionCount: state.questionCount,
    offline: state.offline,
    provider: state.provider,
    extension: state.extension,
    pauseRequested: state.pauseRequested,
    pausedSince: state.pausedSince,
  };
}

export function fromPersisted(interviewId: string, raw: unknown): InterviewState {
  const base = initialState(interviewId);
  if (typeof raw !== 'object' || raw === null) return base;
  const saved = raw as Partial<PersistedInterview>;
  if (saved.v !== PERSISTED_VERSION || typeof saved.lastSeq !== 'number' || !Array.isArray(saved.turns)) {
    return base;
  }
  return {
    ...base,
    lastSeq: saved.lastSeq,
    epoch: saved.epoch ?? null,
    // Saved by an older client: fields added since get their defaults.
    turns: saved.turns.map((t) => ({ ...t, delivery: t.delivery ?? null, take: t.take ?? 1 })),
    report: saved.report ?? null,
    ended: saved.ended ?? null,
    questionNumber: saved.questionNumber ?? 0,
    questionCount: saved.questionCount ?? 0,
    offline: saved.offline ?? false,
    provider: saved.provider ?? null,
    extension: saved.extension ?? null,
    pauseRequested: saved.pauseRequested ?? false,
    pausedSince: saved.pausedSince ?? null,
  };
}
