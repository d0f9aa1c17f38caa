import { describe, expect, it } from 'vitest';
import { apiOriginCsp, apiOrigins, documentPolicy } from '../build/csp';
import vercelConfig from '../vercel.json';

type HeaderRule = { source: string; headers: { key: string; value: string }[] };
const vercel = vercelConfig as {
  rewrites: { source: string; destination: string }[];
  headers: HeaderRule[];
};

/** The headers Vercel sends for a path: every rule whose source matches (path-to-regexp groups). */
function headersFor(path: string): Record<string, string> {
  const found: Record<string, string> = {};
  for (const rule of vercel.headers) {
    if (new RegExp(`^${rule.source}$`).test(path)) {
      for (const { key, value } of rule.headers) {
        expect(found[key], `${key} set twice for ${path}`).toBeUndefined();
        found[key] = value;
      }
    }
  }
  return found;
}

function directive(policy: string, name: string): string[] {
  const part = policy.split(';').map((p) => p.trim().split(/\s+/)).find(([n]) => n === name);
  return part ? part.slice(1) : [];
}

describe('the policy of a client built for another API origin', () => {
  it('is none when the API is the page origin: the server sends the policy', () => {
    expect(documentPolicy('')).toBeNull();
    expect(documentPolicy(undefined)).toBeNull();
  });

  it('lets the page call the API and open its sockets, nothing else', () => {
    const policy = documentPolicy('https://api.example.com/')!;
    expect(directive(policy, 'connect-src')).toEqual([
      "'self'",
      'https://api.example.com',
      'wss://api.example.com',
      'https://api.razorpay.com',
      'https://lumberjack.razorpay.com',
    ]);
    expect(directive(policy, 'default-src')).toEqual(["'self'"]);
    expect(directive(policy, 'object-src')).toEqual(["'none'"]);
  });

  it('keeps the port and drops the path prefix of the API base', () => {
    expect(apiOrigins('http://10.0.0.5:8000/interview/')).toEqual(['http://10.0.0.5:8000', 'ws://10.0.0.5:8000']);
    expect(() => apiOrigins('ftp://api.example.com')).toThrow(/http\(s\) URL/);
  });

  it('goes first in the head of the built index.html', () => {
    const plugin = apiOriginCsp();
    const configResolved = plugin.configResolved as (c: { env: Record<string, string> }) => void;
    const transform = plugin.transformIndexHtml as () => { tag: string; attrs: Record<string, string>; injectTo: string }[];
    configResolved({ env: { VITE_API_BASE_URL: 'https://api.example.com' } });
    const [meta] = transform();
    expect(meta.tag).toBe('meta');
    expect(meta.injectTo).toBe('head-prepend');
    expect(meta.attrs['http-equiv']).toBe('Content-Security-Policy');
    expect(meta.attrs.content).toBe(documentPolicy('https://api.example.com'));
    expect(plugin.apply).toBe('build');
    configResolved({ env: {} });
    expect(transform()).toEqual([]);
  });
});

describe('vercel.json', () => {
  it('serves the app shell for client routes but not for missing assets', () => {
    const [rewrite] = vercel.rewrites;
    expect(rewrite.destination).toBe('/index.html');
    const source = new RegExp(`^${rewrite.source}$`);
    expect(source.test('/interviews/abc')).toBe(true);
    expect(source.test('/assets/index-3f2a9c1d.js')).toBe(false);
  });

  it('caches hashed assets for a year and revalidates everything else', () => {
    expect(headersFor('/assets/index-3f2a9c1d.js')['Cache-Control']).toBe('public, max-age=31536000, immutable');
    expect(headersFor('/index.html')['Cache-Control']).toBe('no-cache');
    expect(headersFor('/interviews/abc')['Cache-Control']).toBe('no-cache');
  });

  it("allows Razorpay's script on /credits only, and no framing anywhere", () => {
    const page = headersFor('/interviews/abc')['Content-Security-Policy'];
    const credits = headersFor('/credits')['Content-Security-Policy'];
    expect(directive(page, 'script-src')).toEqual(["'self'"]);
    expect(directive(credits, 'script-src')).toEqual(["'self'", 'https://checkout.razorpay.com']);
    for (const policy of [page, credits]) expect(directive(policy, 'frame-ancestors')).toEqual(["'none'"]);
    expect(headersFor('/credits')['X-Frame-Options']).toBe('DENY');
    // The header never limits connect-src: the built <meta> policy names the API's origin.
    expect(directive(page, 'connect-src')).toEqual([]);
    expect(directive(page, 'default-src')).toEqual([]);
  });
});
