import { QueryClientProvider } from '@tanstack/react-query';
import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { MemoryRouter } from 'react-router';
import { describe, expect, it } from 'vitest';
import { makeQueryClient } from '../App';
import type { Interview, InterviewDetail } from '../api/client';
import { paymentKeys } from '../api/payments';
import { keys } from '../api/queries';
import { detail } from '../test/frames';
import { Dashboard, practiseHref, trendSentence } from './Dashboard';
import { followsInBrowser } from '../test/links';

function item(id: string, finishedAt: string, delivery: Interview['delivery']): Interview {
  const { turns: _t, report: _r, job_description: _j, resume_text: _res, tokens_in: _i, tokens_out: _o, cost_usd: _c, share_token: _s, ...base } =
    detail({ id, status: 'finished', overall_score: 3.5, finished_at: finishedAt });
  return { ...base, delivery };
}

function renderDashboard(items: Interview[]) {
  const client = makeQueryClient();
  client.setQueryData(keys.page(20, 0), { items, total: items.length, limit: 20, offset: 0 });
  for (const i of items) client.setQueryData(keys.detail(i.id), detail({ id: i.id, status: 'finished', finished_at: i.finished_at }));
  return render(
    <QueryClientProvider client={client}>
      <MemoryRouter>
        <Dashboard />
      </MemoryRouter>
    </QueryClientProvider>,
  );
}

const spoken = (wpm: number, fpm: number): Interview['delivery'] => ({
  answers: 3,
  words_per_minute: wpm,
  filler_words: 6,
  fillers_per_minute: fpm,
  long_pauses: 1,
  speaking_ms: 90_000,
});

describe('Dashboard: how you speak', () => {
  it('charts words and fillers per minute over the interviews answered by voice, oldest first', () => {
    renderDashboard([
      item('b', '2026-02-10T10:00:00Z', spoken(151, 2.5)),
      item('t', '2026-02-01T10:00:00Z', null),
      item('a', '2026-01-10T10:00:00Z', spoken(118, 6)),
    ]);
    const section = screen.getByTestId('dashboard-delivery');
    expect(within(section).getByRole('heading', { name: 'How you speak' })).toBeInTheDocument();
    expect(section).toHaveTextContent('2 voice interviews');
    const rows = within(section).getAllByRole('row').slice(1);
    expect(rows.map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent))).toEqual([
      ['118', '6'],
      ['151', '2.5'],
    ]);
  });

  it('has no such chart when no interview was answered by voice', () => {
    renderDashboard([item('t', '2026-02-01T10:00:00Z', null)]);
    expect(screen.getByRole('heading', { name: 'Progress' })).toBeInTheDocument();
    expect(screen.queryByTestId('dashboard-delivery')).toBeNull();
  });
});

type Scores = Record<string, number>;

/** A finished interview on `track` whose one answer scored `scores`. */
function scored(id: string, track: Interview['track'], finishedAt: string, overall: number, scores: Scores, level: Interview['level'] = 'mid'): InterviewDetail {
  const base = detail({ id, track, level, status: 'finished', overall_score: overall, finished_at: finishedAt });
  return {
    ...base,
    turns: [
      {
        ...base.turns[0],
        scores: Object.entries(scores).map(([criterion, value]) => ({
          criterion,
          value,
          evidence: 'Our p99 went from 800ms to 120ms',
          suggestion: `Work on ${criterion}.`,
          rubric_version: 'r1',
        })),
      },
    ],
  };
}

function listItem(d: InterviewDetail): Interview {
  const { turns: _t, report: _r, job_description: _j, resume_text: _res, tokens_in: _i, tokens_out: _o, cost_usd: _c, share_token: _s, ...base } = d;
  return base;
}

const ME = (credits: number) => ({ id: 'u1', email: 'me@example.com', role: 'candidate' as const, created_at: '2026-01-01T00:00:00Z', credits });
const PAYMENTS = (enabled: boolean) => ({
  enabled,
  packs: [{ id: 'five', credits: 5, price_paise: 19_900, currency: 'INR', label: '5 interviews' }],
  key_id: enabled ? 'rzp_test_abc' : null,
  checkout_url: enabled ? 'https://checkout.example/v1/checkout.js' : null,
  business_name: 'Mock Interview',
});

/** The dashboard over `details` (newest first), with a balance and buying on or off. */
function renderWith(details: InterviewDetail[], { credits = 3, buying = false } = {}) {
  const client = makeQueryClient();
  const items = details.map(listItem);
  client.setQueryData(keys.page(20, 0), { items, total: items.length, limit: 20, offset: 0 });
  for (const d of details) client.setQueryData(keys.detail(d.id), d);
  client.setQueryData(keys.me, ME(credits));
  client.setQueryData(paymentKeys.config, PAYMENTS(buying));
  return render(
    <QueryClientProvider client={client}>
      <MemoryRouter>
        <Dashboard />
      </MemoryRouter>
    </QueryClientProvider>,
  );
}

// Two backend interviews on one day (specificity rising), then a frontend one.
const PRACTICE = [
  scored('f1', 'frontend', '2026-03-02T09:00:00Z', 4, { structure: 4, specificity: 4 }, 'senior'),
  scored('b2', 'backend', '2026-03-01T16:00:00Z', 3.2, { structure: 4, specificity: 2.5 }, 'senior'),
  scored('b1', 'backend', '2026-03-01T10:00:00Z', 2.6, { structure: 3, specificity: 1.5 }, 'senior'),
];

