import { QueryClientProvider } from '@tanstack/react-query';
import { act, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { MemoryRouter, Route, Routes, useLocation } from 'react-router';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

// Node's Request (used by openapi-fetch) needs an absolute URL; set before the client loads.
vi.hoisted(() => {
  vi.stubEnv('VITE_API_BASE_URL', 'http://api.test');
});

import { makeQueryClient } from '../../App';
import { tokens } from '../../auth/tokens';
import { adminError, interviewId, steerAck, snapshot, summary, update } from '../../test/adminFrames';
import { stubApi } from '../../test/api';
import { criteria, detail, logged, ready } from '../../test/frames';
import { FakeWebSocket } from '../../test/socket';
import { AdminSection } from './AdminSection';

const ID = interviewId(7);
const OWNER = '11111111-2222-4333-8444-555555555555';

function Where() {
  const location = useLocation();
  return <p data-testid="where">{`${location.pathname}${location.search}`}</p>;
}

function renderAdmin(path: string) {
  return render(
    <QueryClientProvider client={makeQueryClient()}>
      <MemoryRouter initialEntries={[path]}>
        <Routes>
          <Route path="/admin/*" element={<AdminSection />} />
        </Routes>
        <Where />
      </MemoryRouter>
    </QueryClientProvider>,
  );
}

async function adminSocket() {
  await waitFor(() => expect(FakeWebSocket.lastAdmin).toBeDefined());
  return FakeWebSocket.lastAdmin!;
}

beforeEach(() => {
  FakeWebSocket.all = [];
  vi.stubGlobal('WebSocket', FakeWebSocket);
  window.scrollTo = vi.fn() as unknown as typeof window.scrollTo;
  tokens.set({ access_token: 'ADMIN', refresh_token: 'R', expires_in: 3600 });
  stubApi({
    [`GET /api/admin/users/${OWNER}/interviews/${ID}`]: () =>
      Response.json(detail({ id: ID, status: 'live', turns: [], answer_time_limit_s: 180 })),
  });
});

afterEach(() => {
  tokens.clear();
  vi.unstubAllGlobals();
});

describe('the live monitor', () => {
  const rows = () => {
    const now = Date.now();
    return [
      summary({ interview_id: interviewId(1), owner_id: OWNER, candidate: 'ada@example.com', phase: 'asking', connected: true, cost_usd: 0.02, seen_ms: now, started_ms: now - 3_000 }),
      summary({ interview_id: interviewId(2), candidate: 'grace@example.com', phase: 'listening', track: 'frontend', connected: false, cost_usd: 0.5, seen_ms: now, started_ms: now - 2_000 }),
      summary({ interview_id: interviewId(3), candidate: 'linus@example.com', phase: 'listening', connected: true, cost_usd: 0.1, seen_ms: now, started_ms: now - 1_000 }),
    ];
  };
  const shown = () => screen.getAllByTestId('monitor-row').map((r) => r.getAttribute('data-interview-id')!.slice(-1));

  it('lists the live interviews of the snapshot, with counts, and applies updates by interview id', async () => {
    renderAdmin('/admin');
    const ws = await adminSocket();
    act(() => {
      ws.open();
      ws.receiveAdmin(snapshot(rows(), Date.now()));
    });
    expect(ws.adminSent[0]).toEqual({ type: 'hello', token: 'ADMIN' });
    expect(screen.getByTestId('monitor-table')).toBeInTheDocument();
    expect(screen.getByTestId('monitor-count-live')).toHaveTextContent('3');
    expect(screen.getByTestId('monitor-count-connected')).toHaveTextContent('2');
    expect(screen.getByTestId('monitor-count-listening')).toHaveTextContent('2');

    const ada = screen.getAllByTestId('monitor-row').find((r) => r.getAttribute('data-interview-id') === interviewId(1))!;
    expect(ada).toHaveTextContent('ada@example.com');
    expect(ada).toHaveTextContent('Backend');
    expect(ada).toHaveTextContent('2 of 5');
    expect(ada).toHaveTextContent('3f2a9c1d');
    expect(ada).toHaveTextContent('1,200 / 340');
    expect(ada).toHaveTextContent('420 ms');
    expect(within(ada).getByTestId('monitor-watch')).toHaveAttribute('href', `/admin/interviews/${interviewId(1)}/watch?user=${OWNER}`);

    act(() => {
      const now = Date.now();
      ws.receiveAdmin(update([summary({ interview_id: interviewId(1), phase: 'scoring', seen_ms: now })], [interviewId(2)], now));
    });
    expect(screen.getByTestId('monitor-count-live')).toHaveTextContent('2');
    expect(screen.getByTestId('monitor-count-scoring')).toHaveTextContent('1');
    expect(screen.queryAllByTestId('monitor-row').map((r) => r.getAttribute('data-interview-id'))).not.toContain(interviewId(2));
  });

  it('marks a row whose process stopped refreshing it as stale, and drops one gone for over 10 s', async () => {
    renderAdmin('/admin');
    const ws = await adminSocket();
    act(() => {
      ws.open();
      ws.receiveAdmin(snapshot(rows(), Date.now()));
    });
    act(() => {
      const now = Date.now();
      ws.receiveAdmin(
        update(
          [summary({ interview_id: interviewId(1), seen_ms: now - 7_000 }), summary({ interview_id: interviewId(3), seen_ms: now - 11_000 })],
          [],
          now,
        ),
      );
    });
    // The older summaries lose to the ones the table has: only time makes a row stale.
    expect(screen.getByTestId('monitor-count-live')).toHaveTextContent('3');
    act(() => {
      const now = Date.now();
      ws.receiveAdmin(snapshot([summary({ interview_id: interviewId(1), seen_ms: now - 7_000 }), summary({ interview_id: interviewId(3), seen_ms: now - 11_000 })], now));
    });
    const [row] = screen.getAllByTestId('monitor-row');
    expect(row).toHaveAttribute('data-interview-id', interviewId(1));
    expect(row).toHaveAttribute('data-stale', 'true');
    expect(row).toHaveTextContent('stale');
  });

  it('filters by phase, candidate and connection, and sorts by a column', async () => {
    const user = userEvent.setup();
    renderAdmin('/admin');
    const ws = await adminSocket();
    act(() => {
      ws.open();
      ws.receiveAdmin(snapshot(rows(), Date.now()));
    });
    await user.selectOptions(screen.getByTestId('monitor-filter-phase'), 'listening');
    expect(shown().sort()).toEqual(['2', '3']);
    expect(screen.getByTestId('where')).toHaveTextContent('phase=listening');
    await user.selectOptions(screen.getByTestId('monitor-filter-connected'), 'yes');
    expect(shown()).toEqual(['3']);
    await user.click(screen.getByRole('button', { name: 'Clear filters' }));
    await user.type(screen.getByTestId('monitor-search'), 'GRACE');
    expect(shown()).toEqual(['2']);
    await user.clear(screen.getByTestId('monitor-search'));

    await user.click(screen.getByTestId('sort-cost'));
    expect(shown()).toEqual(['2', '3', '1']);
    expect(screen.getByTestId('sort-cost').closest('th')).toHaveAttribute('aria-sort', 'descending');
    await user.click(screen.getByTestId('sort-cost'));
    expect(shown()).toEqual(['1', '3', '2']);
  });

  it('says so when nothing is live', async () => {
    renderAdmin('/admin');
    const ws = await adminSocket();
    act(() => {
      ws.open();
      ws.receiveAdmin(snapshot([], Date.now()));
    });
    expect(screen.getByText('No live interviews right now')).toBeInTheDocument();
    expect(screen.getByTestId('monitor-count-live')).toHaveTextContent('0');
  });
});

describe('watching an interview', () => {
  async function openWatch() {
    renderAdmin(`/admin/interviews/${ID}/watch?user=${OWNER}`);
    const admin = await adminSocket();
    await waitFor(() => expect(FakeWebSocket.lastInterview).toBeDefined());
    const live = FakeWebSocket.lastInterview!;
    act(() => {
      admin.open();
      admin.receiveAdmin(snapshot([summary({ interview_id: ID, owner_id: OWNER, candidate: 'ada@example.com', seen_ms: Date.now() })], Date.now()));
      live.open();
      live.receive(ready({ interview_id: ID, phase: 'waiting', turn: null, kind: null }));
    });
    return { admin, live };
  }

  const asking = logged([
    { type: 'turn.start', phase: 'asking', turn: 0, kind: 'question', question_number: 1, question_count: 2, targets: [] },
    { type: 'turn.delta', phase: 'asking', turn: 0, text: 'How would you ' },
  ]);
  const rest = () =>
    logged(
      [
        { type: 'turn.delta', phase: 'asking', turn: 0, text: 'speed up a slow query?' },
        { type: 'turn.end', phase: 'listening', turn: 0, text: 'How would you speed up a slow query?', interrupted: false, answer_deadline_ms: Date.now() + 180_000 },
      ],
      3,
    );

  it('opens the interview socket with the admin’s token and streams the transcript, read-only', async () => {
    const { live } = await openWatch();
    expect(live.url).toMatch(new RegExp(`/ws/interviews/${ID}$`));
    expect(live.sentOf('hello')[0]).toMatchObject({ token: 'ADMIN', last_seq: 0 });
    expect(screen.getByRole('heading', { level: 1 })).toHaveTextContent('Watching ada@example.com');

    act(() => live.receive(...asking));
    expect(screen.getByTestId('watch-transcript')).toHaveTextContent('How would you');
    act(() => live.receive(...rest()));
    expect(screen.getByTestId('watch-question')).toHaveTextContent('How would you speed up a slow query?');

    act(() =>
      live.receive(
        ...logged(
          [
            { type: 'answer.accepted', phase: 'scoring', turn: 0, text: 'Add an index on user_id.', source: 'typed' },
            { type: 'score', phase: 'asking', turn: 0, criteria, average: 3.5, rubric_version: 'r1', delivery: null },
          ],
          5,
        ),
      ),
    );
    expect(screen.getByTestId('watch-answer')).toHaveTextContent('Add an index on user_id.');
    expect(screen.getByTestId('watch-score')).toHaveTextContent('3.5');

    // Nothing to answer with: watching is read-only.
    expect(screen.queryByTestId('answer-input')).toBeNull();
    expect(screen.queryByTestId('send-answer')).toBeNull();
    expect(live.sentOf('answer')).toEqual([]);
  });

  it('sends a hidden note on the admin socket and shows the ack', async () => {
    const user = userEvent.setup();
    const { admin } = await openWatch();
    expect(screen.getByText(/The candidate never sees this/)).toBeInTheDocument();
    expect(screen.getByTestId('steer-note-send')).toBeDisabled();

    await user.type(screen.getByTestId('steer-note-input'), '  Ask how they would test it  ');
    await user.click(screen.getByTestId('steer-note-send'));
    expect(admin.adminSentOf('steer.note')).toEqual([{ type: 'steer.note', interview_id: ID, text: 'Ask how they would test it' }]);
    expect(screen.getByTestId('steer-status')).toHaveAttribute('data-state', 'pending');

    act(() => admin.receiveAdmin(steerAck({ interview_id: ID, action: 'steer.note', message: 'The next turn follows the note.' })));
    expect(screen.getByTestId('steer-status')).toHaveTextContent('Note: The next turn follows the note.');
    expect(screen.getByTestId('steer-status')).toHaveAttribute('data-state', 'acked');
    expect(screen.getByTestId('steer-note-input')).toHaveValue('');
  });

  it('keeps a refused note in the box and shows why', async () => {
    const user = userEvent.setup();
    const { admin } = await openWatch();
    await user.type(screen.getByTestId('steer-note-input'), 'Go deeper');
    await user.click(screen.getByTestId('steer-note-send'));
    act(() => admin.receiveAdmin(adminError({ code: 'interview_finished', message: 'the interview has ended' })));
    const status = screen.getByTestId('steer-status');
    expect(status).toHaveAttribute('data-state', 'refused');
    expect(status).toHaveTextContent('Note refused: the interview has ended (interview_finished)');
    expect(status).toHaveAttribute('role', 'alert');
    expect(screen.getByTestId('steer-note-input')).toHaveValue('Go deeper');
  });

  it('gives more time to the open answer only while the candidate answers, and shows a refusal', async () => {
    const user = userEvent.setup();
    const { admin, live } = await openWatch();
    act(() => live.receive(...asking));
    expect(screen.getByTestId('steer-extend-60')).toBeDisabled();
    act(() => live.receive(...rest()));
    expect(screen.getByTestId('steer-extend-60')).toBeEnabled();

    await user.click(screen.getByTestId('steer-extend-60'));
    await user.click(screen.getByTestId('steer-extend-120'));
    expect(admin.adminSentOf('steer.extend')).toEqual([
      { type: 'steer.extend', interview_id: ID, turn: 0, seconds: 60 },
      { type: 'steer.extend', interview_id: ID, turn: 0, seconds: 120 },
    ]);
    act(() => admin.receiveAdmin(steerAck({ interview_id: ID, action: 'steer.extend', message: '+60 s' })));
    act(() => admin.receiveAdmin(adminError({ code: 'not_listening', message: 'the answer is already in' })));
    expect(screen.getByTestId('steer-status')).toHaveTextContent('More time refused: the answer is already in (not_listening)');

    // The candidate's clock moves: the watcher sees it too.
    act(() =>
      live.receive(
        ...logged([{ type: 'answer.extended', phase: 'listening', turn: 0, answer_deadline_ms: Date.now() + 240_000, seconds: 60 }], 5),
      ),
    );
    expect(screen.getByTestId('watch-countdown')).toHaveTextContent('(+60 s given)');
    expect(screen.getByTestId('watch-countdown')).toHaveTextContent(/Answer time left 3:5\d|4:00/);
  });

  it('ends the interview only after the confirmation', async () => {
    const user = userEvent.setup();
    const { admin } = await openWatch();
    await user.click(screen.getByTestId('steer-end'));
    expect(screen.getByTestId('steer-end-dialog')).toHaveAttribute('open');
    await user.click(screen.getByRole('button', { name: 'Keep it running' }));
    expect(admin.adminSentOf('steer.end')).toEqual([]);

    await user.click(screen.getByTestId('steer-end'));
    await user.click(screen.getByTestId('steer-end-confirm'));
    expect(admin.adminSentOf('steer.end')).toEqual([{ type: 'steer.end', interview_id: ID }]);
    expect(screen.getByTestId('steer-end-dialog')).not.toHaveAttribute('open');
  });

  it('says nothing was sent while the admin socket is down', async () => {
    const user = userEvent.setup();
    const { admin } = await openWatch();
    await user.type(screen.getByTestId('steer-note-input'), 'Go deeper');
    act(() => admin.drop(1006));
    expect(screen.getByTestId('steer-note-send')).toBeDisabled();
    expect(admin.adminSentOf('steer.note')).toEqual([]);
  });

  it('links to the report when the interview ends', async () => {
    const { live } = await openWatch();
    act(() => live.receive(...logged([{ type: 'ended', phase: 'ended', status: 'finished', reason: 'ended by an administrator' }])));
    expect(screen.getByTestId('watch-ended')).toHaveTextContent('The interview has ended. Ended by an administrator.');
    expect(screen.getByTestId('watch-report-link')).toHaveAttribute('href', `/admin/users/${OWNER}/interviews/${ID}`);
    expect(screen.getByTestId('steer-note-send')).toBeDisabled();
    expect(screen.getByTestId('steer-end')).toBeDisabled();
  });
});
