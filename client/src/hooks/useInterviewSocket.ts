/**
 * The one owner of the live interview connection.
 *
 * `InterviewSocket` (a plain class, so tests can drive it with a fake WebSocket and fake
 * timers) does the handshake (hello with token, last_seq and epoch), the heartbeat (a ping
 * every 15 s; reconnect when nothing has arrived for 30 s), reconnection with exponential
 * backoff and jitter, resume from the last seq, resync from the REST API, and persists the
 * transcript with its seq in sessionStorage so a reload resumes without repeating a word.
 * All state changes go through the pure `interviewReducer`.
 *
 * `useInterviewSocket` binds one instance to a component.
 */
import { useCallback, useEffect, useMemo, useState, useSyncExternalStore } from 'react';
import type { InterviewDetail } from '../api/client';
import {
  MAX_ANSWER_CHARS,
  CloseCode,
  RECORDING_ERROR_CODES,
  SERVER_FRAME_TYPES,
  type AudioControlFrame,
  type ClientFrame,
  type ErrorFrame,
  type RecordingFrame,
  type ServerFrame,
} from '../api/protocol';
import { backoffDelay, RATE_LIMITED_PAUSE_MS } from './backoff';
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

/** The parts of a WebSocket this code uses (a real one, or a fake in tests). */
export interface SocketLike {
  readonly readyState: number;
  /** Text frames (JSON) and binary frames (audio chunks). */
  send(data: string | Uint8Array): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: Event) => void) | null;
  onmessage: ((event: MessageEvent) => void) | null;
  onclose: ((event: CloseEvent) => void) | null;
  onerror: ((event: Event) => void) | null;
}

const OPEN = 1;

/**
 * Whoever uploads recordings over this connection (the voice controller). Recording frames are
 * not logged and go to the socket that uploads, so after every reconnect the upload must be
 * resumed on the new socket: `linkUp` comes with every `ready`, `linkDown` when a socket is gone.
 */
export interface RecordingListener {
  linkUp(): void;
  linkDown(): void;
  /** audio.ack, transcript.final, and the errors about a recording. */
  frame(frame: RecordingFrame | ErrorFrame): void;
}

/** What the voice controller may send on the connection. */
export interface RecordingLink {
  /** A socket is open and the handshake is done: frames sent now reach the server. */
  readonly ready: boolean;
  sendAudioControl(frame: AudioControlFrame): boolean;
  /** One binary frame (a chunk's header and PCM). */
  sendAudioChunk(frame: Uint8Array): boolean;
}

export function isRecordingError(frame: ServerFrame): frame is ErrorFrame {
  return frame.type === 'error' && frame.seq === 0 && RECORDING_ERROR_CODES.has(frame.code);
}

export interface InterviewSocketOptions {
  url: string;
  /** The current access token (null: not signed in). */
  getToken: () => string | null;
  /** Refreshes the access token; true when a new one is available. */
  refreshToken: () => Promise<boolean>;
  /** GET /api/interviews/{id}, for resync and for an interview that ended meanwhile. */
  loadInterview: (id: string) => Promise<InterviewDetail>;
  createSocket?: (url: string) => SocketLike;
  /** Where the transcript and its seq are kept across reloads (null: nowhere). */
  storage?: Storage | null;
  random?: () => number;
  now?: () => number;
  pingIntervalMs?: number;
  /** Reconnect when no frame at all has arrived for this long. */
  silenceTimeoutMs?: number;
  /** How long the "resumed" badge stays before it reads "connected". */
  resumedBadgeMs?: number;
  /** Watch the browser's online/offline events. */
  watchNetwork?: boolean;
}

