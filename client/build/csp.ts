/**
 * The Content-Security-Policy of the client when it is hosted away from the API (Vercel, any
 * static host) and built with VITE_API_BASE_URL. The API server sends the app's policy itself
 * when it serves the client; a static host cannot know the API's origin, so the build writes the
 * parts that depend on it into index.html as a <meta> policy. client/vercel.json sends the rest
 * as headers (frame-ancestors works only there), the stricter script-src everywhere but /credits.
 * Both policies apply: a request must satisfy each. Mirrors APP_POLICY and RAZORPAY_CHECKOUT in
 * server/middleware.py.
 */
import type { Plugin } from 'vite';

const RAZORPAY_SCRIPT = 'https://checkout.razorpay.com';
const RAZORPAY_FRAMES = ['https://api.razorpay.com', 'https://checkout.razorpay.com'];
const RAZORPAY_CONNECT = ['https://api.razorpay.com', 'https://lumberjack.razorpay.com'];

/** The API's origin and its WebSocket form, or null when the API is this page's origin. */
export function apiOrigins(apiBase: string | undefined): [string, string] | null {
  const base = (apiBase ?? '').trim();
  if (!base) return null;
  const url = new URL(base);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new Error(`VITE_API_BASE_URL must be an http(s) URL, got ${JSON.stringify(base)}`);
  }
  const socket = `${url.protocol === 'https:' ? 'wss:' : 'ws:'}//${url.host}`;
  return [url.origin, socket];
}

/** The document policy for a client built against ``apiBase``; null when same-origin. */
export function documentPolicy(apiBase: string | undefined): string | null {
  const origins = apiOrigins(apiBase);
  if (!origins) return null;
  const policy: [string, string[]][] = [
    ['default-src', ["'self'"]],
    // Checkout's script loads on /credits only: vercel.json's header allows it there alone.
    ['script-src', ["'self'", RAZORPAY_SCRIPT]],
    ['style-src', ["'self'", "'unsafe-inline'"]],
    ['img-src', ["'self'", 'data:']],
    ['font-src', ["'self'"]],
    ['connect-src', ["'self'", ...origins, ...RAZORPAY_CONNECT]],
    ['frame-src', RAZORPAY_FRAMES],
    ['object-src', ["'none'"]],
    ['base-uri', ["'self'"]],
    ['form-action', ["'self'"]],
  ];
  return policy.map(([directive, sources]) => `${directive} ${sources.join(' ')}`).join('; ');
}

/** Adds the policy to index.html as the first element of <head> when the API is elsewhere. */
export function apiOriginCsp(): Plugin {
  let apiBase: string | undefined;
  return {
    name: 'interview-api-origin-csp',
    apply: 'build', // the dev server's React refresh preamble is an inline script
    configResolved(config) {
      apiBase = config.env.VITE_API_BASE_URL as string | undefined;
    },
    transformIndexHtml() {
      const content = documentPolicy(apiBase);
      if (!content) return [];
      return [
        { tag: 'meta', attrs: { 'http-equiv': 'Content-Security-Policy', content }, injectTo: 'head-prepend' },
      ];
    },
  };
}
