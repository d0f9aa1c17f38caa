import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

const USER = { id: 'u1', email: 'me@example.com', role: 'candidate', created_at: '2026-01-01T00:00:00Z', credits: 3 };

/**
 * A strict stand-in for the server's /api/auth/refresh: each refresh token works once and
 * names its successor; a spent one is refused (no grace), so a client that resends one fails.
 */
function rotatingServer(first = 1) {
  const spent = new Set<string>();
  const sent: string[] = [];
  let next = first;
  const fetchMock = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    if (url.endsWith('/api/auth/refresh')) {
      const body = JSON.parse(String(init?.body)) as { refresh_token: string };
      sent.push(body.refresh_token);
      if (spent.has(body.refresh_token) || !body.refresh_token.startsWith('R')) {
        return Response.json({ code: 'refresh_token_reused', detail: 'sign in again' }, { status: 401 });
      }
      spent.add(body.refresh_token);
      await new Promise((r) => setTimeout(r, 5));
      next += 1;
      return Response.json({
        user: USER,
        access_token: `A${next}`,
        refresh_token: `R${next}`,
        token_type: 'bearer',
        expires_in: 3600,
      });
    }
    const request = input as Request;
    const auth = request.headers.get('Authorization');
    if (url.endsWith('/api/me')) {
      return auth === `Bearer A${next}` ? Response.json(USER) : Response.json({ code: 'not_authenticated', detail: 'x' }, { status: 401 });
    }
    return new Response(null, { status: 404 });
  });
  return { fetchMock, sent };
}

/** Web Locks as the browser gives them: one holder per name, the others queue. */
function installWebLocks() {
  let tail: Promise<unknown> = Promise.resolve();
  const taken: string[] = [];
  const locks = {
    request(name: string, callback: () => Promise<unknown>) {
      taken.push(name);
      const run = tail.then(() => callback());
      tail = run.catch(() => undefined);
      return run;
    },
  };
  Object.defineProperty(navigator, 'locks', { value: locks, configurable: true });
  return taken;
}

function storeSession(access: string, refresh: string) {
  localStorage.setItem('interview.session', JSON.stringify({ accessToken: access, refreshToken: refresh, expiresAt: 0 }));
}

/** A fresh copy of the client module and its token store: one browser tab. */
async function openTab() {
  vi.resetModules();
  const client = await import('./client');
  const { tokens } = await import('../auth/tokens');
  return { ...client, tokens };
}

beforeEach(() => {
  localStorage.clear();
});

afterEach(() => {
  vi.unstubAllGlobals();
  vi.unstubAllEnvs();
  delete (navigator as { locks?: unknown }).locks;
});

describe('refreshSession', () => {
  it('stores the rotated refresh token from every refresh and never resends a spent one', async () => {
    const server = rotatingServer();
    vi.stubGlobal('fetch', server.fetchMock);
    storeSession('A1', 'R1');
    const tab = await openTab();

    expect(await tab.refreshSession()).toBe(true);
    expect(tab.tokens.get()?.refreshToken).toBe('R2');
    expect(JSON.parse(localStorage.getItem('interview.session')!).refreshToken).toBe('R2');
    expect(await tab.refreshSession()).toBe(true);
    expect(tab.tokens.get()).toMatchObject({ accessToken: 'A3', refreshToken: 'R3' });
    expect(server.sent).toEqual(['R1', 'R2']);
  });

  it('sends one refresh for concurrent callers in one tab', async () => {
    const server = rotatingServer();
    vi.stubGlobal('fetch', server.fetchMock);
    storeSession('A1', 'R1');
    const tab = await openTab();

    const results = await Promise.all([tab.refreshSession(), tab.refreshSession(), tab.refreshSession()]);
    expect(results).toEqual([true, true, true]);
    expect(server.sent).toEqual(['R1']);
  });

  it('two tabs refreshing at once send one request and both keep the new pair', async () => {
    const server = rotatingServer();
    vi.stubGlobal('fetch', server.fetchMock);
    const locks = installWebLocks();
    storeSession('A1', 'R1');
    const first = await openTab();
    const second = await openTab();

    const results = await Promise.all([first.refreshSession(), second.refreshSession()]);
    expect(results).toEqual([true, true]);
    expect(server.sent).toEqual(['R1']);
    expect(locks).toEqual([first.REFRESH_LOCK, second.REFRESH_LOCK]);
    expect(first.tokens.get()?.refreshToken).toBe('R2');
    expect(second.tokens.get()?.refreshToken).toBe('R2');
  });

  it('signs out when the server refuses the refresh token', async () => {
    const server = rotatingServer();
    vi.stubGlobal('fetch', server.fetchMock);
    storeSession('A1', 'spent-token');
    const tab = await openTab();
    const lost = vi.fn();
    tab.onAuthLost(lost);

    expect(await tab.refreshSession()).toBe(false);
    expect(tab.tokens.get()).toBeNull();
    expect(localStorage.getItem('interview.session')).toBeNull();
    expect(lost).toHaveBeenCalled();
  });

  it('keeps the session when the network fails', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => Promise.reject(new TypeError('offline'))));
    storeSession('A1', 'R1');
    const tab = await openTab();

    expect(await tab.refreshSession()).toBe(false);
    expect(tab.tokens.get()?.refreshToken).toBe('R1');
  });
});

describe('api', () => {
  it('refreshes once on a 401 and retries the request with the new access token', async () => {
    const server = rotatingServer();
    vi.stubGlobal('fetch', server.fetchMock);
    storeSession('A0-expired', 'R1');
    vi.stubEnv('VITE_API_BASE_URL', 'http://api.test'); // Node's Request needs an absolute URL
    const tab = await openTab();

    const me = await tab.call(tab.api.GET('/api/me'));
    expect(me.email).toBe('me@example.com');
    expect(server.sent).toEqual(['R1']);
    expect(tab.tokens.get()?.refreshToken).toBe('R2');
  });

  it('uses the pair another tab stored instead of spending the old refresh token', async () => {
    const server = rotatingServer(1);
    vi.stubGlobal('fetch', server.fetchMock);
    installWebLocks();
    storeSession('A1', 'R1');
    const tab = await openTab();
    // Another tab rotated R1 → R2 a moment ago; its storage event has not arrived yet.
    const other = await openTab();
    await other.refreshSession();
    expect(server.sent).toEqual(['R1']);

    expect(await tab.refreshSession({ accessToken: 'A1', refreshToken: 'R1', expiresAt: 0 })).toBe(true);
    expect(server.sent).toEqual(['R1']);
    expect(tab.tokens.get()?.refreshToken).toBe('R2');
  });
});
