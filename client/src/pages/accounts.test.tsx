import { QueryClientProvider } from '@tanstack/react-query';
import { render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import type { ReactNode } from 'react';
import { MemoryRouter, Route, Routes } from 'react-router';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

// Node's Request (used by openapi-fetch) needs an absolute URL; set before the client loads.
vi.hoisted(() => {
  vi.stubEnv('VITE_API_BASE_URL', 'http://api.test');
});

import { makeQueryClient } from '../App';
import { AuthProvider } from '../auth/AuthContext';
import { tokens } from '../auth/tokens';
import { Account } from './Account';
import { AuthPage } from './AuthPage';
import { ForgotPassword } from './ForgotPassword';
import { ResetPassword } from './ResetPassword';

const USER = { id: 'u1', email: 'me@example.com', role: 'candidate', created_at: '2026-01-01T00:00:00Z', credits: 3 };
/** The purchases section of the account page: none. */
const NO_PURCHASES = () => Response.json({ items: [], total: 0, limit: 10, offset: 0 });
const PAIR = { user: USER, access_token: 'A2', refresh_token: 'R2', token_type: 'bearer', expires_in: 3600 };

interface Sent {
  path: string;
  body: unknown;
  auth: string | null;
}

/** Answers API calls by path; records what was sent. */
function stubApi(answers: Record<string, () => Response>) {
  const sent: Sent[] = [];
  vi.stubGlobal(
    'fetch',
    vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
      const request = input instanceof Request ? input : new Request(String(input), init);
      const path = new URL(request.url).pathname;
      const text = await request.clone().text();
      sent.push({ path, body: text ? JSON.parse(text) : null, auth: request.headers.get('Authorization') });
      const answer = answers[path];
      return answer ? answer() : Response.json(USER);
    }),
  );
  return sent;
}

function renderAt(path: string, element: ReactNode, routePath = path.split('?')[0]) {
  return render(
    <QueryClientProvider client={makeQueryClient()}>
      <MemoryRouter initialEntries={[path]}>
        <AuthProvider>
          <Routes>
            <Route path={routePath} element={element} />
            <Route path="/" element={<p>Dashboard home</p>} />
            <Route path="/forgot-password" element={<p>Forgot page</p>} />
          </Routes>
        </AuthProvider>
      </MemoryRouter>
    </QueryClientProvider>,
  );
}

beforeEach(() => {
  tokens.clear();
});

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('sign-in page', () => {
  it('links to the password reset request', () => {
    renderAt('/login', <AuthPage mode="login" />);
    expect(screen.getByRole('link', { name: 'Forgot password?' })).toHaveAttribute('href', '/forgot-password');
  });
});

