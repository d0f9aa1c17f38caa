/**
 * Where the API lives. Empty (the default) means the same origin as the page: the dev server
 * proxies /api and /ws, and in production the server serves the built client itself. Set
 * VITE_API_BASE_URL at build time (e.g. `https://interview.example.com`) to host the client
 * elsewhere; the WebSocket URL is derived from it.
 */
export const API_BASE_URL: string = normaliseBase(import.meta.env.VITE_API_BASE_URL ?? '');

export function normaliseBase(base: string): string {
  return base.trim().replace(/\/+$/, '');
}

/** `ws(s)://…/ws/interviews/{id}` for an API base ('' = this page's origin). */
export function interviewSocketUrl(
  interviewId: string,
  base: string = API_BASE_URL,
  location: Pick<Location, 'protocol' | 'host'> = window.location,
): string {
  return socketUrl(`/ws/interviews/${encodeURIComponent(interviewId)}`, base, location);
}

/** `ws(s)://…/ws/admin`: the admin console's socket (the live monitor and steering). */
export function adminSocketUrl(
  base: string = API_BASE_URL,
  location: Pick<Location, 'protocol' | 'host'> = window.location,
): string {
  return socketUrl('/ws/admin', base, location);
}

function socketUrl(path: string, base: string, location: Pick<Location, 'protocol' | 'host'>): string {
  if (!base) {
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    return `${scheme}//${location.host}${path}`;
  }
  const url = new URL(base, `${location.protocol}//${location.host}`);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  url.pathname = `${url.pathname.replace(/\/+$/, '')}${path}`;
  url.search = '';
  url.hash = '';
  return url.toString();
}
