import { QueryClientProvider } from '@tanstack/react-query';
import { render, screen } from '@testing-library/react';
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
import { stubApi } from '../test/api';
import { AuthPage } from './AuthPage';

function renderSignUp() {
  return render(
    <QueryClientProvider client={makeQueryClient()}>
      <MemoryRouter initialEntries={['/signup']}>
        <AuthProvider>
          <Routes>
            <Route path="/signup" element={<AuthPage mode="signup" />} />
            <Route path="/" element={<p>Dashboard home</p>} />
          </Routes>
        </AuthProvider>
      </MemoryRouter>
    </QueryClientProvider>,
  );
}

/** The error message tied to the email field, through aria-describedby. */
function emailDescription(): string {
  const email = screen.getByLabelText('Email');
  const ids = (email.getAttribute('aria-describedby') ?? '').split(' ').filter(Boolean);
  return ids.map((id) => document.getElementById(id)?.textContent ?? '').join(' ');
}

beforeEach(() => {
  tokens.clear();
});

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('sign-up: an invalid email', () => {
  it('is refused before sending, with a message at the field saying what is wrong', async () => {
    const sent = stubApi({});
    renderSignUp();
    const email = screen.getByLabelText('Email');
    await userEvent.type(email, 'name@example');
    await userEvent.type(screen.getByLabelText('Password', { selector: 'input' }), 'correct-horse-battery');
    await userEvent.click(screen.getByRole('button', { name: 'Create account' }));

    expect(email).toHaveAttribute('aria-invalid', 'true');
    expect(emailDescription()).toBe('The part after the @ needs a full stop, as in example.com.');
    expect(email).toHaveFocus();
    expect(sent).toEqual([]);
  });

  it('is pointed out when the field is left, and the message goes once it is fixed', async () => {
    stubApi({});
    renderSignUp();
    const email = screen.getByLabelText('Email');
    await userEvent.type(email, 'me at example.com');
    expect(email).not.toHaveAttribute('aria-invalid');
    await userEvent.tab();
    expect(email).toHaveAttribute('aria-invalid', 'true');
    expect(emailDescription()).toContain('cannot contain spaces');

    await userEvent.clear(email);
    await userEvent.type(email, 'me@example.com');
    expect(email).not.toHaveAttribute('aria-invalid');
    expect(screen.queryByTestId('email-error')).toBeNull();
  });

  it("shows the server's 422 for the email at the field", async () => {
    stubApi({
      'POST /api/auth/register': () =>
        Response.json(
          {
            code: 'validation_error',
            detail: [
              {
                loc: ['body', 'email'],
                msg: 'value is not a valid email address: The domain name example.com does not accept email.',
                type: 'value_error',
              },
            ],
            message: 'email: value is not a valid email address',
          },
          { status: 422 },
        ),
    });
    renderSignUp();
    const email = screen.getByLabelText('Email');
    await userEvent.type(email, 'me@example.com');
    await userEvent.type(screen.getByLabelText('Password', { selector: 'input' }), 'correct-horse-battery');
    await userEvent.click(screen.getByRole('button', { name: 'Create account' }));

    expect(await screen.findByTestId('email-error')).toHaveTextContent(
      'This is not a valid email address: The domain name example.com does not accept email.',
    );
    expect(email).toHaveAttribute('aria-invalid', 'true');
    expect(emailDescription()).toContain('does not accept email');
    // Said once, at the field: no second copy above the form.
    expect(screen.queryByRole('alert')).toBeNull();

    // Editing the address takes the server's verdict on the old one away.
    await userEvent.type(email, 'x');
    expect(screen.queryByTestId('email-error')).toBeNull();
  });
});
