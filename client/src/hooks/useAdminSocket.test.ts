import { act, renderHook } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CloseCode } from '../api/protocol';
import { interviewId, snapshot, steerAck, summary, update } from '../test/adminFrames';
import { FakeWebSocket } from '../test/socket';
import { AdminSocket, STEER_TIMEOUT_MS, useAdminSocket, type AdminSocketOptions } from './useAdminSocket';

const URL = 'ws://test/ws/admin';
let now = 1_800_000_000_000;

function makeSocket(over: Partial<AdminSocketOptions> = {}) {
  const options: AdminSocketOptions = {
    url: URL,
    getToken: () => 'admin-token',
    refreshToken: vi.fn(async () => true),
    createSocket: (url) => new FakeWebSocket(url),
    random: () => 0,
    now: () => now,
    watchNetwork: false,
    ...over,
  };
  return { socket: new AdminSocket(options), options };
}

function advance(ms: number) {
  now += ms;
  vi.advanceTimersByTime(ms);
}

/** Opens the newest fake socket and answers its hello with a snapshot. */
function accept(...sessions: ReturnType<typeof summary>[]) {
  const ws = FakeWebSocket.last;
  ws.open();
  ws.receiveAdmin(snapshot(sessions, now));
  return ws;
}

beforeEach(() => {
  vi.useFakeTimers();
  FakeWebSocket.all = [];
  now = 1_800_000_000_000;
});

afterEach(() => {
  vi.useRealTimers();
});

