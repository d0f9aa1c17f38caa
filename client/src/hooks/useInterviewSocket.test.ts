import { act, renderHook } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ClientFrame, ServerFrame } from '../api/protocol';
import {
  audioAck,
  checked,
  checkedClientFrame,
  detail,
  EPOCH,
  firstTurnEvents,
  frameError,
  logged,
  ready,
  resync,
  transcriptFinal,
} from '../test/frames';
import {
  InterviewSocket,
  storageKey,
  useInterviewSocket,
  type InterviewSocketOptions,
  type RecordingListener,
  type SocketLike,
} from './useInterviewSocket';
import { secondsUntil } from './useCountdown';

class FakeSocket implements SocketLike {
  static all: FakeSocket[] = [];
  readyState = 0;
  sent: ClientFrame[] = [];
  binary: Uint8Array[] = [];
  closedWith: number | null = null;
  onopen: ((event: Event) => void) | null = null;
  onmessage: ((event: MessageEvent) => void) | null = null;
  onclose: ((event: CloseEvent) => void) | null = null;
  onerror: ((event: Event) => void) | null = null;

  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }

  static get last(): FakeSocket {
    return FakeSocket.all[FakeSocket.all.length - 1];
  }

  send(data: string | Uint8Array) {
    if (typeof data !== 'string') {
      this.binary.push(data);
      return;
    }
    // Every frame the client sends must be one the server's schema accepts.
    this.sent.push(checkedClientFrame(JSON.parse(data) as ClientFrame));
  }

  close(code = 1000) {
    this.closedWith = code;
    this.readyState = 3;
  }

  // --- driving it from the test ---
  open() {
    this.readyState = 1;
    this.onopen?.(new Event('open'));
  }

  receive(...frames: ServerFrame[]) {
    for (const frame of frames) this.onmessage?.({ data: JSON.stringify(checked(frame)) } as MessageEvent);
  }

  drop(code: number) {
    this.readyState = 3;
    this.onclose?.({ code } as CloseEvent);
  }

  get hello() {
    return this.sent.find((f) => f.type === 'hello');
  }
}

let now = 1_000_000;

function makeSocket(over: Partial<InterviewSocketOptions> = {}) {
  const options: InterviewSocketOptions = {
    url: 'ws://test/ws/interviews/iv1',
    getToken: () => 'token-1',
    refreshToken: vi.fn(async () => true),
    loadInterview: vi.fn(async () => detail()),
    createSocket: (url) => new FakeSocket(url),
    storage: sessionStorage,
    random: () => 0.5,
    now: () => now,
    watchNetwork: false,
    ...over,
  };
  return { socket: new InterviewSocket('iv1', options), options };
}

function advance(ms: number) {
  now += ms;
  vi.advanceTimersByTime(ms);
}

beforeEach(() => {
  vi.useFakeTimers();
  FakeSocket.all = [];
  now = 1_000_000;
});

afterEach(() => {
  vi.useRealTimers();
});

