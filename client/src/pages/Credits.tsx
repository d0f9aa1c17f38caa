/**
 * Buying credits: the packs, and a purchase through Razorpay Checkout (UPI first). The server
 * prices the order, checks Checkout's confirmation and grants the credits; this page opens
 * Checkout and shows what the server says became of the payment.
 */
import { useEffect, useRef, useState, type ReactNode } from 'react';
import { Link } from 'react-router';
import { errorMessage } from '../api/errors';
import {
  createOrder,
  refreshPayment,
  usePaymentApplied,
  usePaymentsConfig,
  verifyPayment,
  type CheckoutOrder,
  type Pack,
  type PaymentResult,
} from '../api/payments';
import { useAuth } from '../auth/AuthContext';
import { Alert, ErrorState, LoadingBlock, PageHeader } from '../components/ui';
import { CREDITS_PATH, loadCheckout, loadedAtCreditsPage } from '../lib/checkout';
import { plural } from '../lib/format';
import { formatPaise } from '../lib/money';

const ACCENT_FALLBACK = '#4338ca';

/** Paise per credit, rounded to the paisa. */
export function pricePerCredit(pack: Pack): number {
  return Math.round(pack.price_paise / pack.credits);
}

/**
 * The pack to mark "Best value": the middle one (by credits) of three or more, when a credit
 * costs less in it than in the smallest pack.
 */
export function bestValuePack(packs: Pack[]): string | null {
  if (packs.length < 3) return null;
  const sorted = [...packs].sort((a, b) => a.credits - b.credits);
  const middle = sorted[Math.floor((sorted.length - 1) / 2)];
  return pricePerCredit(middle) < pricePerCredit(sorted[0]) ? middle.id : null;
}

/** How much less a credit costs in `pack` than in the smallest pack, in whole percent (0 if not). */
export function savingPercent(pack: Pack, packs: Pack[]): number {
  const smallest = packs.reduce((a, b) => (b.credits < a.credits ? b : a), pack);
  const base = pricePerCredit(smallest);
  const saving = Math.round((1 - pricePerCredit(pack) / base) * 100);
  return saving > 0 ? saving : 0;
}

function accentColor(): string {
  const value = getComputedStyle(document.documentElement).getPropertyValue('--accent').trim();
  return value || ACCENT_FALLBACK;
}

type Step = 'ordering' | 'paying' | 'verifying' | 'checking';

/** What became of the last purchase of a pack, shown on its card. */
type Outcome =
  | { kind: 'failed'; packId: string; paymentId: string; message: string }
  | { kind: 'pending'; packId: string; paymentId: string; checked: boolean }
  | { kind: 'refunded'; packId: string; paymentId: string }
  | { kind: 'error'; packId: string; paymentId: string | null; message: string };

interface Success {
  credits: number;
  balance: number;
}

const STEP_LABEL: Record<Step, string> = {
  ordering: 'Opening checkout…',
  paying: 'Waiting for payment…',
  verifying: 'Confirming payment…',
  checking: 'Checking…',
};

