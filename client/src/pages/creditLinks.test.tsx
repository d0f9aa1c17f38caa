import { QueryClientProvider } from '@tanstack/react-query';
import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { MemoryRouter, Route, Routes } from 'react-router';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

// Node's Request (used by openapi-fetch) needs an absolute URL; set before the client loads.
vi.hoisted(() => {
  vi.stubEnv('VITE_API_BASE_URL', 'http://api.test');
});

import { makeQueryClient } from '../App';
import { AuthProvider } from '../auth/AuthContext';
import { tokens } from '../auth/tokens';
import { Layout } from '../components/Layout';
import { followsInBrowser } from '../test/links';
import { stubApi, type Answer } from '../test/api';
import { NewInterview } from './NewInterview';

const me = (credits: number) => ({ id: 'u1', email: 'me@example.com', role: 'candidate', created_at: '2026-01-01T00:00:00Z', credits });
const config = (enabled: boolean) => ({
  enabled,
  packs: [{ id: 'five', credits: 5, price_paise: 19_900, currency: 'INR', label: '5 interviews' }],
  key_id: enabled ? 'rzp_test_abc' : null,
  checkout_url: enabled ? 'https://checkout.example/v1/checkout.js' : null,
  business_name: 'Mock Interview',
});

function renderApp(path: string, answers: Record<string, Answer>) {
  const sent = stubApi(answers);
  render(
    <QueryClientProvider client={makeQueryClient()}>
      <MemoryRouter initialEntries={[path]}>
        <AuthProvider>
          <Routes>
            <Route element={<Layout />}>
              <Route path="/new" element={<NewInterview />} />
              <Route path="/" element={<p>Dashboard</p>} />
            </Route>
          </Routes>
        </AuthProvider>
      </MemoryRouter>
    </QueryClientProvider>,
  );
  return sent;
}

beforeEach(() => {
  tokens.set({ access_token: 'A', refresh_token: 'R', expires_in: 3600 });
});

afterEach(() => {
  tokens.clear();
  vi.unstubAllGlobals();
});

describe('links to buy credits', () => {
  it('sit beside the balance in the app bar and load the credits page afresh', async () => {
    renderApp('/', { 'GET /api/me': () => Response.json(me(3)), 'GET /api/payments/config': () => Response.json(config(true)) });
    const link = await screen.findByTestId('buy-credits-link');
    expect(link).toHaveAttribute('href', '/credits');
    expect(link).toHaveAccessibleName('Buy credits');
    expect(followsInBrowser(link)).toBe(true);
    // (An ordinary link stays inside the app.)
    expect(followsInBrowser(screen.getByRole('link', { name: 'History' }))).toBe(false);
  });

  it('are not offered where buying is off', async () => {
    renderApp('/', { 'GET /api/me': () => Response.json(me(3)), 'GET /api/payments/config': () => Response.json(config(false)) });
    expect(await screen.findByText('3')).toBeInTheDocument();
    expect(screen.queryByTestId('buy-credits-link')).toBeNull();
  });

  it('replace "ask the administrator" when a candidate is out of credits', async () => {
    renderApp('/new', { 'GET /api/me': () => Response.json(me(0)), 'GET /api/payments/config': () => Response.json(config(true)) });
    const alert = (await screen.findByText('You are out of credits')).closest('.alert') as HTMLElement;
    const link = await within(alert).findByRole('link', { name: 'Buy credits' });
    expect(link).toHaveAttribute('href', '/credits');
    expect(followsInBrowser(link)).toBe(true);
    expect(alert).not.toHaveTextContent('Ask the administrator');
    expect(screen.getByRole('button', { name: 'Start interview' })).toBeDisabled();
  });

  it('keep the old advice when this server sells no credits', async () => {
    renderApp('/new', { 'GET /api/me': () => Response.json(me(0)), 'GET /api/payments/config': () => Response.json(config(false)) });
    const alert = (await screen.findByText('You are out of credits')).closest('.alert') as HTMLElement;
    expect(alert).toHaveTextContent('Ask the administrator of this installation for more credits.');
    expect(within(alert).queryByRole('link', { name: 'Buy credits' })).toBeNull();
  });

  it("show the server's word when a refund left the balance below zero", async () => {
    const user = userEvent.setup();
    let credits = 2;
    const detail = 'Your balance is -3 credits after a refund: settle 3 credits before a new interview.';
    renderApp('/new', {
      'GET /api/me': () => Response.json(me(credits)),
      'GET /api/payments/config': () => Response.json(config(true)),
      'POST /api/interviews': () => {
        credits = -3; // refunded meanwhile, in another tab
        return Response.json({ code: 'balance_negative', detail }, { status: 402 });
      },
    });
    await screen.findByText(/you have/);
    await user.click(screen.getByRole('button', { name: 'Start interview' }));
    const alert = (await screen.findByText('Your credit balance is below zero')).closest('.alert') as HTMLElement;
    expect(alert).toHaveTextContent(detail);
    expect(within(alert).getByRole('link', { name: 'Buy credits' })).toHaveAttribute('href', '/credits');
  });
});
