// Time to interactive of the interview room in headless Chromium, against a running server.
// Usage: E2E_BASE_URL=http://127.0.0.1:8011 node scripts/measure-room.mjs [runs]
// Prints, per run and as a median: from navigation start to the first interviewer words on
// screen, and to the answer box being usable (visible, enabled, focusable).
import { chromium } from 'playwright-core';

const base = (process.env.E2E_BASE_URL ?? '').replace(/\/+$/, '');
if (!base) throw new Error('set E2E_BASE_URL');
const runs = Number(process.argv[2] ?? 5);

async function api(path, body, token) {
  const response = await fetch(base + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
  return response.json();
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--no-first-run'], // Playwright gives each launch a fresh profile
});
const results = [];
try {
  for (let run = 0; run < runs; run += 1) {
    const auth = await api('/api/auth/register', {
      email: `tti-${Date.now()}-${run}@example.com`, password: 'measure-the-room',
    });
    const interview = await api('/api/interviews', { track: 'backend', level: 'mid', question_count: 1 }, auth.access_token);
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    await context.addInitScript((session) => {
      localStorage.setItem('interview.session', JSON.stringify(session));
    }, { accessToken: auth.access_token, refreshToken: auth.refresh_token, expiresAt: Date.now() + 3_600_000 });
    const page = await context.newPage();
    await page.goto(`${base}/interviews/${interview.id}`);
    await page.locator('.bubble').first().waitFor();
    const firstWords = await page.evaluate(() => performance.now());
    const box = page.locator('textarea.composer__input');
    await box.waitFor({ state: 'visible' });
    await page.waitForFunction(() => {
      const el = document.querySelector('textarea.composer__input');
      return el instanceof HTMLTextAreaElement && !el.disabled;
    });
    const interactive = await page.evaluate(() => performance.now());
    results.push({ firstWords, interactive });
    console.log(`run ${run + 1}: first words ${firstWords.toFixed(0)} ms, answer box ready ${interactive.toFixed(0)} ms`);
    await context.close();
  }
} finally {
  await browser.close();
}
const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`median: first words ${median(results.map((r) => r.firstWords)).toFixed(0)} ms, ` +
  `answer box ready ${median(results.map((r) => r.interactive)).toFixed(0)} ms`);
