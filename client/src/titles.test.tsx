import { QueryClientProvider } from '@tanstack/react-query';
import { render, screen, waitFor } from '@testing-library/react';
import { createMemoryRouter, RouterProvider } from 'react-router';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

// Node's Request (used by openapi-fetch) needs an absolute URL; set before the client loads.
vi.hoisted(() => {
  vi.stubEnv('VITE_API_BASE_URL', 'http://api.test');
});

import { makeQueryClient, routeTitle, routes } from './App';
import { tokens } from './auth/tokens';
import { reportTitle } from './pages/Report';
import { stubApi, type Answer } from './test/api';
import { detail } from './test/frames';

const ME = { id: 'u1', email: 'me@example.com', role: 'candidate', created_at: '2026-01-01T00:00:00Z', credits: 3 };
const NO_INTERVIEWS = () => Response.json({ items: [], total: 0, limit: 20, offset: 0 });
const PAYMENTS_OFF = () => Response.json({ enabled: false, packs: [], key_id: null, checkout_url: null, business_name: 'Mock Interview' });

const finished = detail({
  id: 'iv1',
  status: 'finished',
  finished_at: '2026-01-05T10:10:00Z',
  overall_score: 3.4,
  report: {
    overall_score: 3.4,
    overall_rule: 'The mean of the answers’ scores.',
    questions: [],
    strengths: [],
    weaknesses: [],
    next_steps: [],
    rubric_version: 'r1',
    provider: 'offline',
    created_at: '2026-01-05T10:10:00Z',
  },
});

function renderAt(path: string, answers: Record<string, Answer>) {
  stubApi({ 'GET /api/me': () => Response.json(ME), 'GET /api/payments/config': PAYMENTS_OFF, ...answers });
  const router = createMemoryRouter(routes, { initialEntries: [path] });
  render(
    <QueryClientProvider client={makeQueryClient()}>
      <RouterProvider router={router} />
    </QueryClientProvider>,
  );
  return router;
}

const titled = (title: string) => waitFor(() => expect(document.title).toBe(`${title} · Mock Interview`));

afterEach(() => {
  tokens.clear();
  vi.unstubAllGlobals();
});

describe('routeTitle', () => {
  it.each([
    ['/', 'Dashboard'],
    ['/login', 'Sign in'],
    ['/signup', 'Create account'],
    ['/new', 'New interview'],
    ['/history', 'History'],
    ['/account', 'Account'],
    ['/credits', 'Buy credits'],
    ['/interviews/iv1', 'Interview'],
    ['/interviews/iv1/report', 'Report'],
    ['/shared/abc', 'Shared report'],
    ['/no/such/page', 'Not found'],
  ])('names %s "%s"', (path, title) => {
    expect(routeTitle(path)).toBe(title);
  });
});

describe('reportTitle', () => {
  it('says the track, the level and the score', () => {
    expect(reportTitle(finished)).toBe('Backend mid-level · 3.4/5');
    expect(reportTitle(detail({ track: 'data_ml', level: 'senior', status: 'live' }))).toBe('Data / ML senior · in progress');
    expect(reportTitle(detail({ status: 'finished', report: null }))).toBe('Backend mid-level · no score');
  });
});

describe('page titles', () => {
  describe('for a visitor', () => {
    it('names the landing page at /', async () => {
      renderAt('/', {});
      expect(await screen.findByRole('heading', { level: 1, name: 'Practise the interview before the interview' })).toBeInTheDocument();
      await titled('Practise job interviews with scored feedback');
    });

    it('titles a shared report by what it is about and its score', async () => {
      renderAt('/shared/tok', { 'GET /api/shared/tok': () => Response.json(finished) });
      await titled('Shared report: Backend mid-level · 3.4/5');
      // With the way to try the app, above the report and after it.
      const ctas = screen.getAllByRole('link', { name: 'Practise your own interview — start free' });
      expect(ctas).toHaveLength(2);
      for (const cta of ctas) expect(cta).toHaveAttribute('href', '/signup');
      expect(screen.getByRole('navigation', { name: 'Account' })).toHaveTextContent('Sign inStart free');
    });

    it('says "Loading shared report…" while it loads, and "Report not shared" for a dead link', async () => {
      let respond: (r: Response) => void = () => undefined;
      const pending = new Promise<Response>((r) => (respond = r));
      renderAt('/shared/gone', {
        // (The stub awaits what an answer returns: this one answers when the test says.)
        'GET /api/shared/gone': () => pending as unknown as Response,
      });
      await titled('Loading shared report…');
      respond(Response.json({ code: 'not_found', detail: 'Not found.' }, { status: 404 }));
      await titled('Report not shared');
      expect(screen.getByRole('link', { name: 'Practise your own interview — start free' })).toHaveAttribute('href', '/signup');
    });
  });

  describe('for a signed-in user', () => {
    beforeEach(() => {
      tokens.set({ access_token: 'A', refresh_token: 'R', expires_in: 3600 });
    });

    it('names the dashboard at /', async () => {
      renderAt('/', { 'GET /api/interviews': NO_INTERVIEWS });
      expect(await screen.findByRole('heading', { level: 1, name: 'Dashboard' })).toBeInTheDocument();
      await titled('Dashboard');
    });

    it('titles a report by what it is about and its score, and a missing one as such', async () => {
      const router = renderAt('/interviews/iv1/report', {
        'GET /api/interviews/iv1': () => Response.json(finished),
        'GET /api/interviews/gone': () => Response.json({ code: 'not_found', detail: 'Not found.' }, { status: 404 }),
      });
      await titled('Report: Backend mid-level · 3.4/5');
      await router.navigate('/interviews/gone/report');
      await titled('Report not found');
      // A page without a title of its own gets its route's again.
      await router.navigate('/history');
      await titled('History');
    });
  });
});