/** The rows of the progress chart's table: [interview, overall, ...criteria]. */
function progressRows(): string[][] {
  const table = within(screen.getByTestId('dashboard-progress')).getByRole('table');
  return within(table)
    .getAllByRole('row')
    .slice(1)
    .map((row) => [...row.querySelectorAll('th, td')].map((cell) => cell.textContent ?? ''));
}

describe('Dashboard: progress per track', () => {
  it('charts one track at a time, the one practised last first', async () => {
    renderWith(PRACTICE);
    const picker = screen.getByRole('group', { name: 'Track' });
    expect(within(picker).getByRole('radio', { name: /Frontend/ })).toBeChecked();
    expect(progressRows()).toHaveLength(1);
    expect(screen.getByTestId('dashboard-progress')).toHaveTextContent('Frontend: overall score per interview');

    await userEvent.click(within(picker).getByRole('radio', { name: /Backend/ }));
    const rows = progressRows();
    expect(rows.map((r) => r.slice(1))).toEqual([
      ['2.6', '3.0', '1.5'],
      ['3.2', '4.0', '2.5'],
    ]);
    // Two interviews on the same day: numbered, and each with its time.
    expect(rows[0][0]).toMatch(/^#1, /);
    expect(rows[1][0]).toMatch(/^#2, /);
    expect(rows[0][0].slice(4)).not.toBe(rows[1][0].slice(4));
  });

  it('has no track picker when only one track was practised', () => {
    renderWith(PRACTICE.slice(1));
    expect(screen.queryByRole('group', { name: 'Track' })).toBeNull();
    expect(progressRows()).toHaveLength(2);
  });

  it("names the track's weakest criterion, how it moved, and links to practise it", async () => {
    renderWith(PRACTICE);
    await userEvent.click(screen.getByRole('radio', { name: /Backend/ }));
    const weakest = screen.getByTestId('weakest-criterion');
    expect(within(weakest).getByText('Specificity')).toBeInTheDocument();
    expect(screen.getByTestId('weakest-trend')).toHaveTextContent('1.5 → 2.5 over 2 interviews, improving');
    expect(weakest).toHaveTextContent('Work on specificity.');
    expect(screen.getByTestId('practise-weakest')).toHaveAttribute('href', '/new?track=backend&level=senior&focus=specificity');
    expect(screen.getByRole('heading', { name: 'What to practise · Backend' })).toBeInTheDocument();
  });

  it('calls the lowest criterion that when none is below 3.5', () => {
    renderWith(PRACTICE.slice(0, 1));
    expect(screen.getByTestId('weakest-criterion')).toHaveTextContent('Your lowest criterion (none is below 3.5)');
    expect(screen.getByTestId('weakest-trend')).toHaveTextContent('4.0 in your one interview so far');
  });
});

describe('trendSentence and practiseHref', () => {
  it('say how a criterion moved and where to practise it', () => {
    const trend = { criterion: 'clarity', values: [3, 3.1], average: 3.05, first: 3, last: 3.1, direction: 'flat' as const };
    expect(trendSentence(trend)).toBe('3.0 → 3.1 over 2 interviews, steady');
    expect(trendSentence({ ...trend, values: [4, 2], first: 4, last: 2, direction: 'down' })).toBe('4.0 → 2.0 over 2 interviews, slipping');
    expect(practiseHref('data_ml', 'junior', 'clarity')).toBe('/new?track=data_ml&level=junior&focus=clarity');
  });
});

describe('Dashboard: out of credits', () => {
  it('offers to start an interview while there are credits', () => {
    renderWith(PRACTICE, { credits: 1 });
    expect(screen.getByRole('link', { name: 'Start an interview' })).toHaveAttribute('href', '/new');
    expect(screen.queryByTestId('no-credits')).toBeNull();
  });

  it('at zero, says so and links to buy credits (a whole page load) when buying is on', () => {
    renderWith(PRACTICE, { credits: 0, buying: true });
    expect(screen.queryByRole('link', { name: 'Start an interview' })).toBeNull();
    expect(screen.getByText('You have no interview credits left')).toBeInTheDocument();
    // In the header and in the notice; plain links (the server allows Razorpay's script only on
    // documents loaded at /credits), not the router's.
    const links = screen.getAllByRole('link', { name: 'Buy credits' });
    expect(links).toHaveLength(2);
    expect(links).toContain(screen.getByTestId('dashboard-buy-credits'));
    for (const link of links) {
      expect(link).toHaveAttribute('href', '/credits');
      expect(followsInBrowser(link)).toBe(true);
    }
    // No practice offered that could not start.
    expect(screen.queryByTestId('practise-weakest')).toBeNull();
  });

  it('at zero with buying off, says to ask the administrator', () => {
    renderWith([], { credits: 0, buying: false });
    expect(screen.getByTestId('no-credits')).toHaveTextContent('ask the administrator of this installation for more credits');
    expect(screen.queryByRole('link', { name: /Buy credits/ })).toBeNull();
    expect(screen.queryByRole('link', { name: 'Start an interview' })).toBeNull();
  });

  it('below zero, says the balance is negative', () => {
    renderWith(PRACTICE, { credits: -2, buying: true });
    expect(screen.getByText('Your credit balance is below zero')).toBeInTheDocument();
    expect(screen.getByTestId('no-credits')).toHaveTextContent('your balance is -2');
    expect(screen.queryByRole('link', { name: 'Start an interview' })).toBeNull();
  });
});
