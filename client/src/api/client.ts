/**
 * The typed REST client: openapi-fetch over the generated `schema.d.ts`, with the access token
 * attached and one transparent refresh-and-retry when a request comes back 401.
 */
import createClient from 'openapi-fetch';
import { API_BASE_URL } from '../config';
import { tokens, type StoredSession } from '../auth/tokens';
import type { components, paths } from './schema';
import { toApiError } from './errors';

export type Schemas = components['schemas'];
export type User = Schemas['UserPublic'];
export type AuthSession = Schemas['AuthSession'];
export type Interview = Schemas['InterviewPublic'];
export type InterviewDetail = Schemas['InterviewDetail'];
export type SharedInterview = Schemas['SharedInterview'];
export type ShareLink = Schemas['ShareLink'];
export type InterviewCreate = Schemas['InterviewCreate'];
export type InterviewList = Schemas['InterviewsPublic'];
export type TurnPublic = Schemas['TurnPublic'];
export type ScorePublic = Schemas['ScorePublic'];
export type ReportPublic = Schemas['ReportPublic'];
export type Track = Schemas['Track'];
export type Level = Schemas['Level'];
export type InterviewStatus = Schemas['InterviewStatus'];

type AuthListener = () => void;
const authLostListeners = new Set<AuthListener>();

/** Called when the session cannot be refreshed any more (the user must sign in again). */
export function onAuthLost(listener: AuthListener): () => void {
  authLostListeners.add(listener);
  return () => authLostListeners.delete(listener);
}

let refreshing: Promise<boolean> | null = null;

/** The Web Locks name every tab of this origin takes to refresh (one refresh at a time). */
export const REFRESH_LOCK = 'interview.refresh';

function withRefreshLock<T>(work: () => Promise<T>): Promise<T> {
  // Web Locks exist in every current browser, but only in secure contexts (https, localhost).
  const locks = typeof navigator !== 'undefined' ? navigator.locks : undefined;
  return locks ? (locks.request(REFRESH_LOCK, work) as Promise<T>) : work();
}

/**
 * Trades the refresh token for a new pair and stores both: the server rotates refresh tokens,
 * so the one sent is spent. Concurrent callers in this tab share one request, and tabs take
 * turns through a Web Lock: a tab that waited finds the pair another tab stored and sends
 * nothing. (Without Web Locks, two tabs may send the same token at once; the server answers
 * both with the same successor within its grace window.)
 *
 * `used` is the session the failed request carried (default: the current one). Resolves
 * false (and signs out) when the refresh token is no longer accepted.
 */
export function refreshSession(used: StoredSession | null = tokens.get()): Promise<boolean> {
  if (refreshing) return refreshing;
  if (!used) return Promise.resolve(false);
  refreshing = withRefreshLock(async () => {
    const latest = tokens.reload();
    if (!latest) return false;
    if (latest.refreshToken !== used.refreshToken) return true; // rotated meanwhile, elsewhere
    const response = await fetch(`${API_BASE_URL}/api/auth/refresh`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ refresh_token: latest.refreshToken }),
    });
    if (response.ok) {
      tokens.set((await response.json()) as AuthSession);
      return true;
    }
    if (response.status === 401 || response.status === 422) {
      tokens.clear();
      authLostListeners.forEach((l) => l());
    }
    return false;
  })
    .catch(() => false) // network trouble: keep the session, the caller shows the error
    .finally(() => {
      refreshing = null;
    });
  return refreshing;
}

// Calls made without a session: no bearer token, and a 401 is an answer, not a cue to refresh.
const AUTH_PATHS = [
  '/api/auth/login',
  '/api/auth/register',
  '/api/auth/refresh',
  '/api/auth/forgot-password',
  '/api/auth/reset-password',
];

async function authFetch(request: Request): Promise<Response> {
  const isAuthCall = AUTH_PATHS.some((p) => new URL(request.url, window.location.href).pathname.endsWith(p));
  const session = tokens.get();
  const retry = session && !isAuthCall ? request.clone() : null;
  if (session && !isAuthCall) request.headers.set('Authorization', `Bearer ${session.accessToken}`);
  const response = await fetch(request);
  if (response.status !== 401 || !retry) return response;
  if (!(await refreshSession(session))) {
    if (!tokens.get()) authLostListeners.forEach((l) => l());
    return response;
  }
  retry.headers.set('Authorization', `Bearer ${tokens.get()?.accessToken ?? ''}`);
  return fetch(retry);
}

export const api = createClient<paths>({ baseUrl: API_BASE_URL, fetch: authFetch });

/** Unwraps an openapi-fetch result: the data, or a thrown ApiError. */
export async function call<T>(
  promise: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  let result: { data?: T; error?: unknown; response: Response };
  try {
    result = await promise;
  } catch (error) {
    throw toApiError(undefined, { detail: errorText(error) });
  }
  if (result.error !== undefined || !result.response.ok) {
    throw toApiError(result.response, result.error);
  }
  return result.data as T;
}

function errorText(error: unknown): string {
  if (error instanceof TypeError || !(error instanceof Error)) {
    return 'Could not reach the server. Check your connection and try again.';
  }
  return error.message;
}
