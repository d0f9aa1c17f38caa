/**
 * The one owner of the admin socket (/ws/admin): the live monitor and steering.
 *
 * `AdminSocket` (a plain class, so tests drive it with a fake WebSocket and fake timers) says
 * hello with the access token, keeps a heartbeat (a ping every 15 s; reconnect when nothing has
 * arrived for 30 s), reconnects with exponential backoff and jitter, refreshes the token once
 * when the server says 4401, and stops for good on 4404 (this account is not an administrator).
 * A reconnect needs no resume: the server's first frame is always a full snapshot. A tick every
 * second drops summaries nobody refreshed and moves the "seconds ago" the table shows.
 * All state changes go through the pure `adminReducer`.
 *
 * `useAdminSocket` binds one instance to a component.
 */
import { useCallback, useEffect, useState, useSyncExternalStore } from 'react';
import { parseAdminFrame, type AdminClientFrame, type SteerFrame } from '../api/adminProtocol';
import { CloseCode } from '../api/protocol';
import { backoffDelay, RATE_LIMITED_PAUSE_MS } from './backoff';
import {
  adminCloseDecision,
  adminReducer,
  initialAdminState,
  type AdminAction,
  type AdminLiveState,
} from './adminReducer';
import { PING_INTERVAL_MS, SILENCE_TIMEOUT_MS, type SocketLike } from './useInterviewSocket';

export interface AdminSocketOptions {
  url: string;
  /** The current access token (null: not signed in). */
  getToken: () => string | null;
  /** Refreshes the access token; true when a new one is available. */
  refreshToken: () => Promise<boolean>;
  createSocket?: (url: string) => SocketLike;
  random?: () => number;
  now?: () => number;
  pingIntervalMs?: number;
  /** Reconnect when no frame at all has arrived for this long. */
  silenceTimeoutMs?: number;
  /** How often the clock the table counts with moves (and stale rows are dropped). */
  tickMs?: number;
  /** A steering command with no answer after this long is shown as unanswered. */
  steerTimeoutMs?: number;
  /** Watch the browser's online/offline events. */
  watchNetwork?: boolean;
}

const OPEN = 1;
const TICK_MS = 1_000;
export const STEER_TIMEOUT_MS = 10_000;
const WS_ABNORMAL_CLOSURE = 1006;
const CLOSE_SILENT = 4000;
const CLOSE_CLIENT_DONE = 1000;

export class AdminSocket {
  private state: AdminLiveState;
  private readonly listeners = new Set<() => void>();
  private socket: SocketLike | null = null;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private ticker: ReturnType<typeof setInterval> | null = null;
  private readonly steerTimers = new Map<number, ReturnType<typeof setTimeout>>();
  private lastFrameAt = 0;
  private lastPingAt = 0;
  private triedRefresh = false;
  private stopped = true;
  private readonly opts: Required<Omit<AdminSocketOptions, 'createSocket'>> & {
    createSocket: (url: string) => SocketLike;
  };

  constructor(options: AdminSocketOptions) {
    this.opts = {
      random: Math.random,
      now: Date.now,
      pingIntervalMs: PING_INTERVAL_MS,
      silenceTimeoutMs: SILENCE_TIMEOUT_MS,
      tickMs: TICK_MS,
      steerTimeoutMs: STEER_TIMEOUT_MS,
      watchNetwork: typeof window !== 'undefined',
      ...options,
      createSocket: options.createSocket ?? ((url) => new WebSocket(url) as SocketLike),
    };
    this.state = initialAdminState(this.opts.now());
  }

  // --- store -------------------------------------------------------------------------------

  getState = (): AdminLiveState => this.state;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  private dispatch(action: AdminAction): void {
    const next = adminReducer(this.state, action);
    if (next === this.state) return;
    this.state = next;
    this.listeners.forEach((l) => l());
  }