export const PING_INTERVAL_MS = 15_000;
export const SILENCE_TIMEOUT_MS = 30_000;
const WATCHDOG_TICK_MS = 1_000;
const PERSIST_THROTTLE_MS = 250;
/** The socket closed without a close frame (a standard code, not one of the protocol's). */
const WS_ABNORMAL_CLOSURE = 1006;
/** Client-initiated close codes (4000-4099 are free for private use). */
const CLOSE_SILENT = 4000;
const CLOSE_REWIND = 4001;
const CLOSE_CLIENT_DONE = 1000;

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
  // Frame types this client does not know are ignored (docs/protocol.md).
  if (typeof type !== 'string' || !SERVER_FRAME_TYPES.has(type)) return null;
  const frame = raw as ServerFrame;
  if (typeof frame.seq !== 'number') (frame as { seq: number }).seq = 0;
  return frame;
}

export function storageKey(interviewId: string): string {
  return `interview.live.${interviewId}`;
}

export class InterviewSocket implements RecordingLink {
  private state: InterviewState;
  private recorder: RecordingListener | null = null;
  private readonly listeners = new Set<() => void>();
  private socket: SocketLike | null = null;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private watchdog: ReturnType<typeof setInterval> | null = null;
  private settleTimer: ReturnType<typeof setTimeout> | null = null;
  private persistTimer: ReturnType<typeof setTimeout> | null = null;
  private lastFrameAt = 0;
  private lastPingAt = 0;
  private triedRefresh = false;
  /** A full replay was already tried for the current resync; do not loop. */
  private rewound = false;
  private stopped = true;
  private readonly opts: Required<
    Omit<InterviewSocketOptions, 'storage' | 'createSocket'>
  > & { storage: Storage | null; createSocket: (url: string) => SocketLike };

  constructor(
    readonly interviewId: string,
    options: InterviewSocketOptions,
  ) {
    this.opts = {
      random: Math.random,
      now: Date.now,
      pingIntervalMs: PING_INTERVAL_MS,
      silenceTimeoutMs: SILENCE_TIMEOUT_MS,
      resumedBadgeMs: 4_000,
      watchNetwork: typeof window !== 'undefined',
      ...options,
      storage: options.storage === undefined ? safeSessionStorage() : options.storage,
      createSocket: options.createSocket ?? ((url) => new WebSocket(url) as SocketLike),
    };
    this.state = this.restore();
    this.restoredSeq = this.state.lastSeq;
  }

  /** The seq this page started from (restored from storage): events up to it were seen before. */
  readonly restoredSeq: number;

  // --- store -------------------------------------------------------------------------

  getState = (): InterviewState => this.state;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  private dispatch(action: InterviewAction): void {
    const next = interviewReducer(this.state, action);
    if (next === this.state) return;
    const before = this.state;
    this.state = next;
    if (next.lastSeq !== before.lastSeq || next.turns !== before.turns || next.report !== before.report) {
      this.schedulePersist();
    }
    this.listeners.forEach((l) => l());
  }

  private restore(): InterviewState {
    const storage = this.opts.storage;
    if (!storage) return initialState(this.interviewId);
    try {
      const raw = storage.getItem(storageKey(this.interviewId));
      return raw ? fromPersisted(this.interviewId, JSON.parse(raw)) : initialState(this.interviewId);
    } catch {
      return initialState(this.interviewId);
    }
  }

  private schedulePersist(): void {
    if (!this.opts.storage || this.persistTimer) return;
    this.persistTimer = setTimeout(() => {
      this.persistTimer = null;
      this.persist();
    }, PERSIST_THROTTLE_MS);
  }

  /** Writes the transcript and its seq together, so they always agree. */
  persist = (): void => {
    if (this.persistTimer) {
      clearTimeout(this.persistTimer);
      this.persistTimer = null;
    }
    const storage = this.opts.storage;
    if (!storage || this.state.resyncing) return;
    try {
      storage.setItem(storageKey(this.interviewId), JSON.stringify(toPersisted(this.state)));
    } catch {
      // Storage full or disabled: a reload then replays the log from the start.
    }
  };

