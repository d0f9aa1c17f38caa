import { describe, expect, it } from 'vitest';
import type { AdminServerFrame } from '../api/adminProtocol';
import { CloseCode } from '../api/protocol';
import { adminError, interviewId, NOW, snapshot, steerAck, summary, update } from '../test/adminFrames';
import {
  adminCloseDecision,
  adminReducer,
  DROP_AFTER_MS,
  initialAdminState,
  isStale,
  latestSteer,
  STALE_AFTER_MS,
  type AdminAction,
  type AdminLiveState,
} from './adminReducer';

const A = interviewId(1);
const B = interviewId(2);
const C = interviewId(3);

function run(actions: AdminAction[], from: AdminLiveState = initialAdminState(NOW)): AdminLiveState {
  return actions.reduce(adminReducer, from);
}

/** A frame received at `at` (this browser's clock), by default when the server sent it. */
function frame(f: AdminServerFrame, at = NOW): AdminAction {
  return { type: 'frame', frame: f, receivedAt: at };
}

describe('adminReducer: the monitor', () => {
  it('fills the table from the snapshot and counts as connected', () => {
    const s = run([{ type: 'connect', reconnect: false }, frame(snapshot([summary(), summary({ interview_id: B })]))]);
    expect(Object.keys(s.sessions).sort()).toEqual([A, B]);
    expect(s.connection).toBe('connected');
    expect(s.synced).toBe(true);
  });

  it('replaces a row by interview id on update and adds new ones', () => {
    const s = run([
      frame(snapshot([summary({ phase: 'asking' })])),
      frame(update([summary({ phase: 'listening', seen_ms: NOW + 500 }), summary({ interview_id: B, seen_ms: NOW + 500 })], [], NOW + 500), NOW + 500),
    ]);
    expect(s.sessions[A].phase).toBe('listening');
    expect(s.sessions[B]).toBeDefined();
    expect(Object.keys(s.sessions)).toHaveLength(2);
  });

  it('removes the interviews an update names as removed', () => {
    const s = run([
      frame(snapshot([summary(), summary({ interview_id: B })])),
      frame(update([], [A], NOW + 500), NOW + 500),
    ]);
    expect(Object.keys(s.sessions)).toEqual([B]);
  });

  it('keeps a row refreshed after the removal was decided (the interview moved to another process)', () => {
    const s = run([
      frame(snapshot([summary({ seen_ms: NOW + 2_000, process: 'new-process' })], NOW + 2_000), NOW),
      // The old process's goodbye, decided before the new process's summary.
      frame(update([], [A], NOW + 1_000), NOW),
    ]);
    expect(s.sessions[A].process).toBe('new-process');
  });

  it('ignores a summary older than the one it has', () => {
    const s = run([
      frame(snapshot([summary({ phase: 'scoring', seen_ms: NOW })])),
      frame(update([summary({ phase: 'asking', seen_ms: NOW - 1_000 })])),
    ]);
    expect(s.sessions[A].phase).toBe('scoring');
  });

  it('a new snapshot replaces the table (what went while disconnected is gone)', () => {
    const s = run([
      frame(snapshot([summary(), summary({ interview_id: B })])),
      { type: 'closed', code: 1006, retryAt: NOW + 500 },
      frame(snapshot([summary({ interview_id: C })])),
    ]);
    expect(Object.keys(s.sessions)).toEqual([C]);
  });

  it('marks a row stale when its process has not refreshed it for 6 s, and drops it after 10 s', () => {
    let s = run([frame(snapshot([summary({ seen_ms: NOW }), summary({ interview_id: B, seen_ms: NOW })]))]);
    s = run([{ type: 'tick', now: NOW + STALE_AFTER_MS }], s);
    expect(isStale(s.sessions[A], s)).toBe(false);
    s = run([frame(update([summary({ interview_id: B, seen_ms: NOW + STALE_AFTER_MS + 1 })], [], NOW + STALE_AFTER_MS + 1), NOW + STALE_AFTER_MS + 1)], s);
    s = run([{ type: 'tick', now: NOW + STALE_AFTER_MS + 1 }], s);
    expect(isStale(s.sessions[A], s)).toBe(true);
    expect(isStale(s.sessions[B], s)).toBe(false);
    s = run([{ type: 'tick', now: NOW + DROP_AFTER_MS }], s);
    expect(s.sessions[A]).toBeDefined();
    s = run([{ type: 'tick', now: NOW + DROP_AFTER_MS + 1 }], s);
    expect(s.sessions[A]).toBeUndefined();
    expect(s.sessions[B]).toBeDefined();
  });

  it('keeps an unchanged row fresh while its process says it is running, and lets a dead process’s rows go together', () => {
    const P = 'process-p';
    const Q = 'process-q';
    // A (on P) has waited quietly for a minute: its summary was published once, long ago.
    let s = run([
      frame(
        snapshot(
          [summary({ process: P, seen_ms: NOW - 60_000 }), summary({ interview_id: B, process: Q, seen_ms: NOW - 60_000 })],
          NOW,
          { [P]: NOW - 1_000, [Q]: NOW - 1_000 },
        ),
      ),
    ]);
    expect(isStale(s.sessions[A], s)).toBe(false);
    expect(isStale(s.sessions[B], s)).toBe(false);
    // P keeps saying it is running (updates with nothing but `alive`); Q has died.
    for (let t = 2_000; t <= 8_000; t += 2_000) {
      s = run([frame(update([], [], NOW + t, { [P]: NOW + t }), NOW + t)], s);
    }
    expect(isStale(s.sessions[A], s)).toBe(false);
    expect(isStale(s.sessions[B], s)).toBe(true);
    // An older sign of life (a frame relayed late) does not set the clock back.
    s = run([frame(update([], [], NOW + 8_000, { [P]: NOW - 30_000 }), NOW + 8_000)], s);
    expect(s.alive[P]).toBe(NOW + 8_000);
    s = run([{ type: 'tick', now: NOW - 1_000 + DROP_AFTER_MS + 1 }], s); // Q last heard at NOW - 1 s
    expect(s.sessions[B]).toBeUndefined();
    expect(s.alive[Q]).toBeUndefined();
    expect(s.sessions[A]).toBeDefined();
    // Once P falls silent too, its rows go stale, then away.
    s = run([{ type: 'tick', now: NOW + 8_000 + STALE_AFTER_MS + 1 }], s);
    expect(isStale(s.sessions[A], s)).toBe(true);
    s = run([{ type: 'tick', now: NOW + 8_000 + DROP_AFTER_MS + 1 }], s);
    expect(s.sessions[A]).toBeUndefined();
  });

  it('judges staleness by the server clock, not this browser’s', () => {
    // This browser runs an hour behind the server.
    const local = NOW - 3_600_000;
    let s = run([frame(snapshot([summary({ seen_ms: NOW })], NOW), local)], initialAdminState(local));
    expect(isStale(s.sessions[A], s)).toBe(false);
    s = run([{ type: 'tick', now: local + 7_000 }], s);
    expect(isStale(s.sessions[A], s)).toBe(true);
  });

  it('keeps the rows through a dropped connection, and lets them go stale', () => {
    let s = run([frame(snapshot([summary()])), { type: 'closed', code: 1006, retryAt: NOW + 500 }]);
    expect(s.connection).toBe('reconnecting');
    expect(s.sessions[A]).toBeDefined();
    s = run([{ type: 'tick', now: NOW + DROP_AFTER_MS + 1 }], s);
    expect(s.sessions).toEqual({});
  });
});

