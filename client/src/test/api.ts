/** A fetch for page tests: answers API calls by "METHOD /path" and records what was sent. */
import { vi } from 'vitest';

export interface SentRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  body: unknown;
}

export type Answer = (request: SentRequest) => Response;

/**
 * Stubs fetch: `answers` maps "GET /api/admin/users" (or a RegExp source matched against
 * "METHOD /path") to a response. Anything else is a 404. Tests must set VITE_API_BASE_URL
 * (Node's Request needs an absolute URL).
 */
export function stubApi(answers: Record<string, Answer>): SentRequest[] {
  const sent: SentRequest[] = [];
  vi.stubGlobal(
    'fetch',
    vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
      const request = input instanceof Request ? input : new Request(String(input), init);
      const url = new URL(request.url);
      const text = await request.clone().text();
      const entry: SentRequest = {
        method: request.method,
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        body: text ? JSON.parse(text) : null,
      };
      sent.push(entry);
      const key = `${entry.method} ${entry.path}`;
      const answer =
        answers[key] ?? Object.entries(answers).find(([pattern]) => new RegExp(`^${pattern}$`).test(key))?.[1];
      return answer ? answer(entry) : Response.json({ code: 'not_found', detail: 'Not found.' }, { status: 404 });
    }),
  );
  return sent;
}
