/** Shared helpers for the end-to-end tests (Chromium via playwright-core). */
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BASE_URL = (process.env.E2E_BASE_URL ?? '').replace(/\/+$/, '');
if (!BASE_URL) {
  throw new Error(
    'Set E2E_BASE_URL to a running server that serves client/dist, e.g. E2E_BASE_URL=http://127.0.0.1:8011 npm run e2e',
  );
}

const clientDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const SCREENSHOTS = join(clientDir, 'test-artifacts/screenshots');
mkdirSync(SCREENSHOTS, { recursive: true });

export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

/** Chromium, with `extraArgs` (e.g. a fake microphone) after the usual flags. */
export async function launch(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-quic',
      '--disable-sync',
      ...extraArgs,
    ],
  });
}

/** A fresh, isolated browser context (its own storage) at a viewport, on a server (default: E2E_BASE_URL). */
export async function newPage(
  browser: Browser,
  viewport: { width: number; height: number } = DESKTOP,
  baseURL: string = BASE_URL,
): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
  const phone = viewport.width < 600;
  const context = await browser.newContext({
    viewport,
    baseURL,
    isMobile: phone,
    hasTouch: phone,
    deviceScaleFactor: 1,
    locale: 'en-GB',
    timezoneId: 'UTC',
  });
  context.setDefaultTimeout(20_000);
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) errors.push(`console: ${m.text()}`);
  });
  return { context, page, errors };
}

export async function shot(page: Page, name: string, fullPage = true): Promise<void> {
  const size = page.viewportSize();
  const suffix = size && size.width < 600 ? 'phone' : 'desktop';
  // Let transitions and charts settle.
  await page.waitForTimeout(250);
  const path = join(SCREENSHOTS, `${name}-${suffix}.png`);
  if (!fullPage || !size) {
    await page.screenshot({ path });
    return;
  }
  // Grow the viewport to the whole page, so sticky bars sit where a reader would see them.
  const height = await page.evaluate(() => document.documentElement.scrollHeight);
  await page.setViewportSize({ width: size.width, height: Math.max(size.height, Math.min(height, 8000)) });
  await page.waitForTimeout(150);
  await page.screenshot({ path });
  await page.setViewportSize(size);
}

export function uniqueEmail(tag: string): string {
  return `e2e-${tag}-${Date.now()}-${Math.random().toString(36).slice(2, 7)}@example.com`;
}

export const PASSWORD = 'correct-horse-battery';

export async function signUp(page: Page, email = uniqueEmail('user')): Promise<string> {
  await page.goto('/signup');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.waitForURL((url) => url.pathname === '/');
  return email;
}

/** Calls the REST API from the page with the signed-in user's token. */
export async function apiFromPage<T>(page: Page, path: string, init: { method?: string; body?: unknown } = {}): Promise<{ status: number; body: T }> {
  return page.evaluate(
    async ({ path, init }) => {
      const session = JSON.parse(localStorage.getItem('interview.session') ?? 'null') as { accessToken: string } | null;
      const response = await fetch(path, {
        method: init.method ?? 'GET',
        headers: {
          'Content-Type': 'application/json',
          ...(session ? { Authorization: `Bearer ${session.accessToken}` } : {}),
        },
        body: init.body === undefined ? undefined : JSON.stringify(init.body),
      });
      const text = await response.text();
      return { status: response.status, body: text ? JSON.parse(text) : null };
    },
    { path, init },
  ) as Promise<{ status: number; body: T }>;
}

export interface NewInterviewOptions {
  track?: string;
  level?: string;
  questions?: number;
  topics?: string;
}

/** Fills /new and starts the interview; returns its id. */
export async function startInterview(page: Page, options: NewInterviewOptions = {}): Promise<string> {
  await page.goto('/new');
  await page.getByRole('heading', { name: 'New interview' }).waitFor();
  if (options.track) await page.getByRole('radio', { name: new RegExp(options.track, 'i') }).check();
  if (options.level) await page.getByRole('radio', { name: new RegExp(`^${options.level}`, 'i') }).check();
  if (options.topics) await page.getByLabel('Topics').fill(options.topics);
  await page.getByLabel('Questions').fill(String(options.questions ?? 2));
  await page.getByRole('button', { name: 'Start interview' }).click();
  await page.waitForURL(/\/interviews\/[0-9a-f-]{36}$/);
  return page.url().split('/').pop()!;
}

