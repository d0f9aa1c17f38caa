import { QueryClientProvider } from '@tanstack/react-query';
import { act, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { MemoryRouter } from 'react-router';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

// Node's Request (used by openapi-fetch) needs an absolute URL; set before the client loads.
vi.hoisted(() => {
  vi.stubEnv('VITE_API_BASE_URL', 'http://api.test');
});

import { makeQueryClient } from '../App';
import type { CheckoutOrder, Payment, PaymentsConfig } from '../api/payments';
import { AuthProvider } from '../auth/AuthContext';
import { tokens } from '../auth/tokens';
import { CHECKOUT_LOAD_FAILED } from '../lib/checkout';
import { stubApi, type Answer } from '../test/api';
import { bestValuePack, Credits, savingPercent } from './Credits';

const PAYMENT_ID = '7d1f0c4e-0000-4000-8000-000000000001';
const ORDER_ID = 'order_Q1w2E3r4T5y6U7';
const PAY_ID = 'pay_A1s2D3f4G5h6J7';
const SIGNATURE = 'a'.repeat(64);

const PACKS = [
  { id: 'single', credits: 1, price_paise: 4_900, currency: 'INR', label: '1 interview' },
  { id: 'five', credits: 5, price_paise: 19_900, currency: 'INR', label: '5 interviews' },
  { id: 'twelve', credits: 12, price_paise: 39_900, currency: 'INR', label: '12 interviews' },
];

function config(over: Partial<PaymentsConfig> = {}): PaymentsConfig {
  return {
    enabled: true,
    packs: PACKS,
    key_id: 'rzp_test_abc',
    checkout_url: 'https://checkout.example/v1/checkout.js',
    business_name: 'Mock Interview',
    ...over,
  };
}

const ORDER: CheckoutOrder = {
  payment_id: PAYMENT_ID,
  order_id: ORDER_ID,
  key_id: 'rzp_test_abc',
  amount_paise: 19_900,
  currency: 'INR',
  pack: PACKS[1],
  name: 'Mock Interview',
  description: '5 interviews: 5 interview credits',
  prefill: { email: 'me@example.com' },
};

function payment(over: Partial<Payment> = {}): Payment {
  return {
    id: PAYMENT_ID,
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
    history: [],
    ...over,
  };
}

/** A stand-in for Checkout's constructor: records what it was opened with. */
class FakeRazorpay {
  static last: FakeRazorpay | null = null;
  static created = 0;
  readonly failed: ((response: RazorpayFailure) => void)[] = [];
  opened = false;

  constructor(readonly options: RazorpayOptions) {
    FakeRazorpay.last = this;
    FakeRazorpay.created += 1;
  }

  open() {
    this.opened = true;
  }

  on(event: string, callback: (response: RazorpayFailure) => void) {
    if (event === 'payment.failed') this.failed.push(callback);
  }

  succeed(response: RazorpaySuccess) {
    this.options.handler(response);
  }

  fail(description: string) {
    const response: RazorpayFailure = {
      error: {
        code: 'BAD_REQUEST_ERROR',
        description,
        source: 'customer',
        step: 'payment_authorization',
        reason: 'payment_failed',
        metadata: { order_id: ORDER_ID, payment_id: PAY_ID },
      },
    };
    this.failed.forEach((callback) => callback(response));
  }

  dismiss() {
    this.options.modal?.ondismiss?.();
  }
}

const me = (credits = 3) => ({ id: 'u1', email: 'me@example.com', role: 'candidate', created_at: '2026-01-01T00:00:00Z', credits });

function renderCredits(answers: Record<string, Answer> = {}, { signedIn = true } = {}) {
  if (signedIn) tokens.set({ access_token: 'A', refresh_token: 'R', expires_in: 3600 });
  const sent = stubApi({
    'GET /api/me': () => Response.json(me()),
    'GET /api/payments/config': () => Response.json(config()),
    ...answers,
  });
  render(
    <QueryClientProvider client={makeQueryClient()}>
      <MemoryRouter initialEntries={['/credits']}>
        <AuthProvider>
          <Credits />
        </AuthProvider>
      </MemoryRouter>
    </QueryClientProvider>,
  );
  return sent;
}

function checkout(): FakeRazorpay {
  if (!FakeRazorpay.last) throw new Error('Checkout was not opened');
  return FakeRazorpay.last;
}

beforeEach(() => {
  FakeRazorpay.last = null;
  FakeRazorpay.created = 0;
  window.Razorpay = FakeRazorpay as unknown as Window['Razorpay'];
});

afterEach(() => {
  tokens.clear();
  vi.unstubAllGlobals();
  delete window.Razorpay;
  document.head.querySelectorAll('script[data-checkout]').forEach((s) => s.remove());
});

describe('the packs', () => {
  it('shows each pack with its price in rupees, the price per interview, the best value and the balance', async () => {
    renderCredits();
    const packs = await screen.findAllByTestId('pack');
    expect(packs).toHaveLength(3);
    expect(within(packs[0]).getByTestId('pack-price')).toHaveTextContent('₹49');
    expect(within(packs[1]).getByTestId('pack-price')).toHaveTextContent('₹199');
    expect(within(packs[1]).getByTestId('pack-unit')).toHaveTextContent('₹39.80 per interview');
    expect(within(packs[2]).getByTestId('pack-unit')).toHaveTextContent('₹33.25 per interview');
    expect(packs[1]).toHaveTextContent('Best value');
    expect(packs[0]).not.toHaveTextContent('Best value');
    expect(packs[1]).toHaveTextContent('Save 19%');
    expect(await screen.findByTestId('credits-balance')).toHaveTextContent('3 credits');
    expect(within(packs[1]).getByRole('button', { name: 'Buy 5 credits' })).toBeEnabled();
  });

  it('marks no best value when the middle pack is not cheaper per credit', () => {
    const flat = PACKS.map((p) => ({ ...p, price_paise: p.credits * 5_000 }));
    expect(bestValuePack(flat)).toBeNull();
    expect(bestValuePack(PACKS)).toBe('five');
    expect(bestValuePack(PACKS.slice(0, 2))).toBeNull();
    expect(savingPercent(PACKS[0], PACKS)).toBe(0);
    expect(savingPercent(PACKS[2], PACKS)).toBe(32);
  });

  it('says buying is off on a server without Razorpay, and offers no buy buttons', async () => {
    renderCredits({ 'GET /api/payments/config': () => Response.json(config({ enabled: false, key_id: null, checkout_url: null })) });
    expect(
      await screen.findByText('Buying credits is not available on this server; your free credits still work'),
    ).toBeInTheDocument();
    expect(screen.getAllByTestId('pack')).toHaveLength(3);
    expect(screen.queryByRole('button', { name: /Buy/ })).toBeNull();
  });

  it('shows a visitor the prices, and a sign-in link instead of buying', async () => {
    renderCredits({}, { signedIn: false });
    const packs = await screen.findAllByTestId('pack');
    expect(within(packs[0]).getByRole('link', { name: 'Sign in to buy' })).toHaveAttribute('href', '/login?next=%2Fcredits');
    expect(screen.queryByRole('button', { name: /Buy/ })).toBeNull();
    expect(screen.queryByTestId('credits-balance')).toBeNull();
  });

  it('explains a balance below zero', async () => {
    renderCredits({ 'GET /api/me': () => Response.json(me(-2)) });
    expect(await screen.findByText('Your balance is below zero')).toBeInTheDocument();
    expect(screen.getByTestId('credits-balance')).toHaveTextContent('-2 credits');
  });
});

describe('a purchase', () => {
  it('opens Checkout with the server order, UPI first; on success verifies the three values and shows the new balance', async () => {
    const user = userEvent.setup();
    let balance = 3;
    const sent = renderCredits({
      'GET /api/me': () => Response.json(me(balance)),
      'POST /api/payments/orders': () => Response.json(ORDER, { status: 201 }),
      'POST /api/payments/verify': () => {
        balance = 8;
        return Response.json({ payment: payment(), balance: 8 });
      },
    });
    await user.click(await screen.findByTestId('buy-five'));
    await waitFor(() => expect(FakeRazorpay.last?.opened).toBe(true));
    expect(sent.find((r) => r.path === '/api/payments/orders')?.body).toEqual({ pack: 'five' });

    const options = checkout().options;
    expect(options).toMatchObject({
      key: 'rzp_test_abc',
      amount: 19_900,
      currency: 'INR',
      order_id: ORDER_ID,
      name: 'Mock Interview',
      description: '5 interviews: 5 interview credits',
      prefill: { email: 'me@example.com' },
      config: {
        display: {
          blocks: { upi: { name: 'Pay using UPI', instruments: [{ method: 'upi' }] } },
          sequence: ['block.upi'],
          preferences: { show_default_blocks: true },
        },
      },
    });
    expect(options.theme?.color).toMatch(/^#|rgb/);
    // While Checkout is open, nothing else can be bought.
    for (const button of screen.getAllByRole('button', { name: /Buy|Waiting/ })) expect(button).toBeDisabled();

    await act(async () => {
      checkout().succeed({ razorpay_order_id: ORDER_ID, razorpay_payment_id: PAY_ID, razorpay_signature: SIGNATURE });
    });
    const success = await screen.findByTestId('purchase-success');
    expect(success).toHaveTextContent('Payment received: 5 credits added');
    expect(screen.getByTestId('purchase-balance')).toHaveTextContent('8 credits');
    expect(sent.filter((r) => r.path === '/api/payments/verify').map((r) => r.body)).toEqual([
      { razorpay_order_id: ORDER_ID, razorpay_payment_id: PAY_ID, razorpay_signature: SIGNATURE },
    ]);
    // The balance the app shows follows at once.
    await waitFor(() => expect(screen.getByTestId('credits-balance')).toHaveTextContent('8 credits'));
    expect(screen.getByTestId('buy-five')).toBeEnabled();
  });

  it('shows why a payment failed, keeps the page usable, and has the server record the failure', async () => {
    const user = userEvent.setup();
    const sent = renderCredits({
      'POST /api/payments/orders': () => Response.json(ORDER, { status: 201 }),
      [`POST /api/payments/${PAYMENT_ID}/refresh`]: () =>
        Response.json({ payment: payment({ status: 'failed', failure_reason: 'Payment failed; payment_failed' }), balance: 3 }),
    });
    await user.click(await screen.findByTestId('buy-five'));
    await waitFor(() => expect(FakeRazorpay.last?.opened).toBe(true));
    await act(async () => {
      checkout().fail('Your payment could not be completed due to insufficient account balance.');
    });
    const outcome = await screen.findByTestId('purchase-outcome');
    expect(outcome).toHaveAttribute('data-kind', 'failed');
    expect(screen.getByTestId('purchase-failure')).toHaveTextContent(
      'Your payment could not be completed due to insufficient account balance.',
    );
    // The failure sits on the pack that was being bought.
    expect(within(screen.getAllByTestId('pack')[1]).getByTestId('purchase-outcome')).toBe(outcome);
    await waitFor(() => expect(sent.some((r) => r.method === 'POST' && r.path === `/api/payments/${PAYMENT_ID}/refresh`)).toBe(true));
    expect(screen.getByTestId('buy-five')).toBeEnabled();
    expect(screen.getByTestId('buy-twelve')).toBeEnabled();

    // Closing Checkout afterwards keeps the reason on screen.
    await act(async () => checkout().dismiss());
    expect(screen.getByTestId('purchase-outcome')).toHaveAttribute('data-kind', 'failed');
  });

  it('after Checkout is closed, says a UPI payment may still be finishing and checks its status on request', async () => {
    const user = userEvent.setup();
    let status: Payment['status'] = 'created';
    const sent = renderCredits({
      'POST /api/payments/orders': () => Response.json(ORDER, { status: 201 }),
      [`POST /api/payments/${PAYMENT_ID}/refresh`]: () =>
        Response.json({ payment: payment({ status, captured_at: null, method: null, method_detail: null }), balance: status === 'captured' ? 8 : 3 }),
    });
    await user.click(await screen.findByTestId('buy-five'));
    await waitFor(() => expect(FakeRazorpay.last?.opened).toBe(true));
    await act(async () => checkout().dismiss());

    const note = await screen.findByTestId('purchase-outcome');
    expect(note).toHaveAttribute('data-kind', 'pending');
    expect(note).toHaveTextContent('If you completed the payment in your UPI app, it can take a moment');
    expect(screen.getByTestId('buy-five')).toBeEnabled();
    expect(sent.some((r) => r.path.endsWith('/refresh'))).toBe(false);

    await user.click(screen.getByTestId('check-payment'));
    await waitFor(() => expect(screen.getByTestId('purchase-outcome')).toHaveTextContent('No payment has arrived yet'));

    status = 'captured';
    await user.click(screen.getByTestId('check-payment'));
    expect(await screen.findByTestId('purchase-success')).toHaveTextContent('Payment received: 5 credits added');
    expect(screen.getByTestId('purchase-balance')).toHaveTextContent('8 credits');
    expect(screen.queryByTestId('purchase-outcome')).toBeNull();
    expect(sent.filter((r) => r.path === `/api/payments/${PAYMENT_ID}/refresh`)).toHaveLength(2);
  });

  it("shows the server's reason when an order cannot be opened, and opens nothing", async () => {
    const user = userEvent.setup();
    renderCredits({
      'POST /api/payments/orders': () =>
        Response.json(
          { code: 'payment_provider_error', detail: 'Razorpay did not answer. Nothing was charged; try again.' },
          { status: 502 },
        ),
    });
    await user.click(await screen.findByTestId('buy-twelve'));
    expect(await screen.findByTestId('purchase-outcome')).toHaveTextContent('Razorpay did not answer. Nothing was charged; try again.');
    expect(FakeRazorpay.created).toBe(0);
    expect(screen.getByTestId('buy-twelve')).toBeEnabled();
  });

  it('sends one order however fast the button is clicked', async () => {
    const sent = renderCredits({
      'POST /api/payments/orders': () => Response.json(ORDER, { status: 201 }),
    });
    const button = await screen.findByTestId('buy-five');
    // Two clicks in the same tick, before React has re-rendered the button disabled.
    act(() => {
      button.click();
      button.click();
    });
    await waitFor(() => expect(FakeRazorpay.last?.opened).toBe(true));
    expect(sent.filter((r) => r.path === '/api/payments/orders')).toHaveLength(1);
    expect(FakeRazorpay.created).toBe(1);
  });

  it('says so when the Checkout script cannot load, and loads it afresh on the next try', async () => {
    delete window.Razorpay;
    const user = userEvent.setup();
    renderCredits({ 'POST /api/payments/orders': () => Response.json(ORDER, { status: 201 }) });
    await user.click(await screen.findByTestId('buy-five'));
    const script = await waitFor(() => {
      const found = document.head.querySelector<HTMLScriptElement>('script[data-checkout]');
      if (!found) throw new Error('no script yet');
      return found;
    });
    expect(script.src).toBe('https://checkout.example/v1/checkout.js');
    act(() => {
      script.dispatchEvent(new Event('error'));
    });
    expect(await screen.findByTestId('purchase-outcome')).toHaveTextContent(CHECKOUT_LOAD_FAILED);
    expect(document.head.querySelector('script[data-checkout]')).toBeNull();

    await user.click(screen.getByTestId('buy-five'));
    await waitFor(() => expect(document.head.querySelectorAll('script[data-checkout]')).toHaveLength(1));
    window.Razorpay = FakeRazorpay as unknown as Window['Razorpay'];
    act(() => {
      document.head.querySelector('script[data-checkout]')!.dispatchEvent(new Event('load'));
    });
    await waitFor(() => expect(FakeRazorpay.last?.opened).toBe(true));
  });
});
