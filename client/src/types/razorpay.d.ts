/**
 * Razorpay Checkout (checkout.js), as much of it as the credits page uses.
 * https://razorpay.com/docs/payments/payment-gateway/web-integration/standard/
 */

interface RazorpaySuccess {
  razorpay_payment_id: string;
  razorpay_order_id: string;
  razorpay_signature: string;
}

interface RazorpayFailure {
  error: {
    code: string;
    description: string;
    source: string;
    step: string;
    reason: string;
    metadata: { order_id?: string; payment_id?: string };
  };
}

interface RazorpayOptions {
  key: string;
  amount: number;
  currency: string;
  order_id: string;
  name: string;
  description: string;
  prefill?: { email?: string; contact?: string; name?: string };
  config?: {
    display: {
      blocks?: Record<string, { name: string; instruments: { method: string; flows?: string[] }[] }>;
      sequence?: string[];
      preferences?: { show_default_blocks?: boolean };
    };
  };
  theme?: { color?: string };
  handler: (response: RazorpaySuccess) => void;
  modal?: { ondismiss?: () => void; escape?: boolean; confirm_close?: boolean };
}

interface RazorpayCheckout {
  open(): void;
  close?(): void;
  on(event: 'payment.failed', callback: (response: RazorpayFailure) => void): void;
}

interface Window {
  Razorpay?: new (options: RazorpayOptions) => RazorpayCheckout;
}
