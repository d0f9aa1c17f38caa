/**
 * The signed-in session: access and refresh tokens in localStorage, so a reload keeps the
 * user signed in. Other tabs see changes through the `storage` event, and `reload()` reads
 * the stored value at once (a refresh does, under the cross-tab lock, before spending a token).
 */

export interface StoredSession {
  accessToken: string;
  refreshToken: string;
  /** Unix ms when the access token expires (approximate, from expires_in). */
  expiresAt: number;
}

const KEY = 'interview.session';
type Listener = (session: StoredSession | null) => void;
const listeners = new Set<Listener>();

function read(): StoredSession | null {
  try {
    const raw = localStorage.getItem(KEY);
    if (!raw) return null;
    const parsed = JSON.parse(raw) as Partial<StoredSession>;
    if (typeof parsed.accessToken !== 'string' || typeof parsed.refreshToken !== 'string') {
      return null;
    }
    return {
      accessToken: parsed.accessToken,
      refreshToken: parsed.refreshToken,
      expiresAt: typeof parsed.expiresAt === 'number' ? parsed.expiresAt : 0,
    };
  } catch {
    return null;
  }
}

let current: StoredSession | null = typeof localStorage === 'undefined' ? null : read();

export const tokens = {
  get(): StoredSession | null {
    return current;
  },
  set(session: { access_token: string; refresh_token: string; expires_in: number }): void {
    current = {
      accessToken: session.access_token,
      refreshToken: session.refresh_token,
      expiresAt: Date.now() + session.expires_in * 1000,
    };
    localStorage.setItem(KEY, JSON.stringify(current));
    listeners.forEach((l) => l(current));
  },
  /** Re-reads localStorage now (another tab may have rotated the tokens a moment ago). */
  reload(): StoredSession | null {
    const stored = read();
    if (stored?.refreshToken !== current?.refreshToken || stored?.accessToken !== current?.accessToken) {
      current = stored;
      listeners.forEach((l) => l(current));
    }
    return current;
  },
  clear(): void {
    current = null;
    localStorage.removeItem(KEY);
    listeners.forEach((l) => l(null));
  },
  subscribe(listener: Listener): () => void {
    listeners.add(listener);
    return () => listeners.delete(listener);
  },
};

if (typeof window !== 'undefined') {
  window.addEventListener('storage', (event) => {
    if (event.key !== KEY) return;
    current = read();
    listeners.forEach((l) => l(current));
  });
}
