/**
 * Every screen at desktop (1280×800) and phone (390×844) size, including empty, loading and
 * error states, saved under test-artifacts/screenshots/ to be looked at.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DESKTOP,
  PHONE,
  answerAll,
  apiFromPage,
  launch,
  newPage,
  shot,
  signUp,
  startInterview,
  uniqueEmail,
} from './support';

let browser: Browser;

beforeAll(async () => {
  browser = await launch();
});

afterAll(async () => {
  await browser?.close();
});

describe.each([
  ['desktop', DESKTOP],
  ['phone', PHONE],
] as const)('screens at %s size', (_name, viewport) => {
  it('render without overflow, in every state', async () => {
    const { context, page, errors } = await newPage(browser, viewport);
    const noHorizontalOverflow = async (where: string) => {
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow, `${where} scrolls sideways`).toBeLessThanOrEqual(0);
    };

    // Sign in: empty, then a wrong password.
    await page.goto('/login');
    await page.getByRole('heading', { name: 'Welcome back' }).waitFor();
    await shot(page, '10-login');
    await page.getByLabel('Email').fill(uniqueEmail('nobody'));
    await page.getByLabel('Password', { exact: true }).fill('wrong-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').waitFor();
    await expect(page.getByRole('alert').textContent()).resolves.toContain('do not match');
    await shot(page, '11-login-error');
    await noHorizontalOverflow('login');

    // Forgot password: the link from sign-in, the request, the page a mailed link opens.
    await page.getByRole('link', { name: 'Forgot password?' }).click();
    await page.getByRole('heading', { name: 'Reset your password' }).waitFor();
    await shot(page, '11b-forgot-password');
    await page.getByLabel('Email').fill(uniqueEmail('forgetful'));
    await page.locator('form button[type="submit"]').click();
    await page.getByText('Check your email').waitFor();
    await shot(page, '11c-forgot-password-sent');
    await noHorizontalOverflow('forgot password');
    await page.goto('/reset-password?token=not-a-real-token');
    await page.getByLabel('New password', { exact: true }).waitFor();
    await shot(page, '11d-reset-password');
    await noHorizontalOverflow('reset password');

    await page.goto('/signup');
    await page.getByLabel('Password', { exact: true }).fill('short');
    await shot(page, '12-signup');
    await signUp(page);
    await page.getByText('Your first mock interview is a few clicks away').waitFor();
    await shot(page, '13-dashboard-empty');
    await noHorizontalOverflow('empty dashboard');

    // Loading and error states: hold, then fail, the interviews request.
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => (release = r));
    await page.route('**/api/interviews?*', async (route) => {
      await held;
      await route.fulfill({ status: 503, contentType: 'application/json', body: JSON.stringify({ code: 'unavailable', detail: 'The database is not answering.' }) });
    });
    await page.goto('/history');
    await page.locator('.skeleton').first().waitFor();
    await shot(page, '14-history-loading', false);
    release();
    await page.getByText('Could not load your interviews').waitFor({ timeout: 30_000 });
    await shot(page, '15-history-error');
    await page.unroute('**/api/interviews?*');
    await page.getByRole('button', { name: 'Try again' }).click();
    await page.getByText('No interviews yet').waitFor();
    await shot(page, '16-history-empty');

    await page.goto('/new');
    await page.getByRole('heading', { name: 'New interview' }).waitFor();
    await page.getByText(/you have 3/).waitFor();
    await shot(page, '17-new-interview');
    await noHorizontalOverflow('new interview');

    // The interview room: streaming, then answering, then done.
    const id = await startInterview(page, { questions: 1, track: 'behavioral', level: 'senior' });
    await page.getByTestId('turn-question').first().waitFor();
    await shot(page, '18-room-streaming', false);
    await answerAll(page, {
      beforeAnswer: async (turn) => {
        if (turn === 0) {
          await page.getByTestId('answer-input').fill('I would start with the outcome, then walk through what I did and why, and finally what I learned.');
          await shot(page, '19-room-listening', false);
          await noHorizontalOverflow('interview room');
          // Network loss: the badge says so, the draft stays, and it comes back by itself.
          await context.setOffline(true);
          await page.locator('.conn__badge--reconnecting').waitFor();
          await page.waitForTimeout(1200);
          await shot(page, '19b-room-reconnecting', false);
          await noHorizontalOverflow('reconnecting room');
          await context.setOffline(false);
          await page.locator('.conn__badge--resumed, .conn__badge--connected').waitFor({ timeout: 20_000 });
          await expect(page.getByTestId('answer-input').inputValue()).resolves.toContain('I would start with the outcome');
        }
      },
    });
    await page.getByTestId('finish').waitFor();
    await shot(page, '20-room-finished');
    await page.goto(`/interviews/${id}/report`);
    await page.getByTestId('overall-score').waitFor();
    await shot(page, '21-report');
    await shot(page, '21-report-top', false);
    await noHorizontalOverflow('report');

    await page.goto('/history');
    await page.getByTestId('history-list').waitFor();
    await shot(page, '22-history');
    await page.goto('/');
    await page.locator('.chart__canvas .recharts-surface').first().waitFor();
    await shot(page, '23-dashboard');
    await noHorizontalOverflow('dashboard');

    // The account page, from the main navigation.
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Account' }).click();
    await page.getByRole('heading', { name: 'Account' }).waitFor();
    await shot(page, '23b-account');
    await noHorizontalOverflow('account');

    // Out of credits: spend the rest, then try again (402).
    for (let i = 0; i < 5; i++) {
      const { status } = await apiFromPage(page, '/api/interviews', { method: 'POST', body: { track: 'product', level: 'junior', question_count: 1 } });
      if (status === 402) break;
    }
    await page.goto('/new');
    await page.getByText('You are out of credits').waitFor();
    await shot(page, '24-new-out-of-credits');

    // Unknown interview and unknown page.
    await page.goto('/interviews/00000000-0000-4000-8000-000000000000');
    await page.getByText('Interview not found').waitFor();
    await shot(page, '25-room-not-found');
    await page.goto('/no/such/page');
    await page.getByText('Page not found').waitFor();
    await shot(page, '26-not-found');

    // 503 and 404 were provoked above, and so were the failed reconnects while offline.
    expect(errors.filter((e) => !/503|404|ERR_INTERNET_DISCONNECTED/.test(e))).toEqual([]);
    await context.close();
  });
});
