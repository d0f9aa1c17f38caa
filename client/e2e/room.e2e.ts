/**
 * The interview room as a candidate lives it, one test per part of it: the last answer's score in
 * view while the next question streams, the room on a phone (with the keyboard open), a time-out,
 * the server going away and coming back, a pause, and the room's accessibility.
 *
 * Most tests use a server of this file's own (`interview serve` via servers.ts, on the embedded
 * stores) whose offline interviewer speaks slowly enough to look at a question while it streams;
 * the server-down test starts, kills and restarts its own.
 */
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessibilityProblems } from './a11y';
import {
  freePort,
  kill,
  scratch,
  showLogsOnFailure,
  startServer,
  stopAll,
  unexpected,
  type ServerProcess,
} from './servers';
import {
  ANSWERS,
  DESKTOP,
  PHONE,
  answerAll,
  apiFromPage,
  launch,
  newPage,
  restInterview,
  shot,
  signUp,
  startInterview,
} from './support';

/** A phone with its on-screen keyboard open (the layout viewport that is left). */
const PHONE_KEYBOARD = { width: 390, height: 500 };
/** Per word: a question of ~40 words streams for ~2.5 s. */
const PACE_MS = '60';

function embedded(dataDir: string, pace = PACE_MS): Record<string, string> {
  return { INTERVIEW_DATABASE_URL: '', INTERVIEW_REDIS_URL: '', INTERVIEW_DATA_DIR: dataDir, INTERVIEW_OFFLINE_PACE_MS: pace };
}

let browser: Browser;
let slow: ServerProcess;

beforeAll(async () => {
  browser = await launch();
  slow = await startServer('room-slow', await freePort(), embedded(mkdtempSync(join(scratch, 'slow-'))));
});

afterAll(async () => {
  await browser?.close();
  await stopAll();
});

// --- helpers ---------------------------------------------------------------------------------

async function waitListening(page: Page, timeout = 60_000): Promise<void> {
  await page.waitForFunction(
    () => !!document.querySelector('[data-testid="countdown"]') && !!document.querySelector('[data-testid="answer-input"]'),
    null,
    { timeout, polling: 50 },
  );
}

/** Creates an interview over the API (for settings the form does not offer) and opens its room. */
async function openInterview(page: Page, body: Record<string, unknown>): Promise<string> {
  const created = await apiFromPage<{ id: string }>(page, '/api/interviews', {
    method: 'POST',
    body: { track: 'backend', level: 'mid', question_count: 2, ...body },
  });
  expect(created.status).toBe(201);
  await page.goto(`/interviews/${created.body.id}`);
  await page.getByTestId('transcript').waitFor();
  return created.body.id;
}

async function sideScroll(page: Page): Promise<number> {
  return page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
}

/** True when `selector`'s element is on screen and on top at its centre (not under a sticky bar). */
async function onScreen(page: Page, selector: string): Promise<boolean> {
  return page.evaluate((sel) => {
    const el = document.querySelector(sel);
    if (!el) return false;
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0 || r.top < 0 || r.bottom > window.innerHeight || r.left < 0 || r.right > window.innerWidth) {
      return false;
    }
    const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
    return !!hit && (el === hit || el.contains(hit));
  }, selector);
}

/**
 * Where the question being answered can be read now: its place in the transcript (wholly between
 * the room bar and the answer box), or the copy pinned to the answer box (on screen, on top, and
 * its end, the question proper, scrolled into view). Null when it cannot be read.
 */
async function questionReadable(page: Page): Promise<'transcript' | 'pin' | null> {
  return page.evaluate(() => {
    const turns = Array.from(document.querySelectorAll<HTMLElement>('[data-testid="turn"]'));
    const open = turns[turns.length - 1];
    const bubble = open?.querySelector('.bubble--interviewer');
    const text = (open?.querySelector('[data-testid="turn-question"]')?.textContent ?? '').trim();
    if (!bubble || !text) return null;
    const bar = document.querySelector('.room-bar')!.getBoundingClientRect();
    const dock = document.querySelector('.composer')!.getBoundingClientRect();
    const r = bubble.getBoundingClientRect();
    if (r.top >= Math.max(0, bar.bottom) - 2 && r.bottom <= Math.min(window.innerHeight, dock.top) + 2) return 'transcript';
    const pin = document.querySelector<HTMLElement>('[data-testid="question-pin-text"]');
    if (!pin || pin.textContent?.trim() !== text) return null;
    const p = pin.getBoundingClientRect();
    if (p.top < 0 || p.bottom > window.innerHeight || p.height < 20) return null;
    const hit = document.elementFromPoint(p.left + p.width / 2, p.top + p.height / 2);
    if (!hit || !pin.contains(hit)) return null;
    // The end of the question (what is asked) shows: scrolled to the bottom of the pin.
    return pin.scrollTop + pin.clientHeight >= pin.scrollHeight - 2 ? 'pin' : null;
  });
}