describe('InterviewSocket', () => {
  it('says hello with the token and last seq, then builds the transcript', () => {
    const { socket } = makeSocket();
    socket.start();
    expect(socket.getState().connection).toBe('connecting');
    FakeSocket.last.open();
    expect(FakeSocket.last.hello).toEqual({ type: 'hello', token: 'token-1', last_seq: 0 });
    FakeSocket.last.receive(ready(), ...firstTurnEvents());
    const s = socket.getState();
    expect(s.connection).toBe('connected');
    expect(s.turns[0].question).toBe('How do you handle retries?');
    expect(s.lastSeq).toBe(7);
    socket.stop();
  });

  it('reconnects after an abnormal close with backoff, resumes from the last seq, and drops duplicates', () => {
    const { socket } = makeSocket({ random: () => 0 });
    socket.start();
    const events = firstTurnEvents();
    FakeSocket.last.open();
    FakeSocket.last.receive(ready(), ...events.slice(0, 3));
    FakeSocket.last.drop(1006);
    const s = socket.getState();
    expect(s.connection).toBe('reconnecting');
    // attempt 0: ceiling 500 ms, random 0 → 250 ms
    expect(s.retryAt).toBe(now + 250);
    expect(FakeSocket.all).toHaveLength(1);
    advance(249);
    expect(FakeSocket.all).toHaveLength(1);
    advance(1);
    expect(FakeSocket.all).toHaveLength(2);
    FakeSocket.last.open();
    expect(FakeSocket.last.hello).toEqual({ type: 'hello', token: 'token-1', last_seq: 3, epoch: EPOCH });
    // The server replays from an earlier point than asked (overlap): nothing is doubled.
    FakeSocket.last.receive(ready({ resumed: true, phase: 'asking' }), ...events.slice(1));
    expect(socket.getState().connection).toBe('resumed');
    expect(socket.getState().turns[0].question).toBe('How do you handle retries?');
    advance(5_000);
    expect(socket.getState().connection).toBe('connected');
    socket.stop();
  });

  it('backs off exponentially while the server stays away, within the jitter bounds', () => {
    const { socket } = makeSocket({ random: () => 1 });
    socket.start();
    const delays: number[] = [];
    for (let i = 0; i < 7; i++) {
      FakeSocket.last.drop(1006);
      const retryAt = socket.getState().retryAt!;
      delays.push(retryAt - now);
      advance(retryAt - now);
    }
    expect(delays).toEqual([500, 1000, 2000, 4000, 8000, 10_000, 10_000]);
    socket.stop();
  });

  it.each([1001, 1011, 1012, 4503])('reconnects after close code %i', (code) => {
    const { socket } = makeSocket();
    socket.start();
    FakeSocket.last.open();
    FakeSocket.last.drop(code);
    expect(socket.getState().connection).toBe('reconnecting');
    advance(1_000);
    expect(FakeSocket.all).toHaveLength(2);
    socket.stop();
  });

  it('pauses at least 5 s after 4429 (rate limited)', () => {
    const { socket } = makeSocket({ random: () => 0 });
    socket.start();
    FakeSocket.last.open();
    FakeSocket.last.drop(4429);
    advance(4_999);
    expect(FakeSocket.all).toHaveLength(1);
    advance(1);
    expect(FakeSocket.all).toHaveLength(2);
    socket.stop();
  });

  it('stops on 4404 and does not reconnect', () => {
    const { socket } = makeSocket();
    socket.start();
    FakeSocket.last.open();
    FakeSocket.last.drop(4404);
    advance(60_000);
    expect(FakeSocket.all).toHaveLength(1);
    expect(socket.getState()).toMatchObject({ connection: 'closed', closeReason: 'not_found' });
  });

  it('on 4401 refreshes the token once and reconnects; a second 4401 goes to sign-in', async () => {
    const refreshToken = vi.fn(async () => true);
    const { socket } = makeSocket({ refreshToken });
    socket.start();
    FakeSocket.last.open();
    FakeSocket.last.drop(4401);
    await vi.waitFor(() => expect(FakeSocket.all).toHaveLength(2));
    expect(refreshToken).toHaveBeenCalledTimes(1);
    FakeSocket.last.open();
    FakeSocket.last.drop(4401);
    await Promise.resolve();
    advance(60_000);
    expect(FakeSocket.all).toHaveLength(2);
    expect(socket.getState()).toMatchObject({ connection: 'closed', closeReason: 'auth' });
  });

  it('on 4401 with a refresh that fails, stops with reason "auth"', async () => {
    const { socket } = makeSocket({ refreshToken: vi.fn(async () => false) });
    socket.start();
    FakeSocket.last.open();
    FakeSocket.last.drop(4401);
    await vi.waitFor(() => expect(socket.getState().closeReason).toBe('auth'));
    expect(FakeSocket.all).toHaveLength(1);
  });

  it('on 4409 without an ended event, loads the final transcript over REST', async () => {
    const loadInterview = vi.fn(async () => detail({ status: 'finished' }));
    const { socket } = makeSocket({ loadInterview });
    socket.start();
    FakeSocket.last.open();
    FakeSocket.last.drop(4409);
    await vi.waitFor(() => expect(socket.getState().phase).toBe('ended'));
    expect(loadInterview).toHaveBeenCalledWith('iv1');
    expect(socket.getState()).toMatchObject({ closeReason: 'finished', connection: 'closed' });
    expect(socket.getState().turns).toHaveLength(1);
  });

  it('hangs up by itself after the ended event', () => {
    const { socket } = makeSocket();
    socket.start();
    FakeSocket.last.open();
    const ws = FakeSocket.last;
    ws.receive(ready(), ...logged([{ type: 'ended', phase: 'ended', status: 'finished', reason: 'completed' }]));
    expect(ws.closedWith).toBe(1000);
    expect(socket.getState()).toMatchObject({ connection: 'closed', closeReason: 'finished' });
    advance(60_000);
    expect(FakeSocket.all).toHaveLength(1);
  });

  it('pings every 15 s and reconnects when nothing arrives for 30 s', () => {
    const { socket } = makeSocket();
    socket.start();
    const ws = FakeSocket.last;
    ws.open();
    ws.receive(ready());
    advance(15_000);
    expect(ws.sent.filter((f) => f.type === 'ping')).toHaveLength(1);
    ws.receive({ type: 'pong', seq: 0, epoch: EPOCH, t: now });
    advance(15_000);
    expect(ws.sent.filter((f) => f.type === 'ping')).toHaveLength(2);
    expect(FakeSocket.all).toHaveLength(1);
    // No pong this time: 30 s after the last frame the socket is declared dead.
    advance(16_000);
    expect(ws.closedWith).not.toBeNull();
    expect(socket.getState().connection).toBe('reconnecting');
    advance(1_000);
    expect(FakeSocket.all).toHaveLength(2);
    socket.stop();
  });

  it('handles resync: reloads over REST, rebuilds, and continues from head_seq', async () => {
    const loadInterview = vi.fn(async () => detail());
    const { socket } = makeSocket({ loadInterview });
    socket.start();
    FakeSocket.last.open();
    FakeSocket.last.receive(ready(), ...firstTurnEvents().slice(0, 2));
    FakeSocket.last.drop(1012);
    advance(1_000);
    const ws = FakeSocket.last;
    ws.open();
    ws.receive(
      ready({ epoch: 'e2', phase: 'scoring', turn: 1, head_seq: 50, resumed: false }),
      resync(50, { epoch: 'e2' }),
    );
    await vi.waitFor(() => expect(socket.getState().resyncing).toBe(false));
    expect(loadInterview).toHaveBeenCalledTimes(1);
    const s = socket.getState();
    expect(s).toMatchObject({ lastSeq: 50, epoch: 'e2' });
    expect(s.turns[0].question).toBe('How do you handle retries?');
    ws.receive(
      ...logged(
        [{ type: 'turn.start', phase: 'asking', turn: 1, kind: 'question', question_number: 2, question_count: 2, targets: [] }],
        51,
        'e2',
      ),
    );
    expect(socket.getState().turns).toHaveLength(2);
    expect(FakeSocket.all).toHaveLength(2);
    socket.stop();
  });

  it('after a resync that lacks the open question, replays the log from the start', async () => {
    const { socket } = makeSocket({ loadInterview: vi.fn(async () => detail()) });
    socket.start();
    FakeSocket.last.open();
    FakeSocket.last.receive(
      ready({ epoch: 'e2', phase: 'listening', turn: 1, head_seq: 12 }),
      resync(12, { epoch: 'e2', reason: 'history_trimmed' }),
    );
    await vi.waitFor(() => expect(FakeSocket.all).toHaveLength(2));
    FakeSocket.last.open();
    expect(FakeSocket.last.hello).toMatchObject({ last_seq: 0, epoch: 'e2' });
    socket.stop();
  });

  it('persists the transcript with its seq so a reload resumes without repeating a word', () => {
    const first = makeSocket().socket;
    first.start();
    FakeSocket.last.open();
    FakeSocket.last.receive(ready(), ...firstTurnEvents().slice(0, 3));
    advance(300); // throttled write
    expect(JSON.parse(sessionStorage.getItem(storageKey('iv1'))!).lastSeq).toBe(3);
    first.stop();

    const second = makeSocket().socket;
    expect(second.getState().turns[0].question).toBe('How do you handle ');
    second.start();
    FakeSocket.last.open();
    expect(FakeSocket.last.hello).toMatchObject({ last_seq: 3, epoch: EPOCH });
    FakeSocket.last.receive(ready({ phase: 'asking' }), ...firstTurnEvents().slice(3));
    expect(second.getState().turns[0].question).toBe('How do you handle retries?');
    second.stop();
  });

  it('sends answers for the open turn, and refuses while disconnected', () => {
    const { socket } = makeSocket();
    socket.start();
    const ws = FakeSocket.last;
    ws.open();
    ws.receive(ready(), ...firstTurnEvents().slice(0, 5));
    expect(socket.answer('  my answer  ')).toBe(true);
    expect(ws.sent.at(-1)).toEqual({ type: 'answer', text: 'my answer', source: 'typed', turn: 0 });
    expect(socket.getState().pending).toEqual({ turn: 0, kind: 'answer' });
    expect(socket.skipQuestion()).toBe(true);
    expect(ws.sent.at(-1)).toEqual({ type: 'skip', turn: 0 });
    expect(socket.interrupt()).toBe(true);
    expect(socket.end()).toBe(true);
    expect(ws.sent.slice(-2)).toEqual([{ type: 'interrupt' }, { type: 'end' }]);
    ws.drop(1006);
    expect(socket.answer('again')).toBe(false);
    expect(socket.getState().lastError?.code).toBe('not_connected');
    expect(socket.answer('x'.repeat(8001))).toBe(false);
    socket.stop();
  });
});

