/**
 * The admin socket as a pure reducer: the live monitor (every live interview's summary, kept by
 * interview id) and the answers to steering commands. No timers or sockets here, so every rule
 * is unit-tested in `adminReducer.test.ts`.
 *
 * Summaries carry the server's clocks (`seen_ms`, `last_event_ms`); the console compares them
 * with the server's time, estimated from the `at_ms` of the latest monitor frame, so a browser
 * whose clock is off does not see every row as stale.
 *
 * A summary is published again only when it changes; meanwhile its process says it is running
 * (`alive`, every 2 s, in every monitor frame). A row is as recent as the later of its own
 * `seen_ms` and its process's latest sign of life: an interview waiting quietly for an answer
 * stays fresh, and every row of a process that died goes stale together.
 */
import { CloseCode } from '../api/protocol';
import type { AdminServerFrame, SessionSummary, SteerAction, SteerFrame } from '../api/adminProtocol';

/** A row whose process has not been heard from for this long is shown as stale (it may be gone)… */
export const STALE_AFTER_MS = 6_000;
/** …and is dropped after this long (the server drops it from its snapshot at 6 s). */
export const DROP_AFTER_MS = 10_000;
/** How many steering results are kept (the newest). */
const STEER_HISTORY = 20;

export type AdminConnection = 'connecting' | 'connected' | 'reconnecting' | 'closed';
/** Why the admin socket stopped for good: sign in again, not an administrator, or left. */
export type AdminCloseReason = 'auth' | 'forbidden' | 'fatal' | 'stopped';

export type SteerStatus = 'pending' | 'acked' | 'refused' | 'unanswered' | 'lost';

export interface SteerResult {
  /** Local, increasing: one per command sent. */
  id: number;
  interviewId: string;
  action: SteerAction;
  status: SteerStatus;
  /** The server's message (ack or refusal), or the console's when no answer came. */
  message: string;
  code: string | null;
  sentAt: number;
}

export interface AdminLiveState {
  connection: AdminConnection;
  closeReason: AdminCloseReason | null;
  lastCloseCode: number | null;
  attempt: number;
  retryAt: number | null;
  /** The live interviews by id, as the latest snapshot and updates describe them. */
  sessions: Record<string, SessionSummary>;
  /** Server Unix ms each gateway process last said it is running. */
  alive: Record<string, number>;
  /** A snapshot arrived on this connection (until then the table is loading). */
  synced: boolean;
  /** The server's clock minus this browser's, from the latest monitor frame. */
  clockOffsetMs: number;
  /** This browser's time (Unix ms) as of the latest tick: what "seconds ago" counts from. */
  now: number;
  /** Steering commands sent and what became of them, oldest first. */
  steering: SteerResult[];
  nextSteerId: number;
  /** An error the server sent that answers no command in flight. */
  lastError: { code: string; message: string } | null;
}

export type AdminAction =
  | { type: 'connect'; reconnect: boolean }
  | { type: 'frame'; frame: AdminServerFrame; receivedAt: number }
  | { type: 'closed'; code: number; retryAt: number | null }
  | { type: 'tick'; now: number }
  | { type: 'sent'; frame: SteerFrame; at: number }
  | { type: 'steer-timeout'; id: number }
  | { type: 'dismiss-error' }
  | { type: 'stopped' };

export function initialAdminState(now = Date.now()): AdminLiveState {
  return {
    connection: 'connecting',
    closeReason: null,
    lastCloseCode: null,
    attempt: 0,
    retryAt: null,
    sessions: {},
    alive: {},
    synced: false,
    clockOffsetMs: 0,
    now,
    steering: [],
    nextSteerId: 1,
    lastError: null,
  };
}

export type AdminCloseDecision = 'retry' | 'auth' | 'forbidden' | 'fatal';

/**
 * After the admin socket closed with `code`: 4401 sign in again (after one token refresh),
 * 4404 this account is not an administrator, 4400/4403 nothing a retry fixes; anything else
 * (a restart, 4429, 4503, a dropped network) reconnects with backoff.
 */
export function adminCloseDecision(code: number): AdminCloseDecision {
  switch (code) {
    case CloseCode.not_authenticated:
      return 'auth';
    case CloseCode.interview_not_found:
      return 'forbidden';
    case CloseCode.malformed_frame:
    case CloseCode.origin_not_allowed:
      return 'fatal';
    default:
      return 'retry';
  }
}

// --- the monitor ------------------------------------------------------------------------------

/** The server's time now, as this browser estimates it. */
export function serverNow(state: Pick<AdminLiveState, 'now' | 'clockOffsetMs'>): number {
  return state.now + state.clockOffsetMs;
}

type MonitorClock = Pick<AdminLiveState, 'now' | 'clockOffsetMs' | 'alive'>;

/** Milliseconds since the summary was published or its process last said it is running. */
export function unseenForMs(summary: SessionSummary, state: MonitorClock): number {
  const seen = Math.max(summary.seen_ms, state.alive[summary.process] ?? 0);
  return Math.max(0, serverNow(state) - seen);
}

export function isStale(summary: SessionSummary, state: MonitorClock): boolean {
  return unseenForMs(summary, state) > STALE_AFTER_MS;
}

/** The rows and processes not heard from for `DROP_AFTER_MS`, left out. */
function withoutExpired(state: AdminLiveState): AdminLiveState {
  let sessions: Record<string, SessionSummary> | null = null;
  for (const [id, summary] of Object.entries(state.sessions)) {
    if (unseenForMs(summary, state) > DROP_AFTER_MS) {
      sessions ??= { ...state.sessions };
      delete sessions[id];
    }
  }
  let alive: Record<string, number> | null = null;
  for (const [process, at] of Object.entries(state.alive)) {
    if (serverNow(state) - at > DROP_AFTER_MS) {
      alive ??= { ...state.alive };
      delete alive[process];
    }
  }
  return sessions || alive ? { ...state, sessions: sessions ?? state.sessions, alive: alive ?? state.alive } : state;
}

