import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { Link, useSearchParams } from 'react-router';
import { useAdminPayments, useRefundPayment, type AdminPayment, type PaymentFilters } from '../../api/admin';
import { errorMessage } from '../../api/errors';
import type { PaymentStatus } from '../../api/payments';
import { ActionResult, Pager, TableScroll } from '../../components/admin/AdminUi';
import { PaymentBadge, PaymentHistory } from '../../components/payments/Purchases';
import { EmptyState, ErrorState, LoadingBlock, PageHeader } from '../../components/ui';
import { formatDateTime, plural } from '../../lib/format';
import { formatPaiseExact } from '../../lib/money';
import { PAYMENT_STATUSES, paymentMethodLabel } from '../../lib/payments';

const PAGE = 25;
const SEARCH_DELAY_MS = 250;
const REASON_MAX = 200;

function refundable(payment: AdminPayment): number {
  return payment.status === 'captured' || payment.status === 'refunded' ? payment.amount_paise - payment.refunded_paise : 0;
}

function isStatus(value: string | null): value is PaymentStatus {
  return PAYMENT_STATUSES.some((s) => s.value === value);
}

export function Payments() {
  const [params, setParams] = useSearchParams();
  const statusParam = params.get('status');
  const filters: PaymentFilters = { status: isStatus(statusParam) ? statusParam : '', email: params.get('q') ?? '' };
  const offset = Math.max(0, Number(params.get('offset')) || 0);
  const [typed, setTyped] = useState(filters.email);
  const [refunding, setRefunding] = useState<AdminPayment | null>(null);
  const [outcome, setOutcome] = useState<string | null>(null);
  const query = useAdminPayments(filters, PAGE, offset);

  // Search as the admin types, once the typing pauses (as on the users screen).
  const pushed = useRef(filters.email);
  useEffect(() => {
    if (filters.email !== pushed.current) {
      pushed.current = filters.email;
      setTyped(filters.email);
    }
  }, [filters.email]);
  useEffect(() => {
    if (typed.trim() === filters.email) return;
    const timer = setTimeout(() => update({ q: typed.trim() }), SEARCH_DELAY_MS);
    return () => clearTimeout(timer);
    // `update` reads the params of this render: only what was typed starts a new search.
  }, [typed, filters.email]);

  function update(change: Record<string, string>) {
    const next = new URLSearchParams(params);
    for (const [name, value] of Object.entries(change)) {
      if (value) next.set(name, value);
      else next.delete(name);
    }
    next.delete('offset');
    if ('q' in change) pushed.current = change.q;
    setParams(next, { replace: true });
  }

  function setOffset(value: number) {
    const next = new URLSearchParams(params);
    if (value) next.set('offset', String(value));
    else next.delete('offset');
    setParams(next);
  }

  const filtered = !!filters.status || !!filters.email;
  return (
    <div className="page admin-page">
      <PageHeader title="Payments" subtitle="Credit packs bought through Razorpay, newest first. Refund one from its row." />

      <form
        className="filters"
        role="search"
        aria-label="Find payments"
        onSubmit={(e) => {
          e.preventDefault();
          update({ q: typed.trim() });
        }}
      >
        <div className="field field--inline">
          <label className="field__label" htmlFor="payments-status">
            Status
          </label>
          <select
            id="payments-status"
            className="select"
            value={filters.status}
            onChange={(e) => update({ status: e.target.value })}
            data-testid="payments-filter-status"
          >
            <option value="">Any status</option>
            {PAYMENT_STATUSES.map((s) => (
              <option key={s.value} value={s.value}>
                {s.label}
              </option>
            ))}
          </select>
        </div>
        <div className="field field--inline filters__grow">
          <label className="field__label" htmlFor="payments-search">
            Buyer
          </label>
          <input
            id="payments-search"
            className="input"
            type="search"
            placeholder="Part of an email…"
            value={typed}
            onChange={(e) => setTyped(e.target.value)}
            data-testid="payments-search"
          />
        </div>
        <button type="submit" className="btn btn--secondary">
          Search
        </button>
      </form>

      {outcome && (
        <ActionResult state="ok" testId="payments-refund-result">
          {outcome}
        </ActionResult>
      )}

      <div className="card card--flush">
        {query.isPending ? (
          <LoadingBlock label="Loading payments" lines={6} />
        ) : query.isError ? (
          <ErrorState title="Could not load the payments" error={query.error} onRetry={() => void query.refetch()} />
        ) : query.data.items.length === 0 ? (
          <EmptyState title={filtered ? 'No payment matches' : 'No payments yet'}>
            {filtered ? 'Try another status or email.' : 'Purchases appear here once candidates buy credits.'}
          </EmptyState>
        ) : (
          <TableScroll label="Payments">
            <table className="table table--top" data-testid="payments-table" aria-busy={query.isFetching}>
              <thead>
                <tr>
                  <th scope="col">Buyer</th>
                  <th scope="col" className="num">
                    Amount
                  </th>
                  <th scope="col">Status</th>
                  <th scope="col">Date</th>
                  <th scope="col">Pack</th>
                  <th scope="col">Method</th>
                  <th scope="col">Razorpay</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {query.data.items.map((p) => (
                  <PaymentRow key={p.id} payment={p} onRefund={() => setRefunding(p)} />
                ))}
              </tbody>
            </table>
          </TableScroll>
        )}
      </div>
      {query.data && (
        <Pager offset={offset} limit={PAGE} total={query.data.total} onOffset={setOffset} noun="payment" />
      )}
      {refunding && (
        <RefundDialog
          payment={refunding}
          onClose={() => setRefunding(null)}
          onDone={(text) => {
            setRefunding(null);
            setOutcome(text);
          }}
        />
      )}
    </div>
  );
}