describe('InterviewSocket: the reconnect countdown and pauses', () => {
  it('schedules each attempt at retryAt: a countdown from it reaches 0 exactly when the socket opens', () => {
    const { socket } = makeSocket({ random: () => 0.5 });
    socket.start();
    FakeSocket.last.open();
    FakeSocket.last.receive(ready());
    for (let attempt = 0; attempt < 5; attempt++) {
      const sockets = FakeSocket.all.length;
      FakeSocket.last.drop(1006);
      const { retryAt, connection } = socket.getState();
      expect(connection).toBe('reconnecting');
      // The seconds shown (whole, rounded up) only go down, a second at a time, to the attempt.
      const shown: number[] = [];
      const delay = retryAt! - now;
      while (now < retryAt!) {
        shown.push(secondsUntil(retryAt!, now));
        expect(FakeSocket.all).toHaveLength(sockets);
        advance(Math.min(250, retryAt! - now));
      }
      expect(shown).toEqual([...shown].sort((a, b) => b - a));
      expect(shown[0]).toBe(Math.ceil(delay / 1000));
      expect(shown.at(-1)).toBe(1);
      expect(FakeSocket.all).toHaveLength(sockets + 1);
      // While the attempt is under way no time is promised.
      expect(socket.getState().retryAt).toBeNull();
    }
    socket.stop();
  });

  it('sends pause and resume, showing the request at once', () => {
    const { socket } = makeSocket();
    socket.start();
    const ws = FakeSocket.last;
    ws.open();
    ws.receive(ready(), ...firstTurnEvents().slice(0, 5));
    expect(socket.pause()).toBe(true);
    expect(ws.sent.at(-1)).toEqual({ type: 'pause' });
    expect(socket.getState().pauseSent).toBe('pause');
    expect(socket.resume()).toBe(true);
    expect(ws.sent.at(-1)).toEqual({ type: 'resume' });
    expect(socket.getState().pauseSent).toBe('resume');
    ws.drop(1006);
    expect(socket.pause()).toBe(false);
    expect(socket.getState().pauseSent).toBeNull();
    socket.stop();
  });
});

