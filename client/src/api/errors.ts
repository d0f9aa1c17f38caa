/** The server's error body: `{"code": "...", "detail": "human message"}` (422 adds `message`). */
export interface ErrorBody {
  code?: string;
  detail?: unknown;
  message?: string;
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  /** Seconds to wait, from Retry-After on 429. */
  readonly retryAfterS: number | null;
  readonly fields: Record<string, string>;

  constructor(
    status: number,
    code: string,
    message: string,
    retryAfterS: number | null = null,
    fields: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.retryAfterS = retryAfterS;
    this.fields = fields;
  }
}

interface ValidationItem {
  loc?: (string | number)[];
  msg?: string;
}

/** Builds an ApiError from a failed response and its parsed body (if any). */
export function toApiError(response: Response | undefined, body: unknown): ApiError {
  const status = response?.status ?? 0;
  const retryHeader = response?.headers.get('Retry-After');
  const retryAfterS = retryHeader && /^\d+$/.test(retryHeader) ? Number(retryHeader) : null;
  const b = (typeof body === 'object' && body !== null ? body : {}) as ErrorBody;
  const code = typeof b.code === 'string' ? b.code : status === 0 ? 'network_error' : `http_${status}`;
  const fields: Record<string, string> = {};
  if (Array.isArray(b.detail)) {
    for (const item of b.detail as ValidationItem[]) {
      const loc = (item.loc ?? []).filter((part) => part !== 'body');
      const name = loc.length ? String(loc[loc.length - 1]) : '';
      if (name && item.msg && !fields[name]) fields[name] = tidyValidationMessage(item.msg);
    }
  }
  let message: string;
  if (typeof b.detail === 'string') message = b.detail;
  else if (typeof b.message === 'string') message = b.message;
  else if (status === 0) message = 'Could not reach the server. Check your connection and try again.';
  else if (status >= 500) message = 'The server had a problem. Please try again in a moment.';
  else message = `Request failed (${status}).`;
  if (code === 'validation_error' && Object.keys(fields).length) {
    message = Object.entries(fields)
      .map(([name, msg]) => `${humanField(name)}: ${msg}`)
      .join(' · ');
  }
  return new ApiError(status, code, message, retryAfterS, fields);
}

function tidyValidationMessage(msg: string): string {
  return msg.replace(/^Value error, /, '');
}

function humanField(name: string): string {
  const text = name.replace(/_/g, ' ');
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** A message fit for the screen, whatever was thrown. */
export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof TypeError) {
    return 'Could not reach the server. Check your connection and try again.';
  }
  if (error instanceof Error && error.message) return error.message;
  return 'Something went wrong.';
}

export function formatWait(seconds: number): string {
  if (seconds < 60) return `${seconds} second${seconds === 1 ? '' : 's'}`;
  const minutes = Math.ceil(seconds / 60);
  return `${minutes} minute${minutes === 1 ? '' : 's'}`;
}