export interface ScreenTurn {
  question: string;
  answer: string | null;
}

/** The transcript as the interview room shows it. */
export async function screenTranscript(page: Page): Promise<ScreenTurn[]> {
  return page.$$eval('[data-testid="turn"]', (turns) =>
    turns.map((turn) => ({
      question: (turn.querySelector('[data-testid="turn-question"]')?.textContent ?? '').trim(),
      answer: turn.querySelector('[data-testid="turn-answer"]')?.textContent?.trim() ?? null,
    })),
  );
}

interface RestTurn {
  index: number;
  question: string;
  answer: string | null;
  outcome: string | null;
  scores: unknown[];
}

export interface RestInterview {
  id: string;
  status: string;
  provider: string;
  overall_score: number | null;
  turns: RestTurn[];
  report: { overall_score: number } | null;
}

export async function restInterview(page: Page, id: string): Promise<RestInterview> {
  const { status, body } = await apiFromPage<RestInterview>(page, `/api/interviews/${id}`);
  if (status !== 200) throw new Error(`GET /api/interviews/${id} → ${status}`);
  return body;
}

export function restTranscript(interview: RestInterview): ScreenTurn[] {
  return [...interview.turns]
    .sort((a, b) => a.index - b.index)
    .map((t) => ({ question: t.question.trim(), answer: t.answer?.trim() ?? null }));
}

export const ANSWERS = [
  'First, I would make every consumer idempotent by storing a processed-message key with a unique constraint. Then retries use exponential backoff with jitter, and after five attempts the message goes to a dead-letter queue that we alert on. For example, at my last job this cut duplicate charges to zero and p99 latency went from 800ms to 120ms.',
  'I would start with the headline: measure before changing anything. First, add structured logs with a request id, then RED metrics per endpoint, and finally traces across services. Because dashboards alone hide tail latency, I alert on p99 and error budget burn rather than averages.',
  'The trade-off is consistency against availability. First I would clarify the requirement with the product owner, then pick the simplest design that meets it, and finally write down what would make us revisit it. For example, we moved a report from synchronous to queued and cut timeouts by 90 percent.',
];

/**
 * Answers every question until the interview ends: waits for each question to finish streaming
 * (the countdown appears), types an answer, sends it with Ctrl+Enter or the button, and waits
 * for the server to accept it. `beforeAnswer` runs before each answer (for screenshots, reloads).
 */
export async function answerAll(
  page: Page,
  options: { beforeAnswer?: (turn: number) => Promise<void>; maxTurns?: number } = {},
): Promise<number> {
  let answered = 0;
  for (let i = 0; i < (options.maxTurns ?? 40); i++) {
    const state = await page.waitForFunction(
      () => {
        if (document.querySelector('[data-testid="finish"]')) return 'finished';
        const countdown = document.querySelector('[data-testid="countdown"]');
        const input = document.querySelector<HTMLTextAreaElement>('[data-testid="answer-input"]');
        return countdown && input ? 'listening' : null;
      },
      null,
      { timeout: 30_000, polling: 50 },
    );
    if ((await state.jsonValue()) === 'finished') return answered;
    await options.beforeAnswer?.(answered);
    // beforeAnswer may have reloaded the page or ended the interview.
    if (await page.getByTestId('finish').count()) return answered;
    await page.getByTestId('countdown').waitFor();
    const before = await page.getByTestId('turn-answer').count();
    const input = page.getByTestId('answer-input');
    await input.fill(ANSWERS[answered % ANSWERS.length]);
    if (answered % 2 === 0) {
      await input.press('Control+Enter');
    } else {
      await page.getByTestId('send-answer').click();
    }
    await page.waitForFunction(
      (n) => document.querySelectorAll('[data-testid="turn-answer"]').length > n,
      before,
      { timeout: 20_000 },
    );
    answered += 1;
  }
  throw new Error('the interview did not end');
}