describe('InterviewSocket: recordings', () => {
  function recorder() {
    const calls: string[] = [];
    const frames: unknown[] = [];
    const listener: RecordingListener = {
      linkUp: () => calls.push('up'),
      linkDown: () => calls.push('down'),
      frame: (f) => {
        calls.push(f.type);
        frames.push(f);
      },
    };
    return { listener, calls, frames };
  }

  it('hands audio.ack, transcript.final and recording errors to the recorder, not to the error bar', () => {
    const { socket } = makeSocket();
    const { listener, calls } = recorder();
    socket.attachRecorder(listener);
    socket.start();
    FakeSocket.last.open();
    FakeSocket.last.receive(ready(), ...firstTurnEvents().slice(0, 5));
    const before = socket.getState();
    FakeSocket.last.receive(
      audioAck('rec_0123456789', 2),
      transcriptFinal('rec_0123456789'),
      frameError({ code: 'transcription_failed', message: 'could not be transcribed', retryable: true }),
    );
    expect(calls).toEqual(['up', 'audio.ack', 'transcript.final', 'error']);
    expect(socket.getState()).toBe(before);
    // Errors about other things still show as before.
    FakeSocket.last.receive(frameError({ code: 'not_listening', message: 'not now', retryable: true }));
    expect(socket.getState().lastError?.code).toBe('not_listening');
    socket.stop();
  });

  it('tells the recorder on every ready (to resume its upload) and when a socket goes', () => {
    const { socket } = makeSocket({ random: () => 0 });
    const { listener, calls } = recorder();
    socket.start();
    FakeSocket.last.open();
    FakeSocket.last.receive(ready());
    socket.attachRecorder(listener); // attached to a ready connection: linked at once
    expect(calls).toEqual(['up']);
    FakeSocket.last.drop(1006);
    expect(calls).toEqual(['up', 'down']);
    advance(250);
    FakeSocket.last.open();
    expect(calls).toEqual(['up', 'down']); // not before the handshake is done
    FakeSocket.last.receive(ready({ resumed: true }));
    expect(calls).toEqual(['up', 'down', 'up']);
    socket.stop();
    expect(calls.at(-1)).toBe('down');
  });

  it('sends audio frames only on a ready connection, chunks as binary frames', () => {
    const { socket } = makeSocket();
    socket.start();
    const ws = FakeSocket.last;
    ws.open();
    const start = { type: 'audio.start', upload_id: 'rec_0123456789', turn: 0, format: 'pcm_s16le', sample_rate: 16000, channels: 1 } as const;
    expect(socket.sendAudioControl(start)).toBe(false); // no ready yet
    ws.receive(ready());
    expect(socket.sendAudioControl(start)).toBe(true);
    expect(socket.sendAudioChunk(Uint8Array.from([0, 0, 0, 0, 1, 2]))).toBe(true);
    expect(ws.sent.at(-1)).toEqual(start);
    expect([...ws.binary[0]]).toEqual([0, 0, 0, 0, 1, 2]);
    ws.drop(1006);
    expect(socket.sendAudioChunk(Uint8Array.from([0, 0, 0, 1, 1, 2]))).toBe(false);
    socket.stop();
  });

  it('sends a spoken answer as voice, naming its recording', () => {
    const { socket } = makeSocket();
    socket.start();
    const ws = FakeSocket.last;
    ws.open();
    ws.receive(ready(), ...firstTurnEvents().slice(0, 5));
    expect(socket.answer(' I would shard it ', { uploadId: 'rec_0123456789' })).toBe(true);
    expect(ws.sent.at(-1)).toEqual({ type: 'answer', text: 'I would shard it', source: 'voice', turn: 0, upload_id: 'rec_0123456789' });
    expect(socket.answer('typed after all', { uploadId: null })).toBe(true);
    expect(ws.sent.at(-1)).toEqual({ type: 'answer', text: 'typed after all', source: 'voice', turn: 0 });
    socket.stop();
  });
});

