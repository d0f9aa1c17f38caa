/**
 * axe-core on every page a candidate sees outside the interview room, at desktop and phone size:
 * no serious or critical violation on the landing page, sign-in, sign-up, the dashboard with a
 * chart, a new interview, history, a report, the shared report, the account and the prices.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessibilityProblems } from './a11y';
import { DESKTOP, PHONE, answerAll, apiFromPage, launch, newPage, signUp, startInterview } from './support';

let browser: Browser;

beforeAll(async () => {
  browser = await launch();
});

afterAll(async () => {
  await browser?.close();
});

/** Every page's problems, so that one run reports them all. */
let problems: string[] = [];

/** Opens `path`, waits for what says the page is ready, and runs axe on it. */
async function check(page: Page, path: string, ready: (page: Page) => Promise<unknown>, where: string): Promise<void> {
  await page.goto(path);
  await ready(page);
  const found = await accessibilityProblems(page, `${where} (${path})`);
  if (found) problems.push(found);
}

describe.each([
  ['desktop', DESKTOP],
  ['phone', PHONE],
] as const)('accessibility at %s size', (_name, viewport) => {
  it("finds no serious or critical violation on the candidate's pages", async () => {
    problems = [];
    const { context, page, errors } = await newPage(browser, viewport);

    await check(page, '/', (p) => p.getByTestId('landing').waitFor(), 'landing page');
    await check(page, '/login', (p) => p.getByRole('heading', { name: 'Welcome back' }).waitFor(), 'sign-in');
    await check(page, '/signup', (p) => p.getByRole('heading', { name: 'Create your account' }).waitFor(), 'sign-up');

    // A finished interview, shared, so the dashboard has a chart and the report pages exist.
    await signUp(page);
    const id = await startInterview(page, { questions: 1 });
    await answerAll(page);
    await page.getByTestId('finish').waitFor();
    const share = await apiFromPage<{ token: string; path: string }>(page, `/api/interviews/${id}/share`, { method: 'POST' });
    expect(share.status).toBe(200);

    await check(page, '/', (p) => p.locator('.chart__canvas .recharts-surface').first().waitFor(), 'dashboard');
    await check(page, '/new', (p) => p.getByRole('heading', { name: 'New interview' }).waitFor(), 'new interview');
    await check(page, '/history', (p) => p.getByTestId('history-list').waitFor(), 'history');
    await check(
      page,
      `/interviews/${id}/report`,
      (p) => p.locator('.report-hero .recharts-surface').first().waitFor(),
      'report',
    );
    await check(page, '/account', (p) => p.getByTestId('purchases').waitFor(), 'account');
    await check(page, '/credits', (p) => p.getByRole('heading', { name: 'Buy credits' }).waitFor(), 'credits');

    // The shared report as a visitor reads it.
    const visitor = await newPage(browser, viewport);
    await check(
      visitor.page,
      share.body.path,
      (p) => p.locator('.report-hero .recharts-surface').first().waitFor(),
      'shared report',
    );
    await visitor.context.close();

    if (problems.length) throw new Error(problems.join('\n\n'));
    expect(errors).toEqual([]);
    await context.close();
  });
});