function applyMonitor(state: AdminLiveState, frame: AdminServerFrame, receivedAt: number): AdminLiveState {
  if (frame.type === 'monitor.snapshot') {
    const sessions: Record<string, SessionSummary> = {};
    for (const s of frame.sessions) sessions[s.interview_id] = s;
    const clock = { now: receivedAt, clockOffsetMs: frame.at_ms - receivedAt };
    return withoutExpired({ ...state, ...clock, synced: true, sessions, alive: { ...frame.alive } });
  }
  if (frame.type !== 'monitor.update') return state;
  const clock = { now: receivedAt, clockOffsetMs: frame.at_ms - receivedAt };
  const alive = { ...state.alive };
  for (const [process, at] of Object.entries(frame.alive)) alive[process] = Math.max(at, alive[process] ?? 0);
  const sessions = { ...state.sessions };
  for (const id of frame.removed) {
    // A removal decided before the row was last refreshed is older news (the interview moved
    // to another process, which has published it since): the row stays.
    const known = sessions[id];
    if (known && known.seen_ms <= frame.at_ms) delete sessions[id];
  }
  for (const s of frame.sessions) {
    const known = sessions[s.interview_id];
    if (!known || known.seen_ms <= s.seen_ms) sessions[s.interview_id] = s;
  }
  return withoutExpired({ ...state, ...clock, sessions, alive });
}

// --- steering ---------------------------------------------------------------------------------

function resolveSteer(
  steering: SteerResult[],
  match: (r: SteerResult) => boolean,
  update: Partial<SteerResult>,
): SteerResult[] | null {
  const at = steering.findIndex((r) => (r.status === 'pending' || r.status === 'unanswered') && match(r));
  if (at < 0) return null;
  const copy = steering.slice();
  copy[at] = { ...copy[at], ...update };
  return copy;
}

function onFrame(state: AdminLiveState, frame: AdminServerFrame, receivedAt: number): AdminLiveState {
  switch (frame.type) {
    case 'monitor.snapshot':
      return {
        ...applyMonitor(state, frame, receivedAt),
        connection: 'connected',
        attempt: 0,
        retryAt: null,
        lastCloseCode: null,
      };
    case 'monitor.update':
      return applyMonitor(state, frame, receivedAt);
    case 'steer.ack': {
      const steering = resolveSteer(
        state.steering,
        (r) => r.interviewId === frame.interview_id && r.action === frame.action,
        { status: 'acked', message: frame.message, code: null },
      );
      return steering ? { ...state, steering } : state;
    }
    case 'error': {
      // Errors name no command: the runner answers commands in the order they were sent, so a
      // refusal is about the oldest one still waiting.
      const steering = resolveSteer(state.steering, () => true, {
        status: 'refused',
        message: frame.message,
        code: frame.code,
      });
      return steering
        ? { ...state, steering }
        : { ...state, lastError: { code: frame.code, message: frame.message } };
    }
    case 'pong':
      return state;
  }
}

export function adminReducer(state: AdminLiveState, action: AdminAction): AdminLiveState {
  switch (action.type) {
    case 'connect':
      if (state.closeReason) return state;
      return { ...state, connection: action.reconnect ? 'reconnecting' : 'connecting', retryAt: null, synced: false };
    case 'frame':
      return onFrame(state, action.frame, action.receivedAt);
    case 'closed': {
      const decision = adminCloseDecision(action.code);
      // Commands in flight may or may not have reached the runner: say so, do not guess.
      const steering = state.steering.map((r) =>
        r.status === 'pending'
          ? {
              ...r,
              status: 'lost' as const,
              message: 'The connection dropped before the server answered: check the audit log before sending it again.',
            }
          : r,
      );
      const base = { ...state, steering, lastCloseCode: action.code, synced: false };
      if (decision === 'retry' && !state.closeReason) {
        return { ...base, connection: 'reconnecting', attempt: state.attempt + 1, retryAt: action.retryAt };
      }
      return {
        ...base,
        connection: 'closed',
        closeReason: state.closeReason ?? (decision === 'retry' ? 'stopped' : decision),
        retryAt: null,
      };
    }
    case 'tick':
      return withoutExpired({ ...state, now: action.now });
    case 'sent': {
      const { frame } = action;
      const result: SteerResult = {
        id: state.nextSteerId,
        interviewId: frame.interview_id,
        action: frame.type,
        status: 'pending',
        message: '',
        code: null,
        sentAt: action.at,
      };
      return {
        ...state,
        steering: [...state.steering, result].slice(-STEER_HISTORY),
        nextSteerId: state.nextSteerId + 1,
        lastError: null,
      };
    }
    case 'steer-timeout': {
      const steering = state.steering.map((r) =>
        r.id === action.id && r.status === 'pending'
          ? {
              ...r,
              status: 'unanswered' as const,
              message: 'No answer from the interview yet: it may be moving to another process.',
            }
          : r,
      );
      return { ...state, steering };
    }
    case 'dismiss-error':
      return { ...state, lastError: null };
    case 'stopped':
      return { ...state, connection: 'closed', closeReason: state.closeReason ?? 'stopped', retryAt: null };
  }
}

/** The newest steering result about one interview (what its steering panel shows). */
export function latestSteer(state: AdminLiveState, interviewId: string): SteerResult | null {
  for (let i = state.steering.length - 1; i >= 0; i -= 1) {
    if (state.steering[i].interviewId === interviewId) return state.steering[i];
  }
  return null;
}
