/**
 * The typed REST client: openapi-fetch over the generated `schema.d.ts`, with the access token
 * attached and one transparent refresh-and-retry when a request comes back 401.
 */
import createClient from 'openapi-fetch';
import { API_BASE_URL } from '../config';
import { tokens } from '../auth/tokens';
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

/**
 * Trades the refresh token for a new pair; concurrent callers share one request.
 * Resolves false (and signs out) when the refresh token is no longer accepted.
 */
export function refreshSession(): Promise<boolean> {
  if (refreshing) return refreshing;
  const session = tokens.get();
  if (!session) return Promise.resolve(false);
  refreshing = (async () => {
    try {
      const response = await fetch(`${API_BASE_URL}/api/auth/refresh`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ refresh_token: session.refreshToken }),
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
    } catch {
      return false; // network trouble: keep the session, the caller shows the error
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

const AUTH_PATHS = ['/api/auth/login', '/api/auth/register', '/api/auth/refresh'];

async function authFetch(request: Request): Promise<Response> {
  const isAuthCall = AUTH_PATHS.some((p) => new URL(request.url, window.location.href).pathname.endsWith(p));
  const session = tokens.get();
  const retry = session && !isAuthCall ? request.clone() : null;
  if (session && !isAuthCall) request.headers.set('Authorization', `Bearer ${session.accessToken}`);
  const response = await fetch(request);
  if (response.status !== 401 || !retry) return response;
  if (!(await refreshSession())) {
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
