import { QueryClientProvider } from '@tanstack/react-query';
import { render, screen, within } from '@testing-library/react';
import { MemoryRouter } from 'react-router';
import { describe, expect, it } from 'vitest';
import { makeQueryClient } from '../App';
import type { Interview } from '../api/client';
import { keys } from '../api/queries';
import { detail } from '../test/frames';
import { Dashboard } from './Dashboard';

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
