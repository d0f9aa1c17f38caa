import type { Browser, Page, WebSocketRoute } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  answerAll,
  launch,
  newPage,
  restInterview,
  restTranscript,
  screenTranscript,
  shot,
  signUp,
  startInterview,
} from './support';

let browser: Browser;

beforeAll(async () => {
  browser = await launch();
});

afterAll(async () => {
  await browser?.close();
});

/** Routes the interview socket through the test so frames can be watched and the line cut. */
async function tapSocket(
  page: Page,
  onServerFrame: (frame: { type: string; seq: number; turn?: number }, page: WebSocketRoute, n: number) => void,
) {
  let connections = 0;
  await page.routeWebSocket(/\/ws\/interviews\//, (ws) => {
    connections += 1;
    const server = ws.connectToServer();
    const n = connections;
    server.onMessage((message) => {
      ws.send(message);
      try {
        onServerFrame(JSON.parse(String(message)), ws, n);
      } catch {
        // not JSON: nothing to look at
      }
    });
  });
  return { connections: () => connections };
}

describe('a candidate', () => {
  it('signs up, practises a 2-question interview, reads the report, and sees it in history and on the dashboard', async () => {
    const { context, page, errors } = await newPage(browser);
    await signUp(page);
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
    await page.getByText('Your first mock interview is a few clicks away').waitFor();
    await shot(page, '01-dashboard-empty');

    const id = await startInterview(page, { track: 'backend', level: 'mid', questions: 2, topics: 'queues, observability' });
    // The question streams in: the words appear before the interviewer has finished.
    await page.getByTestId('turn-question').first().waitFor();
    await page.waitForFunction(() => (document.querySelector('[data-testid="turn-question"]')?.textContent ?? '').length > 20);
    await expect(page.getByTestId('question-progress').textContent()).resolves.toBe('Question 1 of 2');
    await expect(page.getByText('Offline interviewer').first().isVisible()).resolves.toBe(true);
    await expect(page.locator('.conn__badge').textContent()).resolves.toMatch(/Connected|Resumed/);

    let shotTaken = false;
    const answered = await answerAll(page, {
      beforeAnswer: async (turn) => {
        if (turn === 0) {
          // Keyboard only: Tab from the top of the page reaches the answer box.
          await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
          let reached = false;
          for (let i = 0; i < 40 && !reached; i++) {
            await page.keyboard.press('Tab');
            reached = await page.evaluate(() => document.activeElement?.getAttribute('data-testid') === 'answer-input');
          }
          expect(reached).toBe(true);
        }
        if (turn === 1 && !shotTaken) {
          shotTaken = true;
          await shot(page, '03-room-feedback', false);
        }
      },
    });
    expect(answered).toBeGreaterThanOrEqual(2);

    // Every answer was scored, on screen.
    await page.getByTestId('finish').waitFor();
    await expect(page.getByTestId('turn-feedback').count()).resolves.toBe(answered);
    await shot(page, '04-room-finished');

    const rest = await restInterview(page, id);
    expect(rest.status).toBe('finished');
    expect(await screenTranscript(page)).toEqual(restTranscript(rest));

    await page.getByRole('link', { name: 'View report' }).click();
    await page.waitForURL(/\/report$/);
    await page.getByTestId('overall-score').waitFor();
    await expect(page.getByTestId('overall-score').textContent()).resolves.toContain(
      `${rest.report!.overall_score.toFixed(1)} out of 5`,
    );
    await expect(page.getByTestId('provider').textContent()).resolves.toBe('Offline interviewer');
    await expect(page.getByTestId('report-turn').count()).resolves.toBe(rest.turns.length);
    expect(await page.locator('mark.evidence').count()).toBeGreaterThan(0);
    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Download Markdown' }).click();
    expect((await download).suggestedFilename()).toMatch(/^interview-report-backend-mid-\d{4}-\d{2}-\d{2}\.md$/);
    await shot(page, '05-report');
    await page.emulateMedia({ media: 'print' });
    await shot(page, '05-report-print');
    await page.emulateMedia({ media: 'screen' });

    // Sharing is off until asked for; the link works signed out, and stops when revoked.
    await page.getByRole('button', { name: 'Create share link' }).click();
    const shareUrl = await page.getByLabel('Share link').inputValue();
    expect(shareUrl).toMatch(/\/shared\/[\w-]{24,}$/);
    const visitor = await browser.newContext();
    const visitorPage = await visitor.newPage();
    await visitorPage.goto(shareUrl);
    await visitorPage.getByTestId('shared-note').waitFor();
    await expect(visitorPage.getByTestId('report-turn').count()).resolves.toBe(rest.turns.length);
    await shot(visitorPage, '05-report-shared');
    await page.getByRole('button', { name: 'Stop sharing' }).click();
    await page.getByRole('button', { name: 'Create share link' }).waitFor();
    await visitorPage.reload();
    await visitorPage.getByText('This report is not shared').waitFor();
    await visitor.close();

    await page.getByRole('link', { name: 'History' }).first().click();
    await page.waitForURL(/\/history$/);
    await page.getByTestId('history-list').waitFor();
    await expect(page.getByTestId('history-list').locator('li').count()).resolves.toBe(1);
    await expect(page.getByTestId('history-list').textContent()).resolves.toContain('Finished');
    await page.getByLabel('Status').selectOption('abandoned');
    await page.getByText('No interviews match these filters').waitFor();
    await page.getByLabel('Status').selectOption('finished');
    await page.getByLabel('Track').selectOption('backend');
    await expect(page.getByTestId('history-list').locator('li').count()).resolves.toBe(1);
    await shot(page, '06-history');

    await page.getByRole('link', { name: 'Dashboard', exact: true }).click();
    await page.getByRole('heading', { name: 'Progress' }).waitFor();
    await page.locator('.chart__canvas .recharts-surface').first().waitFor();
    await expect(page.locator('.chart table').textContent()).resolves.toContain(rest.report!.overall_score.toFixed(1));
    await page.getByRole('heading', { name: 'What to practise' }).waitFor();
    await shot(page, '07-dashboard');

    expect(errors).toEqual([]);
    await context.close();
  });

  it('keeps an exact transcript when the connection is cut mid-stream', async () => {
    const { context, page, errors } = await newPage(browser);
    await signUp(page);
    const cuts: string[] = [];
    const deltasPerConnection = new Map<number, number>();
    const tap = await tapSocket(page, (frame, ws, n) => {
      if (frame.type !== 'turn.delta') return;
      const seen = (deltasPerConnection.get(n) ?? 0) + 1;
      deltasPerConnection.set(n, seen);
      // First cut: a few words into the first question. Second: mid-stream on a later turn.
      if (n === 1 && seen === 3) {
        cuts.push(`1012 after seq ${frame.seq}`);
        void ws.close({ code: 1012, reason: 'test: service restart' });
      } else if (n === 2 && frame.turn !== undefined && frame.turn >= 1 && seen >= 2 && cuts.length === 1) {
        cuts.push(`4503 after seq ${frame.seq}`);
        void ws.close({ code: 4503, reason: 'test: slow consumer' });
      }
    });
    const id = await startInterview(page, { questions: 2 });
    await page.waitForFunction(() => document.querySelector('.conn__badge--reconnecting, .conn__badge--resumed'));
    await answerAll(page);
    expect(cuts).toHaveLength(2);
    expect(tap.connections()).toBeGreaterThanOrEqual(3);

    const rest = await restInterview(page, id);
    const screen = await screenTranscript(page);
    expect(screen).toEqual(restTranscript(rest));
    // No word was shown twice: each question on screen is exactly the server's text.
    for (const turn of screen) expect(rest.turns.some((t) => t.question.trim() === turn.question)).toBe(true);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('resumes after a page reload mid-interview and finishes', async () => {
    const { context, page, errors } = await newPage(browser);
    await signUp(page);
    let reloadNow: (() => void) | null = null;
    const midStream = new Promise<void>((resolve) => (reloadNow = resolve));
    await tapSocket(page, (frame, _ws, n) => {
      // Reload while the second turn is streaming, on the first connection.
      if (n === 1 && frame.type === 'turn.delta' && (frame.turn ?? 0) >= 1) reloadNow?.();
    });
    const id = await startInterview(page, { questions: 2 });
    let reloaded = false;
    await answerAll(page, {
      beforeAnswer: async (turn) => {
        if (turn !== 0 || reloaded) return;
        reloaded = true;
        // Answer the first question, then reload while the next one is being spoken.
        await page.getByTestId('answer-input').fill('First, I keep consumers idempotent with a dedupe key; then retries back off; finally a dead-letter queue.');
        await page.getByTestId('send-answer').click();
        await midStream;
        await page.reload();
        await page.getByTestId('transcript').waitFor();
        await shot(page, '02-room-after-reload', false);
      },
    });
    expect(reloaded).toBe(true);
    const rest = await restInterview(page, id);
    expect(rest.status).toBe('finished');
    expect(await screenTranscript(page)).toEqual(restTranscript(rest));
    expect(errors).toEqual([]);
    await context.close();
  });

  it('ends early: the open question is recorded as skipped, on screen as over REST', async () => {
    const { context, page, errors } = await newPage(browser);
    await signUp(page);
    const id = await startInterview(page, { questions: 3 });
    await answerAll(page, {
      beforeAnswer: async (turn) => {
        if (turn !== 1) return;
        await page.getByRole('button', { name: 'End interview' }).click();
        const dialog = page.getByRole('dialog', { name: 'End the interview now?' });
        await dialog.waitFor();
        await shot(page, '08-room-end-dialog', false);
        await dialog.getByRole('button', { name: 'End and get report' }).click();
        await page.getByTestId('finish').waitFor();
      },
    });
    const rest = await restInterview(page, id);
    expect(rest.status).toBe('finished');
    expect(rest.turns.at(-1)?.outcome).toBe('skipped');
    expect(await screenTranscript(page)).toEqual(restTranscript(rest));
    await expect(page.getByTestId('turn-outcome').last().textContent()).resolves.toBe('Skipped');
    expect(errors).toEqual([]);
    await context.close();
  });
});
