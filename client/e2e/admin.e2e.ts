/**
 * The admin console in a real browser, beside a candidate in another browser context: the
 * administrator finds the candidate's live interview in the monitor, watches it, and sends a
 * hidden note; the interviewer's next turn is about the note's topic, the candidate's page
 * never shows the note, and the audit log lists it. Every admin screen is photographed on a
 * desktop and a phone.
 */
import { execFileSync } from 'node:child_process';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INTERVIEW_BIN } from './servers';
import { DESKTOP, PASSWORD, PHONE, launch, newPage, shot, signUp, startInterview, uniqueEmail } from './support';

let browser: Browser;

beforeAll(async () => {
  browser = await launch();
});

afterAll(async () => {
  await browser?.close();
});

/** An administrator made with the real CLI on the server's own database. */
function createAdmin(): string {
  const email = uniqueEmail('admin');
  execFileSync(INTERVIEW_BIN, ['create-admin', email, '--password', PASSWORD], { env: process.env });
  return email;
}

async function signIn(page: Page, email: string): Promise<void> {
  await page.goto('/login');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((url) => url.pathname === '/');
}

const NOTE = 'probe deeper on connection pooling';

describe('an administrator', () => {
  it('watches a live interview and steers it with a hidden note the candidate never sees', async () => {
    const candidate = await newPage(browser);
    await signUp(candidate.page);
    const id = await startInterview(candidate.page, { questions: 2 });
    await candidate.page.getByTestId('answer-input').waitFor();

    const admin = await newPage(browser);
    const email = createAdmin();
    await signIn(admin.page, email);
    await admin.page.getByTestId('nav-admin').click();
    const row = admin.page.locator(`[data-testid="monitor-row"][data-interview-id="${id}"]`);
    await row.waitFor({ timeout: 15_000 });
    await shot(admin.page, 'admin-01-monitor');
    await row.getByTestId('monitor-watch').click();
    await admin.page.getByTestId('watch-transcript').waitFor();
    await admin.page.getByTestId('watch-question').first().waitFor();

    await admin.page.getByTestId('steer-note-input').fill(NOTE);
    await admin.page.getByTestId('steer-note-send').click();
    await admin.page.locator('[data-testid="steer-status"][data-state="acked"]').waitFor();
    await shot(admin.page, 'admin-02-watch');

    // The candidate answers; the interviewer's next turn follows up on the note's topic.
    const input = candidate.page.getByTestId('answer-input');
    await input.fill('I would put a cache in front of the database and measure the hit rate.');
    await candidate.page.getByTestId('send-answer').click();
    await candidate.page.waitForFunction(
      () => Array.from(document.querySelectorAll('[data-testid="turn-question"]')).some((q) => /connection pooling/i.test(q.textContent ?? '')),
      null,
      { timeout: 30_000 },
    );
    await expect(candidate.page.locator('body').textContent()).resolves.not.toContain(NOTE);
    // The watcher sees the same turn.
    await admin.page.waitForFunction(
      () => Array.from(document.querySelectorAll('[data-testid="watch-question"]')).some((q) => /connection pooling/i.test(q.textContent ?? '')),
      null,
      { timeout: 30_000 },
    );

    // The audit log lists the note against this interview.
    await admin.page.getByTestId('nav-admin').click();
    await admin.page.getByTestId('admin-nav-audit').click();
    await admin.page.locator(`[data-testid="audit-row"][data-action="interview.note"][data-target-id="${id}"]`).waitFor();
    await shot(admin.page, 'admin-03-audit');
    expect(candidate.errors).toEqual([]);
    expect(admin.errors).toEqual([]);
    await candidate.context.close();
    await admin.context.close();
  });

  it('every admin screen, on a desktop and a phone, fits its width', async () => {
    const email = createAdmin();
    for (const viewport of [DESKTOP, PHONE]) {
      const { context, page, errors } = await newPage(browser, viewport);
      await signIn(page, email);
      const screens: [string, string][] = [
        ['/admin', 'admin-monitor'],
        ['/admin/metrics', 'admin-metrics'],
        ['/admin/users', 'admin-users'],
        ['/admin/questions', 'admin-questions'],
        ['/admin/audit', 'admin-audit'],
      ];
      for (const [path, name] of screens) {
        await page.goto(path);
        await page.getByTestId('admin-nav').waitFor();
        await page.waitForLoadState('networkidle');
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        expect(overflow, `${path} at ${viewport.width} px`).toBeLessThanOrEqual(0);
        await shot(page, `${name}`);
      }
      // A user's page, from the users list.
      await page.goto('/admin/users');
      await page.getByTestId('users-link').first().click();
      await page.getByTestId('user-email').waitFor();
      await shot(page, 'admin-user');
      expect(errors).toEqual([]);
      await context.close();
    }
  });
});