describe('adminReducer: steering', () => {
  const note = { type: 'steer.note', interview_id: A, text: 'Ask about tests' } as const;

  it('records a command as pending, then acknowledged with the server’s message', () => {
    let s = run([frame(snapshot([])), { type: 'sent', frame: note, at: NOW }]);
    expect(latestSteer(s, A)).toMatchObject({ id: 1, status: 'pending', action: 'steer.note' });
    s = run([frame(steerAck({ interview_id: A, action: 'steer.note', message: 'Noted.' }))], s);
    expect(latestSteer(s, A)).toMatchObject({ status: 'acked', message: 'Noted.' });
  });

  it('attributes a refusal to the oldest command still waiting', () => {
    const s = run([
      frame(snapshot([])),
      { type: 'sent', frame: { type: 'steer.extend', interview_id: A, turn: 2, seconds: 60 }, at: NOW },
      { type: 'sent', frame: note, at: NOW },
      frame(adminError({ code: 'not_listening', message: 'no answer is open' })),
    ]);
    expect(s.steering.map((r) => r.status)).toEqual(['refused', 'pending']);
    expect(s.steering[0]).toMatchObject({ code: 'not_listening', message: 'no answer is open' });
  });

  it('keeps an error that answers no command for the page to show', () => {
    const s = run([frame(snapshot([])), frame(adminError({ code: 'malformed_frame', message: 'bad' }))]);
    expect(s.lastError).toEqual({ code: 'malformed_frame', message: 'bad' });
  });

  it('says a command in flight when the connection dropped may or may not have been applied', () => {
    const s = run([frame(snapshot([])), { type: 'sent', frame: note, at: NOW }, { type: 'closed', code: 1006, retryAt: NOW + 500 }]);
    expect(latestSteer(s, A)?.status).toBe('lost');
    expect(latestSteer(s, A)?.message).toMatch(/audit log/);
  });

  it('marks a command unanswered after the timeout, and still takes its late ack', () => {
    let s = run([frame(snapshot([])), { type: 'sent', frame: note, at: NOW }, { type: 'steer-timeout', id: 1 }]);
    expect(latestSteer(s, A)?.status).toBe('unanswered');
    s = run([frame(steerAck())], s);
    expect(latestSteer(s, A)?.status).toBe('acked');
  });

  it('shows each interview its own latest command', () => {
    const s = run([
      frame(snapshot([])),
      { type: 'sent', frame: note, at: NOW },
      { type: 'sent', frame: { type: 'steer.end', interview_id: B }, at: NOW },
    ]);
    expect(latestSteer(s, A)?.action).toBe('steer.note');
    expect(latestSteer(s, B)?.action).toBe('steer.end');
    expect(latestSteer(s, C)).toBeNull();
  });
});

describe('adminReducer: closing', () => {
  it('stops for good when the account is not an administrator (4404)', () => {
    const s = run([{ type: 'closed', code: CloseCode.interview_not_found, retryAt: null }]);
    expect(s).toMatchObject({ connection: 'closed', closeReason: 'forbidden' });
    expect(adminCloseDecision(CloseCode.not_authenticated)).toBe('auth');
    expect(adminCloseDecision(CloseCode.going_away)).toBe('retry');
    expect(adminCloseDecision(CloseCode.slow_consumer)).toBe('retry');
    expect(adminCloseDecision(CloseCode.malformed_frame)).toBe('fatal');
  });

  it('counts reconnect attempts until a snapshot arrives', () => {
    let s = run([
      { type: 'closed', code: 1006, retryAt: NOW + 500 },
      { type: 'connect', reconnect: true },
      { type: 'closed', code: 1006, retryAt: NOW + 1_000 },
    ]);
    expect(s).toMatchObject({ connection: 'reconnecting', attempt: 2, retryAt: NOW + 1_000 });
    s = run([{ type: 'connect', reconnect: true }, frame(snapshot([]))], s);
    expect(s).toMatchObject({ connection: 'connected', attempt: 0, retryAt: null });
  });
});