describe('AdminSocket', () => {
  it('says hello with the access token and shows the snapshot', () => {
    const { socket } = makeSocket();
    socket.start();
    expect(socket.getState().connection).toBe('connecting');
    const ws = accept(summary({ seen_ms: now }));
    expect(ws.url).toBe(URL);
    expect(ws.adminSent).toEqual([{ type: 'hello', token: 'admin-token' }]);
    expect(socket.getState().connection).toBe('connected');
    expect(Object.keys(socket.getState().sessions)).toEqual([interviewId(1)]);
    socket.stop();
  });

  it('reconnects with growing backoff after the connection drops, and starts over from a new snapshot', () => {
    const { socket } = makeSocket();
    socket.start();
    accept(summary({ seen_ms: now }));
    FakeWebSocket.last.drop(1006);
    // attempt 0: ceiling 500 ms, random 0 → 250 ms
    expect(socket.getState()).toMatchObject({ connection: 'reconnecting', retryAt: now + 250 });
    advance(249);
    expect(FakeWebSocket.all).toHaveLength(1);
    advance(1);
    expect(FakeWebSocket.all).toHaveLength(2);
    // The second try fails before it opens: attempt 1 waits 500 ms.
    FakeWebSocket.last.drop(1006);
    expect(socket.getState().retryAt).toBe(now + 500);
    advance(500);
    expect(FakeWebSocket.all).toHaveLength(3);
    const ws = accept(summary({ interview_id: interviewId(2), seen_ms: now }));
    expect(ws.adminSentOf('hello')).toHaveLength(1);
    expect(socket.getState()).toMatchObject({ connection: 'connected', attempt: 0 });
    expect(Object.keys(socket.getState().sessions)).toEqual([interviewId(2)]);
    socket.stop();
  });

  it('waits at least 5 s after being rate limited', () => {
    const { socket } = makeSocket();
    socket.start();
    accept();
    FakeWebSocket.last.drop(CloseCode.rate_limited);
    expect(socket.getState().retryAt).toBe(now + 5_000);
    socket.stop();
  });

  it('pings every 15 s, and reconnects when nothing has arrived for 30 s', () => {
    const { socket } = makeSocket();
    socket.start();
    const ws = accept();
    advance(15_000);
    expect(ws.adminSentOf('ping')).toHaveLength(1);
    advance(15_000);
    expect(ws.adminSentOf('ping')).toHaveLength(2);
    advance(1_000);
    // No pong came back: the socket is dead without knowing it.
    expect(ws.closedWith).toBe(4000);
    expect(socket.getState().connection).toBe('reconnecting');
    advance(250);
    expect(FakeWebSocket.all).toHaveLength(2);
    socket.stop();
  });

  it('stays connected while pongs come back', () => {
    const { socket } = makeSocket();
    socket.start();
    const ws = accept();
    for (let i = 0; i < 4; i += 1) {
      advance(15_000);
      ws.receiveAdmin({ type: 'pong', seq: 0, epoch: '', t: now });
    }
    expect(FakeWebSocket.all).toHaveLength(1);
    expect(ws.closedWith).toBeNull();
    socket.stop();
  });

  it('stops for good when the server says this account is not an administrator (4404)', () => {
    const { socket } = makeSocket();
    socket.start();
    FakeWebSocket.last.open();
    FakeWebSocket.last.drop(CloseCode.interview_not_found);
    expect(socket.getState()).toMatchObject({ connection: 'closed', closeReason: 'forbidden' });
    advance(60_000);
    expect(FakeWebSocket.all).toHaveLength(1);
    socket.stop();
  });

  it('refreshes the token once on 4401 and says hello with the new one', async () => {
    let token = 'old-token';
    const refreshToken = vi.fn(async () => {
      token = 'new-token';
      return true;
    });
    const { socket } = makeSocket({ getToken: () => token, refreshToken });
    socket.start();
    FakeWebSocket.last.open();
    FakeWebSocket.last.drop(CloseCode.not_authenticated);
    await vi.waitFor(() => expect(FakeWebSocket.all).toHaveLength(2));
    expect(refreshToken).toHaveBeenCalledTimes(1);
    FakeWebSocket.last.open();
    expect(FakeWebSocket.last.adminSent[0]).toEqual({ type: 'hello', token: 'new-token' });
    // Refused again: sign in.
    FakeWebSocket.last.drop(CloseCode.not_authenticated);
    expect(socket.getState().closeReason).toBe('auth');
    socket.stop();
  });

  it('drops summaries nobody refreshed, a tick at a time', () => {
    const { socket } = makeSocket();
    socket.start();
    accept(summary({ seen_ms: now }), summary({ interview_id: interviewId(2), seen_ms: now }));
    advance(5_000);
    FakeWebSocket.last.receiveAdmin(update([summary({ interview_id: interviewId(2), seen_ms: now })], [], now));
    advance(6_000);
    expect(Object.keys(socket.getState().sessions)).toEqual([interviewId(2)]);
    socket.stop();
  });

  it('sends a steering command only while connected, and shows its answer', () => {
    const { socket } = makeSocket();
    socket.start();
    const note = { type: 'steer.note', interview_id: interviewId(1), text: 'Ask about tests' } as const;
    expect(socket.steer(note)).toBeNull();
    const ws = accept();
    const id = socket.steer(note);
    expect(id).toBe(1);
    expect(ws.adminSentOf('steer.note')).toEqual([note]);
    expect(socket.getState().steering[0]).toMatchObject({ id: 1, status: 'pending' });
    ws.receiveAdmin(steerAck({ message: 'Noted.' }));
    expect(socket.getState().steering[0]).toMatchObject({ status: 'acked', message: 'Noted.' });
    socket.stop();
  });

  it('says when a command got no answer in time', () => {
    const { socket } = makeSocket();
    socket.start();
    accept();
    socket.steer({ type: 'steer.end', interview_id: interviewId(1) });
    advance(STEER_TIMEOUT_MS);
    expect(socket.getState().steering[0].status).toBe('unanswered');
    socket.stop();
  });

  it('closes the socket when stopped', () => {
    const { socket } = makeSocket();
    socket.start();
    const ws = accept();
    socket.stop();
    expect(ws.closedWith).toBe(1000);
    expect(socket.getState()).toMatchObject({ connection: 'closed', closeReason: 'stopped' });
    advance(60_000);
    expect(FakeWebSocket.all).toHaveLength(1);
  });
});

describe('useAdminSocket', () => {
  it('binds one socket to the component and closes it on unmount', () => {
    const { result, unmount } = renderHook(() =>
      useAdminSocket({
        url: URL,
        getToken: () => 'admin-token',
        refreshToken: async () => true,
        createSocket: (url) => new FakeWebSocket(url),
        watchNetwork: false,
        now: () => now,
      }),
    );
    expect(result.current.state.connection).toBe('connecting');
    act(() => {
      accept(summary({ seen_ms: now }));
    });
    expect(result.current.state.connection).toBe('connected');
    expect(Object.keys(result.current.state.sessions)).toHaveLength(1);
    let id: number | null = null;
    act(() => {
      id = result.current.steer({ type: 'steer.end', interview_id: interviewId(1) });
    });
    expect(id).toBe(1);
    const ws = FakeWebSocket.last;
    unmount();
    expect(ws.closedWith).toBe(1000);
    expect(FakeWebSocket.all).toHaveLength(1);
  });
});