  // --- lifecycle ---------------------------------------------------------------------------

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    if (this.opts.watchNetwork) {
      window.addEventListener('offline', this.onOffline);
      window.addEventListener('online', this.onOnline);
    }
    this.ticker = setInterval(this.tick, this.opts.tickMs);
    this.connect(false);
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.opts.watchNetwork) {
      window.removeEventListener('offline', this.onOffline);
      window.removeEventListener('online', this.onOnline);
    }
    if (this.ticker) clearInterval(this.ticker);
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.ticker = null;
    this.reconnectTimer = null;
    this.steerTimers.forEach((t) => clearTimeout(t));
    this.steerTimers.clear();
    this.dropSocket(CLOSE_CLIENT_DONE, 'leaving');
    this.dispatch({ type: 'stopped' });
  }

  /** Reconnect now (a "retry" button), skipping the remaining backoff. */
  reconnectNow(): void {
    if (this.stopped || this.state.closeReason || this.socket) return;
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
    this.dispatch({ type: 'connect', reconnect });
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
      this.sendRaw({ type: 'hello', token: this.opts.getToken() ?? token });
    };
    socket.onmessage = (event: MessageEvent) => {
      if (this.socket !== socket) return;
      this.lastFrameAt = this.opts.now();
      if (typeof event.data !== 'string') return;
      const frame = parseAdminFrame(event.data);
      if (!frame) return;
      if (frame.type === 'monitor.snapshot') this.triedRefresh = false;
      this.dispatch({ type: 'frame', frame, receivedAt: this.opts.now() });
    };
    socket.onclose = (event: CloseEvent) => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.onSocketClosed(event.code || WS_ABNORMAL_CLOSURE);
    };
    socket.onerror = () => {
      // A close event always follows; reconnection is decided there.
    };
  }

  private onSocketClosed(code: number): void {
    if (this.stopped) return;
    const decision = adminCloseDecision(code);
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
    if (decision !== 'retry') {
      this.dispatch({ type: 'closed', code, retryAt: null });
      return;
    }
    let delay = backoffDelay(this.state.attempt, this.opts.random);
    if (code === CloseCode.rate_limited) delay = Math.max(delay, RATE_LIMITED_PAUSE_MS);
    this.dispatch({ type: 'closed', code, retryAt: this.opts.now() + delay });
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.connect(true);
    }, delay);
  }

  private dropSocket(code: number, reason: string): void {
    const socket = this.socket;
    this.socket = null;
    if (!socket) return;
    socket.onopen = null;
    socket.onmessage = null;
    socket.onclose = null;
    socket.onerror = null;
    try {
      socket.close(code, reason);
    } catch {
      // already closed
    }
  }

  // --- heartbeat and the clock --------------------------------------------------------------

  private tick = (): void => {
    const now = this.opts.now();
    this.dispatch({ type: 'tick', now });
    const socket = this.socket;
    if (!socket || socket.readyState !== OPEN) return;
    if (now - this.lastFrameAt > this.opts.silenceTimeoutMs) {
      // Nothing, not even a pong, for too long: the connection is dead without knowing it.
      this.dropSocket(CLOSE_SILENT, 'silent');
      this.onSocketClosed(WS_ABNORMAL_CLOSURE);
      return;
    }
    if (now - this.lastPingAt >= this.opts.pingIntervalMs) {
      this.lastPingAt = now;
      this.sendRaw({ type: 'ping', t: now });
    }
  };

  private onOffline = (): void => {
    if (!this.socket) return;
    this.dropSocket(CLOSE_SILENT, 'offline');
    this.onSocketClosed(WS_ABNORMAL_CLOSURE);
  };

  private onOnline = (): void => {
    if (!this.socket && this.reconnectTimer) this.reconnectNow();
  };

  // --- steering ------------------------------------------------------------------------------

  get connected(): boolean {
    return this.state.connection === 'connected' && this.socket !== null && this.socket.readyState === OPEN;
  }

  private sendRaw(frame: AdminClientFrame): boolean {
    const socket = this.socket;
    if (!socket || socket.readyState !== OPEN) return false;
    try {
      socket.send(JSON.stringify(frame));
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Sends a steering command; its answer (steer.ack or error) lands in `state.steering` under
   * the id returned. Null when the socket is not connected (nothing was sent).
   */
  steer(frame: SteerFrame): number | null {
    if (!this.connected || !this.sendRaw(frame)) return null;
    const id = this.state.nextSteerId;
    this.dispatch({ type: 'sent', frame, at: this.opts.now() });
    this.steerTimers.set(
      id,
      setTimeout(() => {
        this.steerTimers.delete(id);
        this.dispatch({ type: 'steer-timeout', id });
      }, this.opts.steerTimeoutMs),
    );
    return id;
  }

  dismissError(): void {
    this.dispatch({ type: 'dismiss-error' });
  }
}

// --- the hook ---------------------------------------------------------------------------------

export interface UseAdminSocket {
  state: AdminLiveState;
  /** Sends a steering command: the id of its result in `state.steering`, or null if not sent. */
  steer: (frame: SteerFrame) => number | null;
  reconnectNow: () => void;
  dismissError: () => void;
}

export function useAdminSocket(options: AdminSocketOptions, enabled = true): UseAdminSocket {
  const [socket, setSocket] = useState<AdminSocket | null>(null);
  const [fallback] = useState(() => initialAdminState());
  const { url } = options;

  useEffect(() => {
    if (!enabled || !url) return;
    const instance = new AdminSocket(options);
    setSocket(instance);
    instance.start();
    return () => instance.stop();
    // One socket per URL; the callbacks are read when needed.
  }, [url, enabled]);

  const subscribe = useCallback(
    (listener: () => void) => (socket ? socket.subscribe(listener) : () => undefined),
    [socket],
  );
  const state = useSyncExternalStore(subscribe, () => (socket ? socket.getState() : fallback));
  return {
    state,
    steer: (frame) => socket?.steer(frame) ?? null,
    reconnectNow: () => socket?.reconnectNow(),
    dismissError: () => socket?.dismissError(),
  };
}
