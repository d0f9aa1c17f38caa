/**
 * Razorpay Checkout: its script, loaded once and only when a purchase starts. The server allows
 * the script on documents loaded at /credits only (Content-Security-Policy), so every link to
 * that page makes a full page load.
 */

export const CREDITS_PATH = '/credits';

export const CHECKOUT_LOAD_FAILED =
  'The payment window could not be loaded. Check your connection (an ad or script blocker can also stop it) and try again.';

let loading: Promise<NonNullable<Window['Razorpay']>> | null = null;

/** Adds Checkout's `<script>` to the page once; resolves with `window.Razorpay`. */
export function loadCheckout(src: string): Promise<NonNullable<Window['Razorpay']>> {
  if (window.Razorpay) return Promise.resolve(window.Razorpay);
  if (loading) return loading;
  loading = new Promise<NonNullable<Window['Razorpay']>>((resolve, reject) => {
    const script = document.createElement('script');
    script.src = src;
    script.async = true;
    script.dataset.checkout = 'razorpay';
    const fail = () => {
      // Gone, so that the next attempt adds it afresh.
      script.remove();
      loading = null;
      reject(new Error(CHECKOUT_LOAD_FAILED));
    };
    script.onload = () => {
      if (window.Razorpay) resolve(window.Razorpay);
      else fail();
    };
    script.onerror = fail;
    document.head.appendChild(script);
  });
  return loading;
}

/**
 * Whether this document was loaded at /credits, and so carries the policy that lets Checkout
 * run. Unknown (no navigation timing) counts as yes.
 */
export function loadedAtCreditsPage(): boolean {
  const entries =
    typeof performance !== 'undefined' && typeof performance.getEntriesByType === 'function'
      ? performance.getEntriesByType('navigation')
      : [];
  const first = entries[0];
  if (!first?.name) return true;
  try {
    return new URL(first.name).pathname.startsWith(CREDITS_PATH);
  } catch {
    return true;
  }
}
