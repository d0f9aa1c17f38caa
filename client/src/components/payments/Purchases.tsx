/** The signed-in user's purchases (receipts), newest first, each with its history. */
import { useState } from 'react';
import { Link } from 'react-router';
import { errorMessage } from '../../api/errors';
import {
  refreshPayment,
  useMyPayments,
  usePaymentApplied,
  usePaymentsConfig,
  type Pack,
  type Payment,
} from '../../api/payments';
import { formatDateTime, plural } from '../../lib/format';
import { formatPaiseExact } from '../../lib/money';
import {
  canCheckStatus,
  paymentBadge,
  paymentMethodLabel,
  paymentSourceLabel,
  paymentStatusLabel,
  paymentStepLabel,
} from '../../lib/payments';
import { EmptyState, ErrorState, LoadingBlock } from '../ui';

const PAGE = 10;
const MAX = 100;

export function PaymentBadge({ payment }: { payment: Pick<Payment, 'status' | 'refunded_paise'> }) {
  const badge = paymentBadge(payment);
  return (
    <span className={`pill pill--pay-${badge.tone}`} data-testid="payment-status">
      {badge.label}
    </span>
  );
}

export function PaymentHistory({ payment }: { payment: Pick<Payment, 'history'> }) {
  return (
    <ol className="pay-history" data-testid="payment-history">
      {payment.history.map((step, i) => (
        <li key={i} className="pay-history__step">
          <span className="pay-history__what">
            <strong>{paymentStepLabel(step.status)}</strong> <span className="muted">{paymentSourceLabel(step.source)}</span>
          </span>
          {step.detail && <span className="pay-history__detail">{step.detail}</span>}
          <time className="pay-history__at muted" dateTime={step.at}>
            {formatDateTime(step.at)}
          </time>
        </li>
      ))}
    </ol>
  );
}

export function Purchases() {
  const [limit, setLimit] = useState(PAGE);
  const query = useMyPayments(limit);
  const config = usePaymentsConfig();
  const packs = config.data?.packs ?? [];

  if (query.isPending) return <LoadingBlock label="Loading your purchases" lines={3} />;
  if (query.isError) {
    return <ErrorState title="Could not load your purchases" error={query.error} onRetry={() => void query.refetch()} />;
  }
  const { items, total } = query.data;
  if (items.length === 0) {
    return (
      <EmptyState
        title="No purchases yet"
        action={
          config.data?.enabled ? (
            // A full page load: the server allows Razorpay's script only on documents loaded at /credits.
            <Link to="/credits" reloadDocument className="btn btn--secondary">
              Buy credits
            </Link>
          ) : undefined
        }
      >
        Credit packs you buy are listed here, with their receipts.
      </EmptyState>
    );
  }
  return (
    <>
      <ul className="receipts" data-testid="receipts" aria-busy={query.isFetching}>
        {items.map((payment) => (
          <Receipt key={payment.id} payment={payment} packs={packs} />
        ))}
      </ul>
      {total > items.length && limit < MAX && (
        <button
          type="button"
          className="btn btn--ghost btn--sm receipts__more"
          onClick={() => setLimit((n) => Math.min(MAX, n + PAGE))}
        >
          Show more ({total - items.length} older)
        </button>
      )}
    </>
  );
}

function packLabel(payment: Payment, packs: Pack[]): string {
  return packs.find((p) => p.id === payment.pack)?.label ?? plural(payment.credits, 'credit');
}

function Receipt({ payment, packs }: { payment: Payment; packs: Pack[] }) {
  const applied = usePaymentApplied();
  const [check, setCheck] = useState<{ state: 'pending' | 'ok' | 'error'; text: string } | null>(null);
  const method = paymentMethodLabel(payment);

  async function checkStatus() {
    setCheck({ state: 'pending', text: 'Asking Razorpay…' });
    try {
      const result = await refreshPayment(payment.id);
      applied(result);
      const now = result.payment.status;
      setCheck({
        state: 'ok',
        text:
          now === 'captured'
            ? `Paid: ${plural(result.payment.credits, 'credit')} added. Your balance is ${result.balance}.`
            : now === payment.status
              ? 'No change yet.'
              : `Now: ${paymentStatusLabel(now)}.`,
      });
    } catch (error) {
      setCheck({ state: 'error', text: errorMessage(error) });
    }
  }

  return (
    <li className="receipt" data-testid="receipt" data-status={payment.status} data-payment-id={payment.id}>
      <div className="receipt__row">
        <div className="receipt__main">
          <span className="receipt__title">
            {packLabel(payment, packs)} <span className="muted">· {plural(payment.credits, 'credit')}</span>
          </span>
          <span className="receipt__meta muted small">
            <time dateTime={payment.created_at}>{formatDateTime(payment.created_at)}</time>
            {method && (
              <>
                {' · '}
                <span data-testid="payment-method">{method}</span>
              </>
            )}
          </span>
        </div>
        <div className="receipt__side">
          <span className="receipt__amount" data-testid="payment-amount">
            {formatPaiseExact(payment.amount_paise, payment.currency)}
          </span>
          <PaymentBadge payment={payment} />
        </div>
      </div>
      {payment.status === 'failed' && payment.failure_reason && (
        <p className="receipt__note receipt__note--danger small" data-testid="payment-failure">
          {payment.failure_reason}
        </p>
      )}
      {payment.refunded_paise > 0 && (
        <p className="receipt__note small" data-testid="payment-refund">
          {formatPaiseExact(payment.refunded_paise, payment.currency)} refunded
          {payment.refunded_at ? ` on ${formatDateTime(payment.refunded_at)}` : ''}
          {payment.credits_removed > 0 ? `; ${plural(payment.credits_removed, 'credit')} removed.` : '.'}
        </p>
      )}
      <div className="receipt__foot">
        <details className="receipt__details">
          <summary>History</summary>
          <PaymentHistory payment={payment} />
        </details>
        {canCheckStatus(payment.status) && (
          <button
            type="button"
            className="btn btn--ghost btn--sm"
            disabled={check?.state === 'pending'}
            onClick={() => void checkStatus()}
            data-testid="receipt-check"
          >
            {check?.state === 'pending' ? 'Checking…' : 'Check status'}
          </button>
        )}
        {check && check.state !== 'pending' && (
          <span
            className={`small ${check.state === 'error' ? 'receipt__check-error' : 'muted'}`}
            role={check.state === 'error' ? 'alert' : 'status'}
            data-testid="receipt-check-result"
          >
            {check.text}
          </span>
        )}
      </div>
    </li>
  );
}