  // --- lifecycle ---------------------------------------------------------------------------

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    if (this.opts.watchNetwork) {
      window.addEventListener('offline', this.onOffline);
      window.addEventListener('online', this.onOnline);
      window.addEventListener('pagehide', this.persist);
    }
    this.exposeTestHook();
    this.connect(false);
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.opts.watchNetwork) {
      window.removeEventListener('offline', this.onOffline);
      window.removeEventListener('online', this.onOnline);
      window.removeEventListener('pagehide', this.persist);
    }
    this.clearTimers();
    this.dropSocket(CLOSE_CLIENT_DONE, 'leaving');
    this.persist();
    this.dispatch({ type: 'stopped' });
    this.removeTestHook();
  }

  /** Reconnect now (e.g. a "retry" button), skipping the remaining backoff. */
  reconnectNow(): void {
    if (this.stopped || this.state.closeReason) return;
    if (this.socket) return;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.connect(true);
  }

  private connect(reconnect: boolean): void {
    if (this.stopped || this.state.closeReason) return;
    const token = this.opts.getToken();
    if (!token) {
      this.dispatch({ type: 'closed', code: CloseCode.not_authenticated, retryAt: null });
      return;
    }
    this.dispatch({ type: 'connect', reconnect: reconnect || this.state.lastSeq > 0 });
    let socket: SocketLike;
    try {
      socket = this.opts.createSocket(this.opts.url);
    } catch {
      this.onSocketClosed(WS_ABNORMAL_CLOSURE);
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      if (this.socket !== socket) return;
      this.lastFrameAt = this.opts.now();
      this.lastPingAt = this.opts.now();
      this.sendRaw({
        type: 'hello',
        token: this.opts.getToken() ?? token,
        last_seq: this.state.lastSeq,
        ...(this.state.epoch ? { epoch: this.state.epoch } : {}),
      });
      this.startWatchdog();
    };
    socket.onmessage = (event: MessageEvent) => {
      if (this.socket !== socket) return;
      this.lastFrameAt = this.opts.now();
      if (typeof event.data !== 'string') return;
      const frame = parseServerFrame(event.data);
      if (frame) this.onFrame(frame);
    };
    socket.onclose = (event: CloseEvent) => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.recorder?.linkDown();
      this.onSocketClosed(event.code || WS_ABNORMAL_CLOSURE);
    };
    socket.onerror = () => {
      // A close event always follows; reconnection is decided there.
    };
  }

  private onFrame(frame: ServerFrame): void {
    if (this.recorder && (frame.type === 'audio.ack' || frame.type === 'transcript.final' || isRecordingError(frame))) {
      // About this socket's recording: the voice controller shows it, not the error bar.
      this.recorder.frame(frame);
      return;
    }
    this.dispatch({ type: 'frame', frame });
    if (frame.type === 'ready') {
      this.triedRefresh = false;
      if (this.state.connection === 'resumed') this.scheduleSettle();
      // A recording in progress carries on over this socket (resumed where the server is).
      this.recorder?.linkUp();
    } else if (frame.type === 'resync') {
      void this.resync(frame.head_seq, frame.epoch);
    } else if (frame.type === 'ended' && !this.state.resyncing) {
      // Nothing follows an ended event: hang up instead of waiting for the server's 4409.
      this.stopWatchdog();
      this.dropSocket(CLOSE_CLIENT_DONE, 'interview ended');
      this.dispatch({ type: 'closed', code: CloseCode.interview_finished, retryAt: null });
    }
  }

  private async resync(headSeq: number, epoch: string): Promise<void> {
    const socket = this.socket;
    let detail: InterviewDetail;
    try {
      detail = await this.opts.loadInterview(this.interviewId);
    } catch {
      if (this.stopped || this.socket !== socket) return;
      // Try the whole handshake again: the next hello gets another resync.
      this.dispatch({
        type: 'local-error',
        code: 'resync_failed',
        message: 'Could not reload the interview after a reconnect; trying again.',
      });
      this.forceReconnect(CLOSE_SILENT);
      return;
    }
    if (this.stopped || this.socket !== socket) return;
    this.dispatch({ type: 'snapshot', detail, headSeq, epoch });
    if (!openTurnMissing(this.state)) {
      this.rewound = false;
    } else if (!this.rewound) {
      // The REST API only has finished turns; replay the log to get the open one's words.
      // (If the log no longer has them either, the question stays blank: answer or skip.)
      this.rewound = true;
      this.dispatch({ type: 'rewind' });
      this.forceReconnect(CLOSE_REWIND, 0);
    }
  }

  private onSocketClosed(code: number): void {
    this.stopWatchdog();
    if (this.stopped) return;
    const decision = closeDecision(code);
    if (decision === 'auth' && !this.triedRefresh) {
      // The access token may simply have expired: refresh once and try again.
      this.triedRefresh = true;
      this.dispatch({ type: 'closed', code: CloseCode.going_away, retryAt: null });
      void this.opts.refreshToken().then((ok) => {
        if (this.stopped) return;
        if (ok) this.connect(true);
        else this.dispatch({ type: 'closed', code, retryAt: null });
      });
      return;
    }
    if (decision === 'retry') {
      const attempt = this.state.attempt;
      let delay = backoffDelay(attempt, this.opts.random);
      if (code === CloseCode.rate_limited) delay = Math.max(delay, RATE_LIMITED_PAUSE_MS);
      this.dispatch({ type: 'closed', code, retryAt: this.opts.now() + delay });
      this.reconnectTimer = setTimeout(() => {
        this.reconnectTimer = null;
        this.connect(true);
      }, delay);
      return;
    }
    this.dispatch({ type: 'closed', code, retryAt: null });
    if (decision === 'finished' && !this.state.ended) {
      // It ended while we were away: the REST API has the final transcript and report.
      void this.opts
        .loadInterview(this.interviewId)
        .then((detail) => {
          if (!this.stopped) this.dispatch({ type: 'snapshot', detail });
        })
        .catch(() => undefined);
    }
  }

  /** Drops the current socket and reconnects (after `delay`, default: the backoff schedule). */
  private forceReconnect(code: number, delay?: number): void {
    const socket = this.socket;
    if (!socket) return;
    this.socket = null;
    this.recorder?.linkDown();
    detach(socket);
    try {
      socket.close(code, 'reconnecting');
    } catch {
      // already closed
    }
    if (delay === 0) {
      this.stopWatchdog();
      this.connect(true);
    } else {
      this.onSocketClosed(WS_ABNORMAL_CLOSURE);
    }
  }

  private dropSocket(code: number, reason: string): void {
    const socket = this.socket;
    this.socket = null;
    if (!socket) return;
    this.recorder?.linkDown();
    detach(socket);
    try {
      socket.close(code, reason);
    } catch {
      // already closed
    }
  }

  // --- heartbeat -------------------------------------------------------------------------

  private startWatchdog(): void {
    this.stopWatchdog();
    this.watchdog = setInterval(this.tick, WATCHDOG_TICK_MS);
  }

  private stopWatchdog(): void {
    if (this.watchdog) clearInterval(this.watchdog);
    this.watchdog = null;
  }

  private tick = (): void => {
    const now = this.opts.now();
    if (!this.socket || this.socket.readyState !== OPEN) return;
    if (now - this.lastFrameAt > this.opts.silenceTimeoutMs) {
      // Nothing (not even a pong) for too long: the connection is dead without knowing it.
      this.forceReconnect(CLOSE_SILENT);
      return;
    }
    if (now - this.lastPingAt >= this.opts.pingIntervalMs) {
      this.lastPingAt = now;
      this.sendRaw({ type: 'ping', t: now });
    }
  };

  private scheduleSettle(): void {
    if (this.settleTimer) clearTimeout(this.settleTimer);
    this.settleTimer = setTimeout(() => {
      this.settleTimer = null;
      this.dispatch({ type: 'settled' });
    }, this.opts.resumedBadgeMs);
  }

  private clearTimers(): void {
    this.stopWatchdog();
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    if (this.settleTimer) clearTimeout(this.settleTimer);
    this.reconnectTimer = null;
    this.settleTimer = null;
  }

  private onOffline = (): void => {
    // The browser knows the network is gone: do not wait for the heartbeat to notice.
    if (this.socket) this.forceReconnect(CLOSE_SILENT);
  };

  private onOnline = (): void => {
    if (!this.socket && this.reconnectTimer) this.reconnectNow();
  };

  // --- actions ---------------------------------------------------------------------------

  private sendRaw(frame: ClientFrame): boolean {
    const socket = this.socket;
    if (!socket || socket.readyState !== OPEN) return false;
    try {
      socket.send(JSON.stringify(frame));
      return true;
    } catch {
      return false;
    }
  }

  private sendAction(frame: ClientFrame): boolean {
    if (this.state.connection !== 'connected' && this.state.connection !== 'resumed') {
      this.dispatch({
        type: 'local-error',
        code: 'not_connected',
        message: 'Not connected right now. Reconnecting; your answer is kept, send it again in a moment.',
      });
      return false;
    }
    if (!this.sendRaw(frame)) {
      this.dispatch({
        type: 'local-error',
        code: 'not_connected',
        message: 'The connection dropped. Reconnecting; your answer is kept.',
      });
      return false;
    }
    return true;
  }

  private openTurn(): number | null {
    const { phase, currentTurn } = this.state;
    return phase === 'asking' || phase === 'listening' ? currentTurn : null;
  }

  /** Sends the answer to the open turn; `voice`: it was spoken (with its recording, if the server has it). */
  answer(text: string, voice?: { uploadId: string | null }): boolean {
    const trimmed = text.trim();
    if (!trimmed) return false;
    if (trimmed.length > MAX_ANSWER_CHARS) {
      this.dispatch({
        type: 'local-error',
        code: 'answer_too_long',
        message: `Answers are limited to ${MAX_ANSWER_CHARS.toLocaleString()} characters.`,
      });
      return false;
    }
    const turn = this.openTurn();
    if (turn === null) return false;
    const ok = this.sendAction(
      voice
        ? { type: 'answer', text: trimmed, source: 'voice', turn, ...(voice.uploadId ? { upload_id: voice.uploadId } : {}) }
        : { type: 'answer', text: trimmed, source: 'typed', turn },
    );
    if (ok) this.dispatch({ type: 'sent', kind: 'answer', turn });
    return ok;
  }

  // --- recordings ------------------------------------------------------------------------------

  /** Routes recording frames to `listener` (one at a time); returns a function that detaches it. */
  attachRecorder(listener: RecordingListener): () => void {
    this.recorder = listener;
    if (this.ready) listener.linkUp();
    return () => {
      if (this.recorder === listener) this.recorder = null;
    };
  }

  get ready(): boolean {
    const { connection } = this.state;
    return (
      (connection === 'connected' || connection === 'resumed') &&
      !this.state.resyncing &&
      this.socket !== null &&
      this.socket.readyState === OPEN
    );
  }

  sendAudioControl(frame: AudioControlFrame): boolean {
    return this.ready && this.sendRaw(frame);
  }

  sendAudioChunk(frame: Uint8Array): boolean {
    const socket = this.socket;
    if (!socket || !this.ready) return false;
    try {
      socket.send(frame);
      return true;
    } catch {
      return false;
    }
  }

  interrupt(): boolean {
    return this.sendAction({ type: 'interrupt' });
  }

  skipQuestion(): boolean {
    const turn = this.openTurn();
    if (turn === null) return false;
    const ok = this.sendAction({ type: 'skip', turn });
    if (ok) this.dispatch({ type: 'sent', kind: 'skip', turn });
    return ok;
  }

  end(): boolean {
    return this.sendAction({ type: 'end' });
  }

  /** Asks for a break once the current question (and its follow-ups) is done. */
  pause(): boolean {
    const ok = this.sendAction({ type: 'pause' });
    if (ok) this.dispatch({ type: 'pause-sent', request: 'pause' });
    return ok;
  }

  /** Ends the pause, or cancels one requested that has not begun. */
  resume(): boolean {
    const ok = this.sendAction({ type: 'resume' });
    if (ok) this.dispatch({ type: 'pause-sent', request: 'resume' });
    return ok;
  }

  dismissError(): void {
    this.dispatch({ type: 'dismiss-error' });
  }

  // --- test hook (never in production builds) ------------------------------------------------

  private exposeTestHook(): void {
    if (import.meta.env.MODE === 'production' || typeof window === 'undefined') return;
    (window as unknown as { __interviewSocket?: unknown }).__interviewSocket = {
      /** Closes the live socket as if the network dropped it. */
      close: (code = CLOSE_SILENT) => this.socket?.close(code, 'test hook'),
      state: () => this.state,
    };
  }

  private removeTestHook(): void {
    if (import.meta.env.MODE === 'production' || typeof window === 'undefined') return;
    delete (window as unknown as { __interviewSocket?: unknown }).__interviewSocket;
  }
}