describe('useInterviewSocket', () => {
  it('exposes state and actions to a component', () => {
    const { result, unmount } = renderHook(() =>
      useInterviewSocket('iv1', {
        url: 'ws://test/ws/interviews/iv1',
        getToken: () => 'token-1',
        refreshToken: async () => true,
        loadInterview: async () => detail(),
        createSocket: (url) => new FakeSocket(url),
        storage: null,
        watchNetwork: false,
      }),
    );
    expect(result.current.connection).toBe('connecting');
    act(() => {
      FakeSocket.last.open();
      FakeSocket.last.receive(ready(), ...firstTurnEvents().slice(0, 5));
    });
    expect(result.current.connection).toBe('connected');
    expect(result.current.phase).toBe('listening');
    expect(result.current.transcript[0].question).toBe('How do you handle retries?');
    expect(result.current.questionNumber).toBe(1);
    expect(result.current.questionCount).toBe(2);
    expect(result.current.offline).toBe(true);
    act(() => {
      result.current.answer('hello');
    });
    expect(FakeSocket.last.sent.at(-1)).toMatchObject({ type: 'answer', text: 'hello', turn: 0 });
    unmount();
    expect(FakeSocket.last.closedWith).toBe(1000);
  });
});

describe('InterviewSocket: resync loops', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    FakeSocket.all = [];
  });

  it('replays from the start only once when the log cannot give the open question back', async () => {
    const { socket } = makeSocket({ loadInterview: vi.fn(async () => detail()) });
    socket.start();
    const resyncAgain = (ws: FakeSocket) =>
      ws.receive(
        ready({ epoch: 'e2', phase: 'listening', turn: 1, head_seq: 12 }),
        resync(12, { epoch: 'e2', reason: 'history_trimmed' }),
      );
    FakeSocket.last.open();
    resyncAgain(FakeSocket.last);
    await vi.waitFor(() => expect(FakeSocket.all).toHaveLength(2));
    FakeSocket.last.open();
    resyncAgain(FakeSocket.last);
    await vi.waitFor(() => expect(socket.getState().resyncing).toBe(false));
    advance(30_000);
    // No third connection: the open turn is kept blank so it can still be answered or skipped.
    expect(FakeSocket.all.length).toBeLessThanOrEqual(2);
    const open = socket.getState().turns.find((t) => t.index === 1);
    expect(open).toMatchObject({ question: '', streaming: false, outcome: null });
    expect(socket.getState().connection).toBe('connected');
    socket.stop();
  });
});