describe('ForgotPassword', () => {
  it('sends the email and shows the server answer', async () => {
    const detail = 'If an account uses this email, a link to reset its password is on its way.';
    const sent = stubApi({ '/api/auth/forgot-password': () => Response.json({ detail }, { status: 202 }) });
    renderAt('/forgot-password', <ForgotPassword />);

    await userEvent.type(screen.getByLabelText('Email'), ' me@example.com ');
    await userEvent.click(screen.getByRole('button', { name: 'Send reset link' }));

    expect(await screen.findByText('Check your email')).toBeInTheDocument();
    expect(screen.getByText(detail)).toBeInTheDocument();
    expect(sent).toEqual([{ path: '/api/auth/forgot-password', body: { email: 'me@example.com' }, auth: null }]);
  });

  it('says when to try again after too many requests', async () => {
    stubApi({
      '/api/auth/forgot-password': () =>
        Response.json({ code: 'rate_limited', detail: 'Too many' }, { status: 429, headers: { 'Retry-After': '120' } }),
    });
    renderAt('/forgot-password', <ForgotPassword />);
    await userEvent.type(screen.getByLabelText('Email'), 'me@example.com');
    await userEvent.click(screen.getByRole('button', { name: 'Send reset link' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('Try again in 2 minutes.');
  });
});

describe('ResetPassword', () => {
  it('sets the new password with the token from the link and signs in', async () => {
    const sent = stubApi({ '/api/auth/reset-password': () => Response.json(PAIR) });
    renderAt('/reset-password?token=tok-123', <ResetPassword />);

    await userEvent.type(screen.getByLabelText('New password'), 'a-brand-new-passphrase');
    await userEvent.type(screen.getByLabelText('Repeat the new password'), 'a-brand-new-passphrase');
    await userEvent.click(screen.getByRole('button', { name: 'Set new password' }));

    expect(await screen.findByText('Dashboard home')).toBeInTheDocument();
    expect(sent[0]).toEqual({
      path: '/api/auth/reset-password',
      body: { token: 'tok-123', new_password: 'a-brand-new-passphrase' },
      auth: null,
    });
    expect(tokens.get()).toMatchObject({ accessToken: 'A2', refreshToken: 'R2' });
  });

  it('offers a new link when this one is expired or used', async () => {
    stubApi({
      '/api/auth/reset-password': () =>
        Response.json(
          { code: 'invalid_reset_token', detail: 'This reset link is invalid, expired or already used. Ask for a new one.' },
          { status: 400 },
        ),
    });
    renderAt('/reset-password?token=old', <ResetPassword />);
    await userEvent.type(screen.getByLabelText('New password'), 'a-brand-new-passphrase');
    await userEvent.type(screen.getByLabelText('Repeat the new password'), 'a-brand-new-passphrase');
    await userEvent.click(screen.getByRole('button', { name: 'Set new password' }));

    expect(await screen.findByRole('alert')).toHaveTextContent('expired or already used');
    expect(screen.getByRole('link', { name: 'Send a new link' })).toHaveAttribute('href', '/forgot-password');
    expect(tokens.get()).toBeNull();
  });

  it('shows why the server refused a common password', async () => {
    stubApi({
      '/api/auth/reset-password': () =>
        Response.json(
          {
            code: 'validation_error',
            message: 'new_password: too common',
            detail: [
              {
                loc: ['body', 'new_password'],
                msg: 'This password is one of the most common ones and is guessed first; choose another.',
                type: 'common_password',
              },
            ],
          },
          { status: 422 },
        ),
    });
    renderAt('/reset-password?token=tok', <ResetPassword />);
    await userEvent.type(screen.getByLabelText('New password'), 'Password123');
    await userEvent.type(screen.getByLabelText('Repeat the new password'), 'Password123');
    await userEvent.click(screen.getByRole('button', { name: 'Set new password' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('one of the most common ones');
  });

  it('checks that both passwords match before sending anything', async () => {
    const sent = stubApi({});
    renderAt('/reset-password?token=tok', <ResetPassword />);
    await userEvent.type(screen.getByLabelText('New password'), 'a-brand-new-passphrase');
    await userEvent.type(screen.getByLabelText('Repeat the new password'), 'a-different-passphrase');
    await userEvent.click(screen.getByRole('button', { name: 'Set new password' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('not the same');
    expect(sent).toEqual([]);
  });

  it('explains a link without its token', () => {
    stubApi({});
    renderAt('/reset-password', <ResetPassword />);
    expect(screen.getByRole('heading', { name: 'This link is incomplete' })).toBeInTheDocument();
  });
});

describe('Account', () => {
  beforeEach(() => {
    tokens.set({ access_token: 'A1', refresh_token: 'R1', expires_in: 3600 });
  });

  async function fillAndSubmit(current: string, next: string) {
    await userEvent.type(screen.getByLabelText('Current password'), current);
    await userEvent.type(screen.getByLabelText('New password'), next);
    await userEvent.type(screen.getByLabelText('Repeat the new password'), next);
    await userEvent.click(screen.getByRole('button', { name: 'Change password' }));
  }

  it('changes the password and keeps this tab signed in with the new pair', async () => {
    const sent = stubApi({ '/api/auth/change-password': () => Response.json(PAIR), '/api/payments': NO_PURCHASES });
    renderAt('/account', <Account />);
    await fillAndSubmit('my-old-password', 'a-brand-new-passphrase');

    expect(await screen.findByText('Password changed')).toBeInTheDocument();
    const change = sent.find((s) => s.path === '/api/auth/change-password');
    expect(change).toEqual({
      path: '/api/auth/change-password',
      body: { current_password: 'my-old-password', new_password: 'a-brand-new-passphrase' },
      auth: 'Bearer A1',
    });
    expect(tokens.get()).toMatchObject({ accessToken: 'A2', refreshToken: 'R2' });
    await waitFor(() => expect(screen.getByLabelText('Current password')).toHaveValue(''));
  });

  it('says so when the current password is wrong, and keeps the session', async () => {
    stubApi({
      '/api/auth/change-password': () =>
        Response.json({ code: 'wrong_password', detail: 'Your current password is not right.' }, { status: 403 }),
      '/api/payments': NO_PURCHASES,
    });
    renderAt('/account', <Account />);
    await fillAndSubmit('not-my-password', 'a-brand-new-passphrase');

    expect(await screen.findByRole('alert')).toHaveTextContent('Your current password is not right.');
    expect(tokens.get()).toMatchObject({ accessToken: 'A1', refreshToken: 'R1' });
  });
});
