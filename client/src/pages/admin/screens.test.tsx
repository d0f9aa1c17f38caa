import { QueryClientProvider } from '@tanstack/react-query';
import { render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { MemoryRouter, Route, Routes } from 'react-router';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

// Node's Request (used by openapi-fetch) needs an absolute URL; set before the client loads.
vi.hoisted(() => {
  vi.stubEnv('VITE_API_BASE_URL', 'http://api.test');
});

import type { AdminStats, AdminUser, AdminUserDetail, AuditEntry, Question } from '../../api/admin';
import { makeQueryClient } from '../../App';
import { AuthProvider } from '../../auth/AuthContext';
import { tokens } from '../../auth/tokens';
import { stubApi, type Answer } from '../../test/api';
import { FakeWebSocket } from '../../test/socket';
import { AdminSection } from './AdminSection';
import { lastDays } from './Metrics';

const ME = '99999999-0000-4000-8000-000000000001';
const U1 = '11111111-0000-4000-8000-000000000001';

function adminUser(over: Partial<AdminUser> = {}): AdminUser {
  return {
    id: U1,
    email: 'ada@example.com',
    role: 'candidate',
    credit_balance: 3,
    created_at: '2026-01-02T10:00:00Z',
    disabled_at: null,
    interview_count: 1,
    ...over,
  };
}

function renderAdmin(path: string, answers: Record<string, Answer>) {
  const sent = stubApi({
    'GET /api/me': () => Response.json({ id: ME, email: 'root@example.com', role: 'admin', created_at: '2026-01-01T00:00:00Z', credits: 0 }),
    ...answers,
  });
  render(
    <QueryClientProvider client={makeQueryClient()}>
      <MemoryRouter initialEntries={[path]}>
        <AuthProvider>
          <Routes>
            <Route path="/admin/*" element={<AdminSection />} />
          </Routes>
        </AuthProvider>
      </MemoryRouter>
    </QueryClientProvider>,
  );
  return sent;
}

beforeEach(() => {
  FakeWebSocket.all = [];
  vi.stubGlobal('WebSocket', FakeWebSocket);
  tokens.set({ access_token: 'ADMIN', refresh_token: 'R', expires_in: 3600 });
});

afterEach(() => {
  tokens.clear();
  vi.unstubAllGlobals();
});

describe('users', () => {
  it('lists accounts, searches by email and pages through them', async () => {
    const user = userEvent.setup();
    const sent = renderAdmin('/admin/users', {
      'GET /api/admin/users': ({ query }) =>
        Response.json({
          items: query.email ? [adminUser({ email: 'grace@example.com' })] : [adminUser(), adminUser({ id: 'u2', email: 'root@example.com', role: 'admin' })],
          total: query.email ? 1 : 60,
          limit: Number(query.limit),
          offset: Number(query.offset),
        }),
    });
    const rows = await screen.findAllByTestId('users-row');
    expect(rows).toHaveLength(2);
    expect(rows[0]).toHaveTextContent('ada@example.com');
    expect(within(rows[0]).getByTestId('users-link')).toHaveAttribute('href', `/admin/users/${U1}`);
    expect(screen.getByTestId('pager-status')).toHaveTextContent('1–25 of 60');

    await user.click(screen.getByTestId('pager-next'));
    await waitFor(() => expect(sent.at(-1)?.query).toMatchObject({ offset: '25', limit: '25' }));

    await user.type(screen.getByTestId('users-search'), 'grace{Enter}');
    await waitFor(() => expect(screen.getAllByTestId('users-row')).toHaveLength(1));
    expect(sent.at(-1)?.query).toMatchObject({ email: 'grace', offset: '0' });
  });

  describe('one account', () => {
    function detail(over: Partial<AdminUserDetail> = {}): AdminUserDetail {
      return {
        ...adminUser(),
        interviews: [
          {
            id: 'iv-1',
            track: 'backend',
            level: 'mid',
            topics: [],
            question_count: 5,
            answer_time_limit_s: 180,
            status: 'finished',
            provider: 'offline',
            model: 'offline-v1',
            overall_score: 3.4,
            created_at: '2026-01-03T10:00:00Z',
            started_at: '2026-01-03T10:00:01Z',
            finished_at: '2026-01-03T10:20:00Z',
            delivery: null,
          },
        ],
        ...over,
      } as AdminUserDetail;
    }

    it('grants credits with a reason and shows the new balance', async () => {
      const user = userEvent.setup();
      const sent = renderAdmin(`/admin/users/${U1}`, {
        [`GET /api/admin/users/${U1}`]: () => Response.json(detail()),
        [`POST /api/admin/users/${U1}/credits`]: ({ body }) =>
          Response.json(adminUser({ credit_balance: 3 + (body as { delta: number }).delta })),
      });
      expect(await screen.findByTestId('user-email')).toHaveTextContent('ada@example.com');
      expect(screen.getByTestId('user-interview-link')).toHaveAttribute('href', `/admin/users/${U1}/interviews/iv-1`);

      expect(screen.getByTestId('user-credits-submit')).toBeDisabled();
      await user.type(screen.getByTestId('user-credits-delta'), '5');
      await user.type(screen.getByTestId('user-credits-reason'), 'Goodwill after an outage');
      await user.click(screen.getByTestId('user-credits-submit'));
      expect(await screen.findByTestId('user-credits-result')).toHaveTextContent('Granted 5 credits. Balance now 8.');
      expect(sent.find((r) => r.method === 'POST')?.body).toEqual({ delta: 5, reason: 'Goodwill after an outage' });
      expect(screen.getByTestId('user-credits')).toHaveTextContent('8');
    });

    it('shows why the server refused a removal', async () => {
      const user = userEvent.setup();
      renderAdmin(`/admin/users/${U1}`, {
        [`GET /api/admin/users/${U1}`]: () => Response.json(detail()),
        [`POST /api/admin/users/${U1}/credits`]: () =>
          Response.json({ code: 'conflict', detail: 'The balance cannot go below zero.' }, { status: 409 }),
      });
      await user.type(await screen.findByTestId('user-credits-delta'), '-9');
      await user.type(screen.getByTestId('user-credits-reason'), 'Refund');
      expect(screen.getByTestId('user-credits-submit')).toHaveTextContent('Remove credits');
      await user.click(screen.getByTestId('user-credits-submit'));
      const result = await screen.findByTestId('user-credits-result');
      expect(result).toHaveTextContent('The balance cannot go below zero.');
      expect(result).toHaveAttribute('data-state', 'error');
    });

    it('changes the role', async () => {
      const user = userEvent.setup();
      const sent = renderAdmin(`/admin/users/${U1}`, {
        [`GET /api/admin/users/${U1}`]: () => Response.json(detail()),
        [`PATCH /api/admin/users/${U1}/role`]: () => Response.json(adminUser({ role: 'admin' })),
      });
      await user.selectOptions(await screen.findByTestId('user-role-select'), 'admin');
      await user.click(screen.getByTestId('user-role-save'));
      expect(await screen.findByTestId('user-role-result')).toHaveTextContent('Role is now administrator.');
      expect(sent.find((r) => r.method === 'PATCH')?.body).toEqual({ role: 'admin' });
    });

    it('disables the account only after the confirmation', async () => {
      const user = userEvent.setup();
      const sent = renderAdmin(`/admin/users/${U1}`, {
        [`GET /api/admin/users/${U1}`]: () => Response.json(detail()),
        [`POST /api/admin/users/${U1}/disable`]: () => Response.json(adminUser({ disabled_at: '2026-02-01T00:00:00Z' })),
      });
      await user.click(await screen.findByTestId('user-disable'));
      expect(screen.getByTestId('user-confirm-dialog')).toHaveAttribute('open');
      expect(sent.some((r) => r.method === 'POST')).toBe(false);
      await user.click(screen.getByTestId('user-confirm'));
      expect(await screen.findByTestId('user-access-result')).toHaveTextContent('The account is disabled');
      expect(screen.getByTestId('user-access')).toHaveTextContent('Disabled');
      expect(screen.getByTestId('user-enable')).toBeInTheDocument();
    });

    it('does not offer to disable your own account', async () => {
      renderAdmin(`/admin/users/${ME}`, {
        [`GET /api/admin/users/${ME}`]: () => Response.json(detail({ id: ME, email: 'root@example.com', role: 'admin' })),
      });
      await waitFor(() => expect(screen.getByTestId('user-disable')).toBeDisabled());
      expect(screen.getByText('You cannot disable your own account.')).toBeInTheDocument();
    });
  });
});

describe('the question bank', () => {
  function question(over: Partial<Question> = {}): Question {
    return {
      id: 'backend-mid-01',
      track: 'backend',
      level: 'mid',
      topics: ['caching'],
      text: 'How would you cache a slow endpoint?',
      model_answer: [],
      misconceptions: [],
      points: [
        { point: 'Cache keys', keywords: ['key'] },
        { point: 'Invalidation', keywords: ['ttl', 'invalidate'] },
        { point: 'Stampedes', keywords: ['stampede'] },
      ],
      follow_up: 'What if the data changes often?',
      version: 2,
      retired_at: null,
      created_at: '2026-01-01T00:00:00Z',
      updated_at: '2026-01-02T00:00:00Z',
      updated_by: null,
      ...over,
    };
  }

  const list: Answer = ({ query }) =>
    Response.json({
      items: query.include_retired === 'true' ? [question(), question({ id: 'backend-mid-02', retired_at: '2026-01-05T00:00:00Z' })] : [question()],
      total: query.include_retired === 'true' ? 2 : 1,
      limit: 25,
      offset: 0,
    });

  it('lists questions with filters, and retires one', async () => {
    const user = userEvent.setup();
    const sent = renderAdmin('/admin/questions', {
      'GET /api/admin/questions': list,
      'POST /api/admin/questions/backend-mid-01/retire': () => Response.json(question({ retired_at: '2026-02-01T00:00:00Z', version: 3 })),
    });
    expect(await screen.findAllByTestId('question-row')).toHaveLength(1);
    await user.click(screen.getByTestId('questions-filter-retired'));
    await waitFor(() => expect(screen.getAllByTestId('question-row')).toHaveLength(2));
    expect(screen.getByTestId('question-retired')).toHaveTextContent('Retired');
    await user.selectOptions(screen.getByTestId('questions-filter-track'), 'backend');
    await waitFor(() => expect(sent.at(-1)?.query).toMatchObject({ track: 'backend', include_retired: 'true' }));

    await user.click(within(screen.getAllByTestId('question-row')[0]).getByTestId('question-retire'));
    expect(await screen.findByTestId('questions-notice')).toHaveTextContent('backend-mid-01 retired');
  });

  it('creates a question from the form, with its points and keywords', async () => {
    const user = userEvent.setup();
    const sent = renderAdmin('/admin/questions', {
      'GET /api/admin/questions': list,
      'POST /api/admin/questions': ({ body }) => Response.json({ ...question(), ...(body as object), id: 'backend-007', version: 1 }, { status: 201 }),
    });
    await user.click(await screen.findByTestId('questions-new'));
    await user.type(screen.getByTestId('question-form-text'), 'Design a rate limiter.');
    await user.type(screen.getByTestId('question-form-topics'), 'rate limiting, redis');
    for (let i = 0; i < 3; i += 1) {
      await user.type(screen.getByTestId(`question-form-point-${i}`), `Point ${i + 1}`);
      await user.type(screen.getByTestId(`question-form-keywords-${i}`), `k${i}, q${i}`);
    }
    await user.type(screen.getByTestId('question-form-followup'), 'And across regions?');
    await user.click(screen.getByTestId('question-form-save'));
    expect(await screen.findByTestId('questions-notice')).toHaveTextContent('backend-007 saved (version 1).');
    expect(sent.find((r) => r.method === 'POST')?.body).toEqual({
      track: 'backend',
      level: 'mid',
      topics: ['rate limiting', 'redis'],
      text: 'Design a rate limiter.',
      follow_up: 'And across regions?',
      points: [
        { point: 'Point 1', keywords: ['k0', 'q0'] },
        { point: 'Point 2', keywords: ['k1', 'q1'] },
        { point: 'Point 3', keywords: ['k2', 'q2'] },
      ],
    });
    expect(screen.queryByTestId('question-form')).toBeNull();
  });

  it('edits a question from the version it was read at', async () => {
    const user = userEvent.setup();
    const sent = renderAdmin('/admin/questions', {
      'GET /api/admin/questions': list,
      'PUT /api/admin/questions/backend-mid-01': () =>
        Response.json({ code: 'conflict', detail: 'The question changed since version 2: reload it.' }, { status: 409 }),
    });
    await user.click(await screen.findByTestId('question-edit'));
    expect(screen.getByTestId('question-form-text')).toHaveValue('How would you cache a slow endpoint?');
    await user.click(screen.getByTestId('question-form-save'));
    expect(await screen.findByTestId('question-form-error')).toHaveTextContent('The question changed since version 2');
    const put = sent.find((r) => r.method === 'PUT')!.body as Record<string, unknown>;
    expect(put.version).toBe(2);
    expect(put).not.toHaveProperty('id');
  });

  it('imports a file and says what it created, updated and left unchanged', async () => {
    const user = userEvent.setup();
    const sent = renderAdmin('/admin/questions', {
      'GET /api/admin/questions': list,
      'POST /api/admin/questions/import': () =>
        Response.json({ created: 1, updated: 2, unchanged: 3, created_ids: ['backend-009'], updated_ids: ['backend-001', 'backend-002'] }),
    });
    const file = new File([JSON.stringify({ track: 'backend', version: 1, question: [] })], 'backend.json', { type: 'application/json' });
    await user.upload(await screen.findByTestId('questions-import-file'), file);
    expect(await screen.findByTestId('questions-import-result')).toHaveTextContent('1 created, 2 updated, 3 unchanged.');
    expect(sent.find((r) => r.path.endsWith('/import'))?.body).toEqual({ track: 'backend', version: 1, question: [] });
  });

  it('lists every problem of a refused import, where it is in the file', async () => {
    const user = userEvent.setup();
    renderAdmin('/admin/questions', {
      'GET /api/admin/questions': list,
      'POST /api/admin/questions/import': () =>
        Response.json(
          {
            code: 'validation_error',
            message: 'question.2.points: points must be a list of 3-5 entries, got 2',
            detail: [
              { loc: ['body', 'question', 2, 'points'], msg: 'points must be a list of 3-5 entries, got 2', type: 'question_invalid' },
              { loc: ['body', 'question', 0, 'id'], msg: 'String should match pattern', type: 'string_pattern_mismatch' },
            ],
          },
          { status: 422 },
        ),
    });
    const file = new File(['{"track":"backend","question":[]}'], 'bad.json', { type: 'application/json' });
    await user.upload(await screen.findByTestId('questions-import-file'), file);
    const errors = await screen.findByTestId('questions-import-errors');
    expect(errors).toHaveTextContent('question 3 › points: points must be a list of 3-5 entries, got 2');
    expect(errors).toHaveTextContent('question 1 › id: String should match pattern');
  });

  it('refuses a file that is not JSON without sending it', async () => {
    const user = userEvent.setup();
    const sent = renderAdmin('/admin/questions', { 'GET /api/admin/questions': list });
    await user.upload(await screen.findByTestId('questions-import-file'), new File(['[[question]]'], 'bank.json', { type: 'application/json' }));
    expect(await screen.findByTestId('questions-import-errors')).toHaveTextContent('bank.json is not JSON');
    expect(sent.some((r) => r.path.endsWith('/import'))).toBe(false);
  });
});

describe('the audit log', () => {
  const entry = (over: Partial<AuditEntry> = {}): AuditEntry => ({
    id: 1,
    created_at: '2026-02-01T10:00:00Z',
    admin_id: ME,
    admin_email: 'root@example.com',
    action: 'interview.note',
    target_type: 'interview',
    target_id: '00000000-0000-4000-8000-000000000007',
    detail: { text: 'Ask how they would test it' },
    ...over,
  });

  it('lists what administrators did, newest first, and filters by action', async () => {
    const user = userEvent.setup();
    const sent = renderAdmin('/admin/audit', {
      'GET /api/admin/audit': () =>
        Response.json({
          items: [entry(), entry({ id: 2, action: 'credits.grant', target_type: 'user', target_id: U1, detail: { delta: 5, reason: 'Goodwill', balance: 8, external_ref: 'admin:x', admin_id: ME } })],
          total: 2,
          limit: 50,
          offset: 0,
        }),
    });
    const rows = await screen.findAllByTestId('audit-row');
    expect(rows[0]).toHaveTextContent('root@example.com');
    expect(rows[0]).toHaveTextContent('Note to the interviewer');
    expect(within(rows[0]).getByTestId('audit-detail')).toHaveTextContent('text: Ask how they would test it');
    expect(within(rows[1]).getByTestId('audit-detail')).toHaveTextContent('delta: 5');
    expect(within(rows[1]).getByTestId('audit-detail')).not.toHaveTextContent('external');
    expect(within(rows[1]).getByRole('link')).toHaveAttribute('href', `/admin/users/${U1}`);

    await user.selectOptions(screen.getByTestId('audit-filter-action'), 'interview.note');
    await waitFor(() => expect(sent.at(-1)?.query).toMatchObject({ action: 'interview.note' }));
  });
});

describe('metrics', () => {
  function stats(): AdminStats {
    const day = (d: string, n: number) => ({
      day: d,
      created: n + 1,
      started: n,
      finished: n - 1,
      abandoned: 1,
      signups: 2,
      active_users: 3,
      tokens_in: 1000 * n,
      tokens_out: 200 * n,
      cost_usd: 0.01 * n,
    });
    return {
      start: '2026-01-01',
      end: '2026-01-02',
      days: [day('2026-01-01', 4), day('2026-01-02', 6)],
      totals: {
        created: 12,
        started: 10,
        finished: 8,
        abandoned: 2,
        completion_rate: 0.8,
        offline_fallbacks: 1,
        signups: 4,
        active_users: 5,
        tokens_in: 10_000,
        tokens_out: 2_000,
        cost_usd: 0.1,
      },
      scores_by_track: [{ track: 'backend', reports: 8, average_score: 3.6 }],
      latency: [{ model: 'gemini-2.5-flash', kind: 'turn', calls: 40, latency_ms: { p50: 900, p95: 2100 }, ttft_ms: { p50: 300, p95: 700 } }],
      models: [
        {
          provider: 'gemini',
          model: 'gemini-2.5-flash',
          calls: 50,
          errors: 3,
          cancelled: 1,
          error_rate: 0.06,
          errors_by_code: { rate_limited: 2, timeout: 1 },
          tokens_in: 10_000,
          tokens_out: 2_000,
          cost_usd: 0.1,
        },
      ],
      top_users: [{ user_id: U1, email: 'ada@example.com', interviews: 4, cost_usd: 0.06 }],
    };
  }

  it('asks for the last 30 days by default and shows totals, charts and tables', async () => {
    const sent = renderAdmin('/admin/metrics', { 'GET /api/admin/stats': () => Response.json(stats()) });
    expect(await screen.findByTestId('metrics-total-completion')).toHaveTextContent('80%');
    const range = lastDays(30);
    expect(sent.find((r) => r.path === '/api/admin/stats')?.query).toEqual(range);
    expect(screen.getByTestId('metrics-from')).toHaveValue(range.from);
    expect(screen.getByTestId('metrics-total-fallbacks')).toHaveTextContent('1');
    expect(screen.getByTestId('metrics-total-cost')).toHaveTextContent('$0.10');
    for (const chart of ['interviews', 'completion', 'scores', 'latency', 'ttft', 'errors', 'users', 'usage']) {
      expect(screen.getByTestId(`chart-${chart}`)).toBeInTheDocument();
    }
    expect(screen.getByTestId('metrics-models')).toHaveTextContent('rate_limited 2, timeout 1');
    expect(screen.getByTestId('metrics-top-users')).toHaveTextContent('ada@example.com');
  });

  it('asks again for the range chosen', async () => {
    const user = userEvent.setup();
    const sent = renderAdmin('/admin/metrics', { 'GET /api/admin/stats': () => Response.json(stats()) });
    await screen.findByTestId('metrics-totals');
    await user.click(screen.getByTestId('metrics-preset-7'));
    await waitFor(() => expect(sent.at(-1)?.query).toEqual(lastDays(7)));
  });
});