function detach(socket: SocketLike): void {
  socket.onopen = null;
  socket.onmessage = null;
  socket.onclose = null;
  socket.onerror = null;
}

function safeSessionStorage(): Storage | null {
  try {
    return typeof sessionStorage === 'undefined' ? null : sessionStorage;
  } catch {
    return null;
  }
}

// --- the hook ---------------------------------------------------------------------------------

export interface UseInterviewSocket {
  state: InterviewState;
  connection: InterviewState['connection'];
  transcript: InterviewState['turns'];
  phase: InterviewState['phase'];
  deadlineMs: number | null;
  questionNumber: number;
  questionCount: number;
  offline: boolean;
  report: InterviewState['report'];
  lastError: InterviewState['lastError'];
  answer: (text: string, voice?: { uploadId: string | null }) => boolean;
  interrupt: () => boolean;
  skipQuestion: () => boolean;
  end: () => boolean;
  pause: () => boolean;
  resume: () => boolean;
  reconnectNow: () => void;
  dismissError: () => void;
  /** The connection itself, for the voice controller (null until it exists). */
  socket: InterviewSocket | null;
}

export function useInterviewSocket(
  interviewId: string,
  options: Omit<InterviewSocketOptions, 'url'> & { url?: string },
  enabled = true,
): UseInterviewSocket {
  const { url, getToken, refreshToken, loadInterview, createSocket, storage } = options;
  const [socket, setSocket] = useState<InterviewSocket | null>(null);
  const fallback = useMemo(() => initialState(interviewId), [interviewId]);

  useEffect(() => {
    if (!enabled || !url) return;
    const instance = new InterviewSocket(interviewId, {
      ...options,
      url,
      getToken,
      refreshToken,
      loadInterview,
      createSocket,
      storage,
    });
    setSocket(instance);
    instance.start();
    return () => instance.stop();
    // One socket per interview and URL; the callbacks are read when needed.
  }, [interviewId, url, enabled]);

  const subscribe = useCallback(
    (listener: () => void) => (socket ? socket.subscribe(listener) : () => undefined),
    [socket],
  );
  const state = useSyncExternalStore(
    subscribe,
    () => (socket && socket.interviewId === interviewId ? socket.getState() : fallback),
  );

  return {
    state,
    connection: state.connection,
    transcript: state.turns,
    phase: state.phase,
    deadlineMs: state.deadlineMs,
    questionNumber: state.questionNumber,
    questionCount: state.questionCount,
    offline: state.offline,
    report: state.report,
    lastError: state.lastError,
    answer: (text, voice) => socket?.answer(text, voice) ?? false,
    interrupt: () => socket?.interrupt() ?? false,
    skipQuestion: () => socket?.skipQuestion() ?? false,
    end: () => socket?.end() ?? false,
    pause: () => socket?.pause() ?? false,
    resume: () => socket?.resume() ?? false,
    reconnectNow: () => socket?.reconnectNow(),
    dismissError: () => socket?.dismissError(),
    socket: socket && socket.interviewId === interviewId ? socket : null,
  };
}