function PaymentRow({ payment: p, onRefund }: { payment: AdminPayment; onRefund: () => void }) {
  const method = paymentMethodLabel(p);
  return (
    <tr data-testid="payments-row" data-payment-id={p.id} data-status={p.status}>
      <th scope="row" className="cell-main">
        <Link to={`/admin/users/${p.user_id}`} className="cell-email">
          {p.email}
        </Link>
      </th>
      <td className="num nowrap">{formatPaiseExact(p.amount_paise, p.currency)}</td>
      <td>
        <PaymentBadge payment={p} />
        {p.failure_reason && p.status === 'failed' && <div className="muted small pay-cell-note">{p.failure_reason}</div>}
        {p.refunded_paise > 0 && (
          <div className="muted small pay-cell-note">
            {formatPaiseExact(p.refunded_paise, p.currency)} back
            {p.credits_removed > 0 ? `, ${plural(p.credits_removed, 'credit')} removed` : ''}
          </div>
        )}
      </td>
      <td className="nowrap">{formatDateTime(p.created_at)}</td>
      <td className="nowrap">{plural(p.credits, 'credit')}</td>
      <td className="small">{method ?? <span className="muted">–</span>}</td>
      <td className="small">
        <div className="mono pay-ids">{p.razorpay_order_id}</div>
        {p.razorpay_payment_id && <div className="mono pay-ids muted">{p.razorpay_payment_id}</div>}
        <details className="pay-cell-history">
          <summary>History</summary>
          <PaymentHistory payment={p} />
        </details>
      </td>
      <td className="nowrap">
        {refundable(p) > 0 && (
          <button type="button" className="btn btn--ghost btn--sm" onClick={onRefund} data-testid="payments-refund">
            Refund…
          </button>
        )}
      </td>
    </tr>
  );
}

function RefundDialog({
  payment,
  onClose,
  onDone,
}: {
  payment: AdminPayment;
  onClose: () => void;
  onDone: (text: string) => void;
}) {
  const id = useId();
  const dialogRef = useRef<HTMLDialogElement>(null);
  const refund = useRefundPayment();
  const [reason, setReason] = useState('');
  const [error, setError] = useState<string | null>(null);
  const amount = refundable(payment);

  useEffect(() => {
    const dialog = dialogRef.current;
    if (dialog && !dialog.open) dialog.showModal?.();
  }, []);

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (!reason.trim() || refund.isPending) return;
    setError(null);
    try {
      const after = await refund.mutateAsync({ id: payment.id, reason: reason.trim() });
      onDone(
        after.status === 'refunded'
          ? `Refunded ${formatPaiseExact(amount, payment.currency)} to ${payment.email}; ${plural(after.credits_removed, 'credit')} removed.`
          : `Refund of ${formatPaiseExact(amount, payment.currency)} to ${payment.email} requested; the credits are removed when Razorpay processes it.`,
      );
    } catch (err) {
      setError(errorMessage(err));
    }
  }

  return (
    <dialog
      ref={dialogRef}
      className="dialog"
      aria-labelledby={`${id}-title`}
      onClose={onClose}
      onCancel={onClose}
      data-testid="refund-dialog"
    >
      <form onSubmit={(e) => void submit(e)} className="form">
        <h2 id={`${id}-title`} className="dialog__title">
          Refund {formatPaiseExact(amount, payment.currency)} to {payment.email}?
        </h2>
        <p className="dialog__text">
          Razorpay sends the money back to where it was paid from. The pack's {plural(payment.credits, 'credit')} are removed
          from the account, even below zero if they were used; the buyer then settles before a new interview.
        </p>
        <div className="field">
          <label className="field__label" htmlFor={`${id}-reason`}>
            Reason
          </label>
          <input
            id={`${id}-reason`}
            className="input"
            maxLength={REASON_MAX}
            placeholder="Kept in the audit log"
            value={reason}
            onChange={(e) => setReason(e.target.value)}
            autoFocus
            data-testid="refund-reason"
          />
        </div>
        {error && (
          <ActionResult state="error" testId="refund-error">
            {error}
          </ActionResult>
        )}
        <div className="dialog__actions">
          <button type="button" className="btn btn--secondary" onClick={onClose}>
            Cancel
          </button>
          <button
            type="submit"
            className="btn btn--danger"
            disabled={!reason.trim() || refund.isPending}
            data-testid="refund-confirm"
          >
            {refund.isPending ? 'Refunding…' : 'Refund'}
          </button>
        </div>
      </form>
    </dialog>
  );
}
