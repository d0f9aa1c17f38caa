import { QueryClientProvider } from '@tanstack/react-query';
import { render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { MemoryRouter, Route, Routes } from 'react-router';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

// Node's Request (used by openapi-fetch) needs an absolute URL; set before the client loads.
vi.hoisted(() => {
  vi.stubEnv('VITE_API_BASE_URL', 'http://api.test');
});

import type { AdminPayment, Revenue } from '../../api/admin';
import { makeQueryClient } from '../../App';
import { AuthProvider } from '../../auth/AuthContext';
import { tokens } from '../../auth/tokens';
import { stubApi, type Answer } from '../../test/api';
import { FakeWebSocket } from '../../test/socket';
import { AdminSection } from './AdminSection';
import { lastDays } from './Metrics';

const ME = '99999999-0000-4000-8000-000000000001';
const BUYER = '11111111-0000-4000-8000-000000000001';
const P1 = 'aaaaaaaa-0000-4000-8000-000000000001';
const P2 = 'aaaaaaaa-0000-4000-8000-000000000002';

function adminPayment(over: Partial<AdminPayment> = {}): AdminPayment {
  return {
    id: P1,
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
    history: [{ status: 'captured', source: 'checkout', detail: '5 credits granted', at: '2026-02-01T10:01:00Z' }],
    user_id: BUYER,
    email: 'ada@example.com',
    razorpay_order_id: 'order_Q1w2E3r4T5y6U7',
    razorpay_payment_id: 'pay_A1s2D3f4G5h6J7',
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

describe('payments', () => {
  it('lists purchases, filters them by status and buyer, and pages through them', async () => {
    const user = userEvent.setup();
    const sent = renderAdmin('/admin/payments', {
      'GET /api/admin/payments': ({ query }) =>
        Response.json({
          items: query.status === 'failed'
            ? [adminPayment({ id: P2, status: 'failed', failure_reason: 'Payment failed; payment_failed', razorpay_payment_id: null })]
            : [adminPayment(), adminPayment({ id: P2, status: 'failed', failure_reason: 'Payment failed; payment_failed' })],
          total: query.status ? 1 : 40,
          limit: Number(query.limit),
          offset: Number(query.offset),
        }),
    });
    expect(await screen.findByTestId('admin-nav-payments')).toHaveAttribute('aria-current', 'page');
    const rows = await screen.findAllByTestId('payments-row');
    expect(rows).toHaveLength(2);
    expect(rows[0]).toHaveTextContent('ada@example.com');
    expect(rows[0]).toHaveTextContent('₹199.00');
    expect(rows[0]).toHaveTextContent('UPI · su•••••@razorpay');
    expect(rows[0]).toHaveTextContent('order_Q1w2E3r4T5y6U7');
    expect(within(rows[0]).getByTestId('payment-status')).toHaveTextContent('Paid');
    expect(within(rows[0]).getByTestId('payments-refund')).toBeInTheDocument();
    // Only a captured payment can be refunded.
    expect(within(rows[1]).queryByTestId('payments-refund')).toBeNull();
    expect(rows[1]).toHaveTextContent('Payment failed; payment_failed');
    expect(screen.getByTestId('pager-status')).toHaveTextContent('1–25 of 40');

    await user.click(screen.getByTestId('pager-next'));
    await waitFor(() => expect(sent.at(-1)?.query).toMatchObject({ offset: '25', limit: '25' }));

    await user.selectOptions(screen.getByTestId('payments-filter-status'), 'failed');
    await waitFor(() => expect(screen.getAllByTestId('payments-row')).toHaveLength(1));
    expect(sent.at(-1)?.query).toMatchObject({ status: 'failed', offset: '0' });

    await user.type(screen.getByTestId('payments-search'), 'ADA{Enter}');
    await waitFor(() => expect(sent.at(-1)?.query).toMatchObject({ status: 'failed', email: 'ADA' }));
  });

  it('refunds a payment with a reason, and shows the outcome', async () => {
    const user = userEvent.setup();
    let refunded = false;
    const sent = renderAdmin('/admin/payments', {
      'GET /api/admin/payments': () =>
        Response.json({
          items: [
            refunded
              ? adminPayment({ status: 'refunded', refunded_paise: 19_900, credits_removed: 5, refunded_at: '2026-02-02T10:00:00Z' })
              : adminPayment(),
          ],
          total: 1,
          limit: 25,
          offset: 0,
        }),
      [`POST /api/admin/payments/${P1}/refund`]: () => {
        refunded = true;
        return Response.json(adminPayment({ status: 'refunded', refunded_paise: 19_900, credits_removed: 5 }));
      },
    });
    await user.click(await screen.findByTestId('payments-refund'));
    const dialog = screen.getByTestId('refund-dialog');
    expect(dialog).toHaveAttribute('open');
    expect(dialog).toHaveTextContent('Refund ₹199.00 to ada@example.com?');
    expect(within(dialog).getByTestId('refund-confirm')).toBeDisabled();
    await user.type(within(dialog).getByTestId('refund-reason'), 'Charged twice');
    await user.click(within(dialog).getByTestId('refund-confirm'));

    expect(await screen.findByTestId('payments-refund-result')).toHaveTextContent(
      'Refunded ₹199.00 to ada@example.com; 5 credits removed.',
    );
    expect(sent.filter((r) => r.method === 'POST').map((r) => r.body)).toEqual([{ reason: 'Charged twice' }]);
    expect(screen.queryByTestId('refund-dialog')).toBeNull();
    await waitFor(() => expect(within(screen.getByTestId('payments-row')).getByTestId('payment-status')).toHaveTextContent('Refunded'));
    expect(screen.queryByTestId('payments-refund')).toBeNull();
  });

  it.each([
    [409, 'payment_not_refundable', 'This payment is refunded and already refunded in full.'],
    [502, 'payment_provider_error', 'Razorpay did not answer; nothing was refunded. Try again.'],
  ])("keeps the dialog open with the server's reason on a %i", async (status, code, detail) => {
    const user = userEvent.setup();
    renderAdmin('/admin/payments', {
      'GET /api/admin/payments': () => Response.json({ items: [adminPayment()], total: 1, limit: 25, offset: 0 }),
      [`POST /api/admin/payments/${P1}/refund`]: () => Response.json({ code, detail }, { status }),
    });
    await user.click(await screen.findByTestId('payments-refund'));
    const dialog = screen.getByTestId('refund-dialog');
    await user.type(within(dialog).getByTestId('refund-reason'), 'Duplicate');
    await user.click(within(dialog).getByTestId('refund-confirm'));
    expect(await within(dialog).findByTestId('refund-error')).toHaveTextContent(detail);
    expect(dialog).toHaveAttribute('open');
    expect(within(dialog).getByTestId('refund-confirm')).toBeEnabled();
    expect(screen.queryByTestId('payments-refund-result')).toBeNull();
  });
});

describe('revenue on the metrics screen', () => {
  it('shows the totals in rupees and the days with payments, for the same range as the rest', async () => {
    const range = lastDays(30);
    const revenue: Revenue = {
      start: range.from,
      end: range.to,
      days: [
        { day: range.from, payments: 2, gross_paise: 39_800, refunded_paise: 0, net_paise: 39_800 },
        { day: range.to, payments: 1, gross_paise: 39_900, refunded_paise: 19_900, net_paise: 20_000 },
      ],
      payments: 3,
      gross_paise: 79_700,
      refunded_paise: 19_900,
      net_paise: 59_800,
    };
    const sent = renderAdmin('/admin/metrics', {
      'GET /api/admin/stats': () => Response.json({ code: 'unavailable', detail: 'Not in this test.' }, { status: 503 }),
      'GET /api/admin/payments/revenue': () => Response.json(revenue),
    });
    expect(await screen.findByTestId('revenue-gross')).toHaveTextContent('₹797.00');
    expect(screen.getByTestId('revenue-payments')).toHaveTextContent('3');
    expect(screen.getByTestId('revenue-refunds')).toHaveTextContent('₹199.00');
    expect(screen.getByTestId('revenue-net')).toHaveTextContent('₹598.00');
    expect(screen.getByTestId('chart-revenue')).toBeInTheDocument();
    expect(within(screen.getByTestId('revenue-days')).getAllByRole('row')).toHaveLength(3);
    expect(sent.find((r) => r.path === '/api/admin/payments/revenue')?.query).toEqual(range);
  });
});