export function Credits() {
  const { signedIn, user } = useAuth();
  const config = usePaymentsConfig();
  const applied = usePaymentApplied();
  const [busy, setBusy] = useState<{ packId: string; step: Step } | null>(null);
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const [success, setSuccess] = useState<Success | null>(null);
  // One purchase at a time, whatever the clicks: state updates come a render too late.
  const inFlight = useRef(false);
  const successRef = useRef<HTMLDivElement>(null);
  const enabled = config.data?.enabled === true;

  // Checkout's script runs only on a document loaded at /credits (its Content-Security-Policy);
  // arriving here inside the app (after signing in, say) reloads the page once.
  useEffect(() => {
    if (enabled && !loadedAtCreditsPage()) window.location.replace(window.location.href);
  }, [enabled]);

  useEffect(() => {
    if (success) successRef.current?.focus();
  }, [success]);

  function release() {
    inFlight.current = false;
    setBusy(null);
  }

  /** Shows what the server says of a payment of `packId`. */
  function show(packId: string, result: PaymentResult) {
    const { payment } = result;
    applied(result);
    if (payment.status === 'captured') {
      setOutcome(null);
      setSuccess({ credits: payment.credits, balance: result.balance });
    } else if (payment.status === 'failed') {
      setOutcome({
        kind: 'failed',
        packId,
        paymentId: payment.id,
        message: payment.failure_reason ?? 'The payment did not go through.',
      });
    } else if (payment.status === 'refunded') {
      setOutcome({ kind: 'refunded', packId, paymentId: payment.id });
    } else {
      setOutcome({ kind: 'pending', packId, paymentId: payment.id, checked: true });
    }
  }

  async function confirm(pack: Pack, order: CheckoutOrder, response: RazorpaySuccess) {
    inFlight.current = true;
    setBusy({ packId: pack.id, step: 'verifying' });
    try {
      show(
        pack.id,
        await verifyPayment({
          razorpay_order_id: response.razorpay_order_id,
          razorpay_payment_id: response.razorpay_payment_id,
          razorpay_signature: response.razorpay_signature,
        }),
      );
    } catch (error) {
      // The money may have moved even so: the status can be asked for again.
      setOutcome({ kind: 'error', packId: pack.id, paymentId: order.payment_id, message: errorMessage(error) });
    } finally {
      release();
    }
  }

  async function buy(pack: Pack) {
    const settings = config.data;
    if (inFlight.current || !settings?.enabled || !settings.checkout_url) return;
    inFlight.current = true;
    setBusy({ packId: pack.id, step: 'ordering' });
    setOutcome(null);
    setSuccess(null);
    let order: CheckoutOrder;
    let Razorpay: NonNullable<Window['Razorpay']>;
    try {
      order = await createOrder(pack.id);
      Razorpay = await loadCheckout(settings.checkout_url);
    } catch (error) {
      release();
      setOutcome({ kind: 'error', packId: pack.id, paymentId: null, message: errorMessage(error) });
      return;
    }
    let confirmed = false;
    const checkout = new Razorpay({
      key: order.key_id,
      amount: order.amount_paise,
      currency: order.currency,
      order_id: order.order_id,
      name: order.name,
      description: order.description,
      prefill: { email: order.prefill.email },
      config: {
        display: {
          blocks: { upi: { name: 'Pay using UPI', instruments: [{ method: 'upi' }] } },
          sequence: ['block.upi'],
          preferences: { show_default_blocks: true },
        },
      },
      theme: { color: accentColor() },
      handler: (response) => {
        confirmed = true;
        void confirm(pack, order, response);
      },
      modal: {
        ondismiss: () => {
          if (confirmed) return;
          release();
          // After a failed attempt its reason stays; otherwise the payment may still be
          // finishing in a UPI app.
          setOutcome((current) =>
            current?.kind === 'failed' && current.paymentId === order.payment_id
              ? current
              : { kind: 'pending', packId: pack.id, paymentId: order.payment_id, checked: false },
          );
        },
      },
    });
    checkout.on('payment.failed', (response) => {
      // Checkout stays open to try again; the page is usable again meanwhile.
      release();
      setOutcome({
        kind: 'failed',
        packId: pack.id,
        paymentId: order.payment_id,
        message: response.error?.description || 'The payment did not go through.',
      });
      // The server records the failure from Razorpay's own record; nothing to show if it cannot.
      refreshPayment(order.payment_id).then(applied, () => undefined);
    });
    setBusy({ packId: pack.id, step: 'paying' });
    try {
      checkout.open();
    } catch (error) {
      release();
      setOutcome({ kind: 'error', packId: pack.id, paymentId: order.payment_id, message: errorMessage(error) });
    }
  }

  async function check(packId: string, paymentId: string) {
    if (inFlight.current) return;
    inFlight.current = true;
    setBusy({ packId, step: 'checking' });
    try {
      show(packId, await refreshPayment(paymentId));
    } catch (error) {
      setOutcome({ kind: 'error', packId, paymentId, message: errorMessage(error) });
    } finally {
      release();
    }
  }

  const balance = user?.credits;
  const best = config.data ? bestValuePack(config.data.packs) : null;

  return (
    <div className="page credits-page">
      <PageHeader
        title="Buy credits"
        subtitle={
          enabled
            ? 'Each mock interview uses one credit. Pay with UPI through Razorpay; the credits are added as soon as the payment is confirmed.'
            : 'Each mock interview uses one credit.'
        }
        actions={
          signedIn && balance !== undefined ? (
            <p className={`balance${balance < 0 ? ' balance--negative' : ''}`} data-testid="credits-balance">
              <span className="balance__label">Your balance</span>
              <span className="balance__value">{plural(balance, 'credit')}</span>
            </p>
          ) : undefined
        }
      />

      {success && (
        <div ref={successRef} tabIndex={-1} className="focus-target" data-testid="purchase-success">
          <Alert tone="success" title={`Payment received: ${plural(success.credits, 'credit')} added`} onDismiss={() => setSuccess(null)}>
            Your balance is now <strong data-testid="purchase-balance">{plural(success.balance, 'credit')}</strong>. The receipt
            is under Purchases in your <Link to="/account">account</Link>.{' '}
            {success.balance > 0 && <Link to="/new">Start an interview</Link>}
          </Alert>
        </div>
      )}

      {signedIn && balance !== undefined && balance < 0 && (
        <Alert tone="warning" title="Your balance is below zero">
          A refund took back {plural(-balance, 'credit')} that had already been used. Buying a pack settles it; what is left
          after that is yours to use.
        </Alert>
      )}

      {config.isPending ? (
        <LoadingBlock label="Loading the prices" lines={4} />
      ) : config.isError ? (
        <ErrorState title="Could not load the prices" error={config.error} onRetry={() => void config.refetch()} />
      ) : (
        <>
          {!enabled && (
            <Alert tone="info" title="Buying credits is not available on this server; your free credits still work">
              Each interview still uses one credit. If you run out, ask the administrator of this installation for more.
            </Alert>
          )}
          <ul className="packs" aria-label="Credit packs" data-testid="packs">
            {config.data.packs.map((pack) => (
              <PackCard
                key={pack.id}
                pack={pack}
                best={best === pack.id}
                saving={savingPercent(pack, config.data.packs)}
                action={
                  !enabled ? null : !signedIn ? (
                    <Link className="btn btn--secondary btn--block" to={`/login?next=${encodeURIComponent(CREDITS_PATH)}`}>
                      Sign in to buy
                    </Link>
                  ) : (
                    <button
                      type="button"
                      className={`btn btn--block ${best === null || best === pack.id ? 'btn--primary' : 'btn--secondary'}`}
                      disabled={busy !== null}
                      aria-busy={busy?.packId === pack.id || undefined}
                      onClick={() => void buy(pack)}
                      data-testid={`buy-${pack.id}`}
                    >
                      {busy?.packId === pack.id ? STEP_LABEL[busy.step] : `Buy ${plural(pack.credits, 'credit')}`}
                    </button>
                  )
                }
              >
                {outcome?.packId === pack.id && (
                  <OutcomeNote
                    outcome={outcome}
                    checking={busy?.step === 'checking'}
                    disabled={busy !== null}
                    onCheck={(paymentId) => void check(pack.id, paymentId)}
                  />
                )}
              </PackCard>
            ))}
          </ul>
          {enabled && (
            <p className="muted small credits-page__note">
              Payments go through Razorpay: this site never sees your UPI PIN or card number. Your purchases and their
              receipts are listed in your {signedIn ? <Link to="/account">account</Link> : 'account'}.
            </p>
          )}
        </>
      )}
    </div>
  );
}