async function activeTestId(page: Page): Promise<string | null> {
  return page.evaluate(() => document.activeElement?.getAttribute('data-testid') ?? document.activeElement?.id ?? null);
}

/** Records the frames the page's interview sockets receive, and when each socket was opened. */
function recordSockets(page: Page) {
  const frames: { type: string; seq: number; turn?: number; text?: string; phase?: string; reason?: string }[] = [];
  const opened: number[] = [];
  page.on('websocket', (ws) => {
    if (!/\/ws\/interviews\//.test(ws.url())) return;
    opened.push(Date.now());
    ws.on('framereceived', ({ payload }) => {
      try {
        frames.push(JSON.parse(String(payload)));
      } catch {
        // not JSON
      }
    });
  });
  return { frames, opened };
}

let problems: string[] = [];
async function checkAccessible(page: Page, where: string): Promise<void> {
  const found = await accessibilityProblems(page, where);
  if (found) problems.push(found);
}

// --- the tests ---------------------------------------------------------------------------------

describe('the interview room', () => {
  it('(a) keeps the last answer’s score in view while the next question streams, and hands the focus to the finish card', async () => {
    showLogsOnFailure();
    for (const viewport of [DESKTOP, PHONE]) {
      const { context, page, errors } = await newPage(browser, viewport, slow.url);
      await signUp(page);
      await startInterview(page, { questions: 2 });
      await waitListening(page);
      expect(await page.title()).toMatch(/^Question 1 of 2 · Interview/);
      await page.getByTestId('answer-input').fill(ANSWERS[0]);
      await page.getByTestId('send-answer').click();

      // The score arrives, and the next turn starts streaming at once.
      await page.getByTestId('last-feedback').waitFor();
      await page.waitForFunction(() => !!document.querySelector('[data-turn="1"] .cursor'), null, { polling: 20 });
      const score = (await page.getByTestId('turn-feedback').first().locator('.score').textContent())?.trim();
      let samples = 0;
      while (await page.locator('[data-turn="1"] .cursor').count()) {
        expect(await onScreen(page, '[data-testid="last-feedback"]'), 'the last answer’s feedback is in view while the next question streams').toBe(true);
        expect((await page.getByTestId('last-feedback-score').textContent())?.trim()).toContain(score!);
        if (samples === 3) await shot(page, 'room-a-feedback-while-streaming', false);
        samples += 1;
        await page.waitForTimeout(150);
      }
      expect(samples, 'sampled while streaming').toBeGreaterThan(3);
      // The feedback in the transcript did not fold away either.
      await expect(page.getByTestId('turn-feedback').first().getAttribute('open')).resolves.not.toBeNull();

      // Expandable to the full feedback.
      await page.getByTestId('last-feedback-toggle').click();
      await page.locator('.last-answer__panel .criterion').first().waitFor();
      await shot(page, 'room-a-feedback-expanded', false);
      await page.getByTestId('last-feedback-toggle').click();

      await answerAll(page);
      await page.getByTestId('finish').waitFor();
      await page.waitForFunction(() => document.activeElement?.id === 'finish-title');
      await page.waitForTimeout(300); // the scroll into view settles
      expect(await onScreen(page, '#finish-title'), 'the finish card is in view').toBe(true);
      expect(await page.title()).toMatch(/^Finished · Interview/);
      await shot(page, 'room-a-finished', false);
      expect(unexpected(errors)).toEqual([]);
      await context.close();
    }
  });

  it('(b) on a phone, keeps the question in view while the answer is typed, with the keyboard open, and never scrolls sideways', async () => {
    showLogsOnFailure();
    const { context, page, errors } = await newPage(browser, PHONE, slow.url);
    await signUp(page);
    await startInterview(page, { questions: 2 });
    await waitListening(page);
    const input = page.getByTestId('answer-input');

    for (const [size, name] of [
      [PHONE, 'room-b-typing-390x844'],
      [PHONE_KEYBOARD, 'room-b-keyboard-390x500'],
    ] as const) {
      await page.setViewportSize(size);
      await input.click();
      await input.pressSequentially('I would start by ', { delay: 5 });
      await page.waitForTimeout(200);
      expect(await activeTestId(page)).toBe('answer-input');
      expect(await questionReadable(page), `the question is readable at ${size.width}×${size.height}`).not.toBeNull();
      expect(await sideScroll(page), `no sideways scroll at ${size.width}×${size.height}`).toBeLessThanOrEqual(0);
      await shot(page, name, false);
    }

    // Folded away, and shown again.
    if (await page.getByTestId('question-pin').count()) {
      await page.getByRole('button', { name: 'Hide the question' }).click();
      await page.getByTestId('show-question').click();
      expect(await questionReadable(page)).toBe('pin');
    }

    // The connection drops: the badge says so without widening the page, the question stays.
    await context.setOffline(true);
    await page.locator('.conn__badge--reconnecting').waitFor();
    await page.getByTestId('connection-status').waitFor();
    for (const [size, name] of [
      [PHONE_KEYBOARD, 'room-b-reconnecting-390x500'],
      [PHONE, 'room-b-reconnecting-390x844'],
      [{ width: 320, height: 568 }, 'room-b-reconnecting-320x568'],
    ] as const) {
      await page.setViewportSize(size);
      await input.click();
      await page.waitForTimeout(200);
      await shot(page, name, false);
      if (size === PHONE_KEYBOARD) await checkAccessible(page, 'room reconnecting, keyboard open (390×500)');
      expect(await sideScroll(page), `no sideways scroll while reconnecting at ${size.width}×${size.height}`).toBeLessThanOrEqual(0);
      expect(await questionReadable(page), `the question is readable while reconnecting at ${size.width}×${size.height}`).not.toBeNull();
    }
    await context.setOffline(false);
    await page.locator('.conn__badge--resumed, .conn__badge--connected').waitFor({ timeout: 20_000 });
    await expect(input.inputValue()).resolves.toContain('I would start by');
    expect(unexpected(errors)).toEqual([]);
    await context.close();
  });

  it('(c) when time runs out, clears the answer box and keeps the draft, marked as not sent', async () => {
    showLogsOnFailure();
    const { context, page, errors } = await newPage(browser, PHONE, slow.url);
    const frames = recordSockets(page).frames;
    await signUp(page);
    // 30 s is the shortest answer time the API allows (InterviewCreate.answer_time_limit_s).
    await openInterview(page, { answer_time_limit_s: 30, question_count: 2 });
    await waitListening(page);
    const draft = 'I would start by talking to five churned customers and looking at the funnel data to';
    await page.getByTestId('answer-input').fill(draft);
    await shot(page, 'room-c-before-timeout', false);

    await page.getByTestId('turn-outcome').first().waitFor({ timeout: 45_000 });
    await expect(page.getByTestId('turn-outcome').first().textContent()).resolves.toBe('Time ran out');
    await expect(page.getByTestId('answer-input').inputValue()).resolves.toBe('');
    const unsent = page.getByTestId('unsent-draft');
    await expect(unsent.locator('summary').textContent()).resolves.toContain('Not sent — time ran out');
    await expect(unsent.getAttribute('open')).resolves.toBeNull(); // collapsed…
    await shot(page, 'room-c-unsent-collapsed', false);
    await unsent.locator('summary').click();
    await expect(unsent.locator('.unsent__text').textContent()).resolves.toBe(draft); // … and readable

    // The interviewer's next words say that time ran out; Send waits for new words.
    await page.waitForFunction(() => (document.querySelector('[data-turn="1"] [data-testid="turn-question"]')?.textContent ?? '').length > 20);
    await expect(page.locator('[data-turn="1"] [data-testid="turn-question"]').textContent()).resolves.toMatch(/^We're out of time/);
    expect(frames.some((f) => f.type === 'answer.timeout' && f.turn === 0)).toBe(true);
    await waitListening(page);
    await expect(page.getByTestId('send-answer').isDisabled()).resolves.toBe(true);
    await expect(page.getByTestId('answer-input').inputValue()).resolves.toBe('');
    await shot(page, 'room-c-after-timeout', false);
    await page.setViewportSize(DESKTOP);
    await shot(page, 'room-c-after-timeout', false);
    expect(unexpected(errors)).toEqual([]);
    await context.close();
  });

  it('(d) while the server is down, counts down to the real next attempt, keeps typing, and comes back without repeating words', async () => {
    showLogsOnFailure();
    const port = await freePort();
    const env = embedded(mkdtempSync(join(scratch, 'down-')), '100');
    let server = await startServer('room-down-1', port, env);
    try {
      const { context, page, errors } = await newPage(browser, DESKTOP, server.url);
      const sockets = recordSockets(page);
      await signUp(page);
      await startInterview(page, { questions: 2 });
      await waitListening(page);
      await page.getByTestId('answer-input').fill(ANSWERS[0]);
      await page.getByTestId('send-answer').click();

      // A few words into the next question: the server dies.
      await page.waitForFunction(
        () => (document.querySelector('[data-turn="1"] [data-testid="turn-question"]')?.textContent ?? '').split(' ').length > 6,
        null,
        { polling: 20 },
      );
      const spokenBefore = (await page.locator('[data-turn="1"] [data-testid="turn-question"]').textContent())!.trim();
      await kill(server);
      const killedAt = Date.now();
      const status = page.locator('form.composer [data-testid="connection-status"]');
      await status.waitFor();

      // Typing goes on; sending waits, and says why.
      const offlineAnswer = 'Typed while the server was away: first I would measure, then change one thing at a time.';
      await page.getByTestId('answer-input').fill(offlineAnswer);
      await expect(page.getByTestId('send-answer').isDisabled()).resolves.toBe(true);
      await expect(status.textContent()).resolves.toContain('You can keep typing; Send works again once reconnected');
      await expect(page.getByTestId('send-answer').getAttribute('aria-describedby')).resolves.toBe(await status.getAttribute('id'));
      expect(await onScreen(page, 'form.composer [data-testid="connection-status"]'), 'the status is beside the answer box').toBe(true);

      // Sample the countdown for a while: per scheduled attempt it only goes down, and the
      // attempt comes when it says.
      const samples: { before: number; after: number; retryAt: number; seconds: number; text: string }[] = [];
      let shotTaken = false;
      while (Date.now() - killedAt < 9_000) {
        const before = Date.now();
        const sample = await page.evaluate(() => {
          const el = document.querySelector<HTMLElement>('[data-testid="reconnect-countdown"]');
          return el ? { retryAt: Number(el.dataset.retryAt || 0), seconds: Number(el.dataset.seconds || -1), text: el.textContent ?? '' } : null;
        });
        if (sample) samples.push({ before, after: Date.now(), ...sample });
        if (!shotTaken && sample && sample.seconds >= 2) {
          shotTaken = true;
          await shot(page, 'room-d-server-down', false);
        }
        await page.waitForTimeout(100);
      }
      const waits = new Map<number, typeof samples>();
      for (const s of samples) if (s.retryAt > 0 && s.seconds >= 0) waits.set(s.retryAt, [...(waits.get(s.retryAt) ?? []), s]);
      expect(waits.size, 'several attempts were scheduled').toBeGreaterThanOrEqual(3);
      for (const [retryAt, seen] of waits) {
        const shown = seen.map((s) => s.seconds);
        expect(shown, `the countdown to ${retryAt} never goes up`).toEqual([...shown].sort((a, b) => b - a));
        for (const s of seen) {
          // What it says is the real time left to the scheduled attempt, in whole seconds (read
          // between `before` and `after`, the number changing just after each second passes).
          const least = Math.max(0, Math.ceil((retryAt - s.after) / 1000));
          const most = Math.max(0, Math.ceil((retryAt - s.before + 100) / 1000));
          expect(s.seconds, `${s.seconds} s shown ${retryAt - s.after}…${retryAt - s.before} ms before the attempt`).toBeGreaterThanOrEqual(least);
          expect(s.seconds).toBeLessThanOrEqual(most);
          if (s.seconds > 0) expect(s.text).toBe(`Reconnecting in ${s.seconds} s`);
        }
        // The attempt happened when it said (a socket opened within 0.5 s of it).
        if (retryAt < Date.now() - 500) {
          expect(sockets.opened.some((t) => Math.abs(t - retryAt) < 500), `an attempt at ${retryAt}`).toBe(true);
        }
      }
      expect(await page.title()).toMatch(/^Reconnecting… · Interview/);
      for (const [size, name] of [
        [PHONE, 'room-d-server-down-390x844'],
        [PHONE_KEYBOARD, 'room-d-server-down-390x500'],
      ] as const) {
        await page.setViewportSize(size);
        await page.waitForTimeout(150);
        await shot(page, name, false);
        const wide = await page.evaluate(() =>
          Array.from(document.querySelectorAll('body *'))
            .filter((el) => el.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
            .map((el) => `${el.tagName}.${el.className} ${Math.round(el.getBoundingClientRect().right)}`)
            .slice(0, 12),
        );
        expect(await sideScroll(page), `no sideways scroll at ${size.width}×${size.height}: ${wide.join(', ')}`).toBeLessThanOrEqual(0);
      }
      await page.setViewportSize(DESKTOP);

      // Back: the page reconnects on its own, and the regenerated question is shown once.
      server = await startServer('room-down-2', port, env);
      await page.locator('.conn__badge--resumed, .conn__badge--connected').waitFor({ timeout: 20_000 });
      await waitListening(page);
      const ends = sockets.frames.filter((f) => f.type === 'turn.end' && f.turn === 1);
      const finalText = ends[ends.length - 1].text!.trim();
      const shownText = (await page.locator('[data-turn="1"] [data-testid="turn-question"]').textContent())!.trim();
      expect(shownText).toBe(finalText);
      expect(spokenBefore.length).toBeGreaterThan(0);
      // No words twice: the text is not the lost beginning followed by the new words.
      expect(shownText.indexOf(spokenBefore.slice(0, 30)), 'the lost beginning appears once at most').toBe(shownText.lastIndexOf(spokenBefore.slice(0, 30)));
      await expect(page.getByTestId('answer-input').inputValue()).resolves.toBe(offlineAnswer);
      await shot(page, 'room-d-back', false);

      // While offline in the listening phase, the clock says it keeps running.
      await context.setOffline(true);
      await page.getByTestId('clock-keeps-running').waitFor();
      await page.getByTestId('countdown').waitFor();
      await shot(page, 'room-d-offline-clock', false);
      await context.setOffline(false);
      await page.locator('.conn__badge--resumed, .conn__badge--connected').waitFor({ timeout: 20_000 });
      await page.getByTestId('send-answer').click();
      await page.waitForFunction(() => document.querySelectorAll('[data-testid="turn-answer"]').length >= 2, null, { timeout: 20_000 });
      await expect(page.locator('[data-testid="turn-answer"]').nth(1).textContent()).resolves.toBe(offlineAnswer);
      expect(unexpected(errors)).toEqual([]);
      await context.close();
    } finally {
      await kill(server);
    }
  });

  it('(e) pauses after the question, asks nothing while paused, and asks the next one on resume', async () => {
    showLogsOnFailure();
    for (const viewport of [DESKTOP, PHONE]) {
      const { context, page, errors } = await newPage(browser, viewport, slow.url);
      const sockets = recordSockets(page);
      await signUp(page);
      const id = await startInterview(page, { questions: 2 });
      await waitListening(page);
      if (viewport === DESKTOP) await checkAccessible(page, 'room listening (desktop)');

      // Asked for, cancelled, asked for again.
      await page.getByTestId('pause-button').click();
      await page.getByTestId('pause-requested').waitFor();
      await expect(page.getByTestId('pause-requested').textContent()).resolves.toContain(
        'Pause requested — the interview pauses after this question',
      );
      await shot(page, 'room-e-pause-requested', false);
      await page.getByTestId('pause-cancel').click();
      await page.getByTestId('pause-button').waitFor();
      await page.waitForTimeout(500);
      await page.getByTestId('pause-button').click();
      await page.getByTestId('pause-requested').waitFor();

      // The question (and any follow-up) is answered; then the interview pauses.
      let answered = 0;
      while (!(await page.getByTestId('paused').count())) {
        await page.waitForFunction(
          () => !!document.querySelector('[data-testid="paused"]') || !!document.querySelector('[data-testid="countdown"]'),
          null,
          { timeout: 60_000 },
        );
        if (await page.getByTestId('paused').count()) break;
        await page.getByTestId('answer-input').fill(ANSWERS[answered % ANSWERS.length]);
        await page.getByTestId('send-answer').click();
        answered += 1;
        await page.waitForFunction(
          (n) => document.querySelectorAll('[data-testid="turn-answer"]').length >= n,
          answered,
          { timeout: 20_000 },
        );
        expect(answered).toBeLessThan(5);
      }
      await expect(page.getByTestId('paused').textContent()).resolves.toContain('Paused.Take your time; no clock is running.');
      await page.waitForFunction(() => document.activeElement?.getAttribute('data-testid') === 'resume-button');
      expect(await page.title()).toMatch(/^Paused · Interview/);
      await expect(page.getByTestId('countdown').count()).resolves.toBe(0);
      const turnsPaused = await page.getByTestId('turn').count();
      const pausedFrame = sockets.frames.findIndex((f) => f.type === 'interview.paused');
      expect(pausedFrame).toBeGreaterThanOrEqual(0);
      await shot(page, 'room-e-paused', false);
      if (viewport === PHONE) {
        await page.setViewportSize(PHONE_KEYBOARD);
        await shot(page, 'room-e-paused-390x500', false);
        await page.setViewportSize(PHONE);
      }
      if (viewport === DESKTOP) await checkAccessible(page, 'room paused (desktop)');
      else await checkAccessible(page, 'room paused (phone)');

      // Nothing is asked while paused, not even after a reload (the pause is restored).
      await page.waitForTimeout(2_500);
      expect(sockets.frames.slice(pausedFrame).filter((f) => f.type === 'turn.start')).toEqual([]);
      await page.reload();
      await page.getByTestId('paused').waitFor();
      await page.waitForFunction(() => document.activeElement?.getAttribute('data-testid') === 'resume-button');
      await expect(page.getByTestId('turn').count()).resolves.toBe(turnsPaused);

      await page.getByTestId('resume-button').click();
      await waitListening(page);
      await expect(page.getByTestId('question-progress').textContent()).resolves.toBe('Question 2 of 2');
      await page.waitForFunction(() => document.activeElement?.getAttribute('data-testid') === 'answer-input');
      const rest = await restInterview(page, id);
      expect((rest as unknown as { pauses: number }).pauses).toBe(1);
      await shot(page, 'room-e-resumed', false);

      await answerAll(page);
      await page.getByTestId('finish').waitFor();
      await checkAccessible(page, `room finished (${viewport === DESKTOP ? 'desktop' : 'phone'})`);
      // The report says the candidate paused, and that no clock ran meanwhile.
      await page.getByRole('link', { name: 'View report' }).click();
      await expect(page.getByTestId('pauses').textContent()).resolves.toMatch(
        /^1 pause between questions \(\d+ s\); no answer clock ran while paused$/,
      );
      expect(unexpected(errors)).toEqual([]);
      await context.close();
    }
  });

  it('(f) has no serious or critical accessibility violation in the states above, and an h1', async () => {
    // The checks ran in (e) (listening, paused, finished); this reports them, with the heading.
    const { context, page } = await newPage(browser, PHONE, slow.url);
    await signUp(page);
    await startInterview(page, { questions: 1 });
    await waitListening(page);
    await expect(page.locator('h1').count()).resolves.toBe(1);
    await expect(page.locator('h1').textContent()).resolves.toMatch(/interview$/);
    expect(await activeTestId(page), 'the first question ends with the cursor in the answer box').toBe('answer-input');
    await checkAccessible(page, 'room listening (phone)');
    await context.setOffline(true);
    await page.getByTestId('connection-status').waitFor();
    await checkAccessible(page, 'room reconnecting (phone)');
    await context.setOffline(false);
    await context.close();
    expect(problems.join('\n\n')).toBe('');
  });
});
