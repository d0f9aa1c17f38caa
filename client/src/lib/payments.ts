/** Words for purchases, shared by the receipts and the admin console. */
import type { Payment, PaymentStatus } from '../api/payments';

export const PAYMENT_STATUSES: { value: PaymentStatus; label: string }[] = [
  { value: 'created', label: 'Awaiting payment' },
  { value: 'authorized', label: 'Processing' },
  { value: 'captured', label: 'Paid' },
  { value: 'failed', label: 'Failed' },
  { value: 'refunded', label: 'Refunded' },
];

export function paymentStatusLabel(status: PaymentStatus): string {
  return PAYMENT_STATUSES.find((s) => s.value === status)?.label ?? status;
}

/** The badge of a purchase: its status, or "Partly refunded" for a paid one with a refund. */
export function paymentBadge(payment: Pick<Payment, 'status' | 'refunded_paise'>): { tone: string; label: string } {
  if (payment.status === 'captured' && payment.refunded_paise > 0) return { tone: 'refunded', label: 'Partly refunded' };
  return { tone: payment.status, label: paymentStatusLabel(payment.status) };
}

/** A step of a purchase's history: what happened. */
const STEPS: Record<PaymentStatus, string> = {
  created: 'Order opened',
  authorized: 'Authorized',
  captured: 'Paid',
  failed: 'Failed',
  refunded: 'Refunded',
};

export function paymentStepLabel(status: PaymentStatus): string {
  return STEPS[status] ?? status;
}

const SOURCES: Record<string, string> = {
  order: '',
  checkout: 'from Checkout',
  webhook: 'from Razorpay',
  refresh: 'status check',
  admin: 'by an administrator',
};

export function paymentSourceLabel(source: string): string {
  return SOURCES[source] ?? source;
}

/** "UPI · su•••••@razorpay", "Card · Visa •••• 1111", or null before anything was paid. */
export function paymentMethodLabel(payment: Pick<Payment, 'method' | 'method_detail'>): string | null {
  if (!payment.method) return null;
  const method = payment.method === 'upi' ? 'UPI' : payment.method.charAt(0).toUpperCase() + payment.method.slice(1);
  return payment.method_detail ? `${method} · ${payment.method_detail}` : method;
}

/** Whether asking Razorpay again can change anything (not settled yet, or failed and retried). */
export function canCheckStatus(status: PaymentStatus): boolean {
  return status === 'created' || status === 'authorized' || status === 'failed';
}