function PackCard({
  pack,
  best,
  saving,
  action,
  children,
}: {
  pack: Pack;
  best: boolean;
  saving: number;
  action: ReactNode;
  children?: ReactNode;
}) {
  const titleId = `pack-${pack.id}-title`;
  return (
    <li className={`pack${best ? ' pack--best' : ''}`} aria-labelledby={titleId} data-testid="pack" data-pack={pack.id}>
      {best && <span className="pack__badge">Best value</span>}
      <h2 id={titleId} className="pack__title">
        {pack.label}
      </h2>
      <p className="pack__credits">
        <span className="pack__count">{pack.credits}</span> {pack.credits === 1 ? 'credit' : 'credits'}
      </p>
      <p className="pack__price" data-testid="pack-price">
        {formatPaise(pack.price_paise, pack.currency)}
      </p>
      <p className="pack__unit">
        <span data-testid="pack-unit">{formatPaise(pricePerCredit(pack), pack.currency)} per interview</span>
        {saving > 0 && <span className="pack__saving">Save {saving}%</span>}
      </p>
      {action && <div className="pack__action">{action}</div>}
      {children}
    </li>
  );
}

function OutcomeNote({
  outcome,
  checking,
  disabled,
  onCheck,
}: {
  outcome: Outcome;
  checking: boolean;
  disabled: boolean;
  onCheck: (paymentId: string) => void;
}) {
  const checkButton = (paymentId: string) => (
    <button
      type="button"
      className="btn btn--secondary btn--sm"
      disabled={disabled}
      onClick={() => onCheck(paymentId)}
      data-testid="check-payment"
    >
      {checking ? 'Checking…' : 'Check payment status'}
    </button>
  );
  return (
    <div className="pack__outcome" data-testid="purchase-outcome" data-kind={outcome.kind}>
      {outcome.kind === 'failed' ? (
        <Alert tone="danger" title="The payment did not go through">
          <p className="pack__reason" data-testid="purchase-failure">
            {outcome.message}
          </p>
          <p className="pack__advice">Nothing was added. Try again, with another UPI app or method if it keeps failing.</p>
        </Alert>
      ) : outcome.kind === 'pending' ? (
        <Alert tone="info" title={outcome.checked ? 'No payment has arrived yet' : 'Payment not finished'}>
          {outcome.checked
            ? 'Razorpay has no completed payment for this order yet. If you approved it in your UPI app, check again in a minute.'
            : 'If you completed the payment in your UPI app, it can take a moment to reach us.'}
          <div className="pack__outcome-action">{checkButton(outcome.paymentId)}</div>
        </Alert>
      ) : outcome.kind === 'refunded' ? (
        <Alert tone="info" title="This payment was refunded">
          The amount went back to where it was paid from; the credits were removed.
        </Alert>
      ) : (
        <Alert tone="danger" title="The purchase could not go ahead">
          {outcome.message}
          {outcome.paymentId && <div className="pack__outcome-action">{checkButton(outcome.paymentId)}</div>}
        </Alert>
      )}
    </div>
  );
}
