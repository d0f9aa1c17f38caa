import { QueryClientProvider } from '@tanstack/react-query';
import { render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { MemoryRouter } from 'react-router';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

// Node's Request (used by openapi-fetch) needs an absolute URL; set before the client loads.
vi.hoisted(() => {
  vi.stubEnv('VITE_API_BASE_URL', 'http://api.test');
});

import { makeQueryClient } from '../App';
import type { Payment } from '../api/payments';
import { AuthProvider } from '../auth/AuthContext';
import { tokens } from '../auth/tokens';
import { followsInBrowser } from '../test/links';
import { stubApi, type Answer } from '../test/api';
import { Account } from './Account';

const USER = { id: 'u1', email: 'me@example.com', role: 'candidate', created_at: '2026-01-01T00:00:00Z', credits: 8 };
const CONFIG = {
  enabled: true,
  packs: [
    { id: 'single', credits: 1, price_paise: 4_900, currency: 'INR', label: '1 interview' },
    { id: 'five', credits: 5, price_paise: 19_900, currency: 'INR', label: '5 interviews' },
  ],
  key_id: 'rzp_test_abc',
  checkout_url: 'https://checkout.example/v1/checkout.js',
  business_name: 'Mock Interview',
};

function payment(id: string, over: Partial<Payment> = {}): Payment {
  return {
    id,
    pack: 'five',
    credits: 5,
    amount_paise: 19_900,
    currency: 'INR',
    status: 'captured',
    method: 'upi',
    method_detail: 'su•••••@razorpay',
    failure_reason: null,
    refunded_paise: 0,
    credits_removed: 0,
    created_at: '2026-02-01T10:00:00Z',
    captured_at: '2026-02-01T10:01:00Z',
    refunded_at: null,
    history: [
      { status: 'created', source: 'order', detail: 'order_Q1w2E3r4T5y6U7', at: '2026-02-01T10:00:00Z' },
      { status: 'captured', source: 'checkout', detail: '5 credits granted', at: '2026-02-01T10:01:00Z' },
    ],
    ...over,
  };
}

function renderAccount(answers: Record<string, Answer>) {
  const sent = stubApi({
    'GET /api/me': () => Response.json(USER),
    'GET /api/payments/config': () => Response.json(CONFIG),
    ...answers,
  });
  render(
    <QueryClientProvider client={makeQueryClient()}>
      <MemoryRouter initialEntries={['/account']}>
        <AuthProvider>
          <Account />
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

describe('purchases on the account page', () => {
  it('lists each purchase with its amount, status, method and what went wrong or came back', async () => {
    const list = [
      payment('p-paid'),
      payment('p-failed', {
        status: 'failed',
        pack: 'single',
        credits: 1,
        amount_paise: 4_900,
        failure_reason: 'Payment failed; payment_failed',
        captured_at: null,
        method_detail: 'fa•••••@razorpay',
      }),
      payment('p-refunded', {
        status: 'refunded',
        refunded_paise: 19_900,
        credits_removed: 5,
        refunded_at: '2026-02-03T09:00:00Z',
      }),
    ];
    const sent = renderAccount({
      'GET /api/payments': () => Response.json({ items: list, total: 3, limit: 10, offset: 0 }),
    });
    const receipts = await screen.findAllByTestId('receipt');
    expect(receipts).toHaveLength(3);
    expect(sent.find((r) => r.path === '/api/payments')?.query).toMatchObject({ limit: '10', offset: '0' });

    const [paid, failed, refunded] = receipts;
    expect(paid).toHaveTextContent('5 interviews');
    expect(within(paid).getByTestId('payment-amount')).toHaveTextContent('₹199.00');
    expect(within(paid).getByTestId('payment-status')).toHaveTextContent('Paid');
    expect(within(paid).getByTestId('payment-method')).toHaveTextContent('UPI · su•••••@razorpay');
    expect(within(paid).queryByTestId('receipt-check')).toBeNull();

    expect(within(failed).getByTestId('payment-status')).toHaveTextContent('Failed');
    expect(within(failed).getByTestId('payment-failure')).toHaveTextContent('Payment failed; payment_failed');
    expect(within(failed).getByTestId('receipt-check')).toHaveTextContent('Check status');

    expect(within(refunded).getByTestId('payment-status')).toHaveTextContent('Refunded');
    expect(within(refunded).getByTestId('payment-refund')).toHaveTextContent('₹199.00 refunded');
    expect(within(refunded).getByTestId('payment-refund')).toHaveTextContent('5 credits removed');

    // The history is one click away.
    const user = userEvent.setup();
    await user.click(within(paid).getByText('History'));
    const history = within(paid).getByTestId('payment-history');
    expect(history).toBeVisible();
    expect(history).toHaveTextContent('5 credits granted');
    expect(history).toHaveTextContent('from Checkout');
  });

  it('checks the status of an unfinished purchase with Razorpay and shows the outcome', async () => {
    const user = userEvent.setup();
    let status: Payment['status'] = 'created';
    const sent = renderAccount({
      'GET /api/payments': () =>
        Response.json({
          items: [payment('p-open', { status, method: null, method_detail: null, captured_at: null })],
          total: 1,
          limit: 10,
          offset: 0,
        }),
      'POST /api/payments/p-open/refresh': () => {
        status = 'captured';
        return Response.json({ payment: payment('p-open'), balance: 13 });
      },
    });
    const receipt = await screen.findByTestId('receipt');
    expect(within(receipt).getByTestId('payment-status')).toHaveTextContent('Awaiting payment');
    await user.click(within(receipt).getByTestId('receipt-check'));
    expect(await screen.findByTestId('receipt-check-result')).toHaveTextContent('Paid: 5 credits added. Your balance is 13.');
    expect(sent.filter((r) => r.method === 'POST').map((r) => r.path)).toEqual(['/api/payments/p-open/refresh']);
    // The list is read again and now shows it paid.
    await waitFor(() => expect(within(screen.getByTestId('receipt')).getByTestId('payment-status')).toHaveTextContent('Paid'));
  });

  it('says when there are no purchases, with a full page load to the credits page', async () => {
    renderAccount({ 'GET /api/payments': () => Response.json({ items: [], total: 0, limit: 10, offset: 0 }) });
    expect(await screen.findByText('No purchases yet')).toBeInTheDocument();
    const link = await screen.findByRole('link', { name: 'Buy credits' });
    expect(link).toHaveAttribute('href', '/credits');
    expect(followsInBrowser(link)).toBe(true);
  });
});
