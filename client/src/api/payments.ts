/** Buying credits (/api/payments): the packs, orders, Checkout's confirmation and receipts. */
import { keepPreviousData, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, call, type Schemas, type User } from './client';
import { keys } from './queries';
import { tokens } from '../auth/tokens';

export type PaymentsConfig = Schemas['PaymentsConfig'];
export type Pack = Schemas['Pack'];
export type CheckoutOrder = Schemas['CheckoutOrder'];
export type CheckoutConfirmation = Schemas['CheckoutConfirmation'];
export type Payment = Schemas['PaymentPublic'];
export type PaymentList = Schemas['PaymentList'];
export type PaymentResult = Schemas['PaymentResult'];
export type PaymentStatus = Schemas['PaymentStatus'];
export type PaymentStep = Schemas['PaymentStep'];

export const paymentKeys = {
  config: ['payments', 'config'] as const,
  mine: ['payments', 'mine'] as const,
  page: (limit: number, offset: number) => ['payments', 'mine', limit, offset] as const,
};

/** The packs and whether buying is on here; open to visitors who are not signed in. */
export function usePaymentsConfig() {
  return useQuery({
    queryKey: paymentKeys.config,
    queryFn: () => call(api.GET('/api/payments/config')),
    staleTime: 5 * 60_000,
  });
}

export function useMyPayments(limit: number, offset = 0) {
  return useQuery({
    queryKey: paymentKeys.page(limit, offset),
    queryFn: () => call(api.GET('/api/payments', { params: { query: { limit, offset } } })),
    placeholderData: keepPreviousData,
    enabled: tokens.get() !== null,
  });
}

export function createOrder(pack: string): Promise<CheckoutOrder> {
  return call(api.POST('/api/payments/orders', { body: { pack } }));
}

export function verifyPayment(body: CheckoutConfirmation): Promise<PaymentResult> {
  return call(api.POST('/api/payments/verify', { body }));
}

/** Asks the server to ask Razorpay what became of a payment. */
export function refreshPayment(paymentId: string): Promise<PaymentResult> {
  return call(api.POST('/api/payments/{payment_id}/refresh', { params: { path: { payment_id: paymentId } } }));
}

/**
 * After the server has applied a payment: the new balance is in the app bar at once, and the
 * receipts and the account are read again.
 */
export function usePaymentApplied() {
  const queryClient = useQueryClient();
  return (result: PaymentResult) => {
    queryClient.setQueryData<User>(keys.me, (me) => (me ? { ...me, credits: result.balance } : me));
    void queryClient.invalidateQueries({ queryKey: keys.me });
    void queryClient.invalidateQueries({ queryKey: paymentKeys.mine });
  };
}
