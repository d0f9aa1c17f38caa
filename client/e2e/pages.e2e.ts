/**
 * The candidate's pages as a new user meets them: the landing page, sign-up's email check, the
 * report opening at the top after the room, titles that follow the page, a dashboard at zero
 * credits, the shared report, and progress per track. Each changed screen is photographed at
 * desktop and phone size (test-artifacts/screenshots/ux-*).
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectAccessible } from './a11y';
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

/** A screenshot at desktop size, then at phone size, then back. */
async function shotBoth(page: Page, name: string, fullPage = true): Promise<void> {
  const size = page.viewportSize() ?? DESKTOP;
  await page.setViewportSize(DESKTOP);
  await shot(page, name, fullPage);
  await page.setViewportSize(PHONE);
  await shot(page, name, fullPage);
  await page.setViewportSize(size);
}

async function noSidewaysScroll(page: Page, where: string): Promise<void> {
  for (const viewport of [DESKTOP, PHONE]) {
    await page.setViewportSize(viewport);
    // Charts follow the new width a frame or two later.
    await expect
      .poll(() => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth), {
        message: `${where} scrolls sideways at ${viewport.width}px`,
        timeout: 3000,
      })
      .toBeLessThanOrEqual(0);
  }
  await page.setViewportSize(DESKTOP);
}

/** Finishes a one-question interview on `track` in the room; returns its id. */
async function finishInterview(page: Page, track = 'backend', level = 'mid'): Promise<string> {
  const id = await startInterview(page, { questions: 1, track, level });
  await answerAll(page);
  await page.getByTestId('finish').waitFor();
  return id;
}

/** Marks the document, so a test can tell a full page load (the mark is gone) from a route change. */
async function markDocument(page: Page): Promise<void> {
  await page.evaluate(() => {
    (window as unknown as { __sameDocument?: boolean }).__sameDocument = true;
  });
}

async function sameDocument(page: Page): Promise<boolean> {
  return page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument === true);
}

const title = (page: Page) => page.title();

describe('the candidate pages', () => {
  it('opens the report at the top after the interview ends in the room', async () => {
    const { context, page, errors } = await newPage(browser, DESKTOP);
    await signUp(page);
    await startInterview(page, { questions: 2 });
    await answerAll(page);
    await page.getByTestId('finish').waitFor();
    // Where the room leaves the reader: at its end.
    await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
    expect(await page.evaluate(() => window.scrollY)).toBeGreaterThan(0);

    await page.getByRole('link', { name: 'View report' }).click();
    await page.getByTestId('overall-score').waitFor();
    expect(await page.evaluate(() => window.scrollY)).toBe(0);
    const score = await page.getByTestId('overall-score').boundingBox();
    expect(score && score.y + score.height).toBeLessThanOrEqual(DESKTOP.height);
    // How the overall score is made: main questions counted apart from their follow-ups.
    await expect(page.getByTestId('score-making-summary').textContent()).resolves.toMatch(
      /^2 of 2 main questions answered(, with \d+ follow-ups?)?$/,
    );
    await page.getByText('How this score is made').click();
    await expect(page.getByTestId('score-making').textContent()).resolves.toContain("The mean of the questions' scores");
    await shotBoth(page, 'ux-report-from-room', false);

    // Back and forward keep their places: down the report, to history, and back.
    await page.evaluate(() => window.scrollTo(0, 600));
    await page.waitForTimeout(100);
    await page.getByRole('link', { name: 'History' }).first().click();
    await page.getByTestId('history-list').waitFor();
    expect(await page.evaluate(() => window.scrollY)).toBe(0);
    await page.goBack();
    await page.getByTestId('overall-score').waitFor();
    await expect.poll(() => page.evaluate(() => window.scrollY)).toBe(600);

    expect(errors).toEqual([]);
    await context.close();
  });

  it('titles every page after what it shows, and its state', async () => {
    const { context, page, errors } = await newPage(browser, DESKTOP);
    await page.goto('/');
    await page.getByTestId('landing').waitFor();
    expect(await title(page)).toBe('Practise job interviews with scored feedback · Mock Interview');
    await page.goto('/login');
    await expect.poll(() => title(page)).toBe('Sign in · Mock Interview');
    await page.goto('/signup');
    await expect.poll(() => title(page)).toBe('Create account · Mock Interview');

    // A shared report: loading, then not shared.
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => (release = r));
    await page.route('**/api/shared/**', async (route) => {
      await held;
      await route.continue();
    });
    await page.goto('/shared/not-a-real-token');
    await expect.poll(() => title(page)).toBe('Loading shared report… · Mock Interview');
    release();
    await page.getByText('This report is not shared').waitFor();
    expect(await title(page)).toBe('Report not shared · Mock Interview');
    await page.unroute('**/api/shared/**');

    await signUp(page);
    await expect.poll(() => title(page)).toBe('Dashboard · Mock Interview');
    const id = await finishInterview(page, 'frontend', 'senior');

    // The report: loading, then what it is about and its score.
    let releaseReport: () => void = () => undefined;
    const reportHeld = new Promise<void>((r) => (releaseReport = r));
    await page.route(`**/api/interviews/${id}`, async (route) => {
      await reportHeld;
      await route.continue();
    });
    await page.goto(`/interviews/${id}/report`);
    await expect.poll(() => title(page)).toBe('Loading report… · Mock Interview');
    releaseReport();
    await page.getByTestId('overall-score').waitFor();
    expect(await title(page)).toMatch(/^Report: Frontend senior · \d\.\d\/5 · Mock Interview$/);
    await page.unroute(`**/api/interviews/${id}`);

    await page.goto('/interviews/00000000-0000-4000-8000-000000000000/report');
    await page.getByText('Report not found').waitFor();
    expect(await title(page)).toBe('Report not found · Mock Interview');
    await page.goto('/history');
    await expect.poll(() => title(page)).toBe('History · Mock Interview');
    await page.goto('/new');
    await expect.poll(() => title(page)).toBe('New interview · Mock Interview');
    await page.goto('/no/such/page');
    await expect.poll(() => title(page)).toBe('Not found · Mock Interview');

    expect(errors.filter((e) => !/404/.test(e))).toEqual([]);
    await context.close();
  });

  it('shows a visitor at / what the product is, and a signed-in user the dashboard', async () => {
    const { context, page, errors } = await newPage(browser, DESKTOP);
    await page.goto('/');
    await page.getByRole('heading', { level: 1, name: 'Practise the interview before the interview' }).waitFor();
    expect(page.url()).toMatch(/\/$/);
    const landing = page.getByTestId('landing');
    await landing.getByRole('heading', { name: 'How an interview goes' }).waitFor();
    expect(await landing.locator('.landing-step').count()).toBe(4);
    const sample = page.getByTestId('sample-report');
    expect(await sample.textContent()).toMatch(/Overall score.*Structure.*Specificity.*Strength.*Next step/s);
    await noSidewaysScroll(page, 'landing page');
    await shotBoth(page, 'ux-landing');

    // Prices load as a whole page (the server allows Checkout's script only on documents at /credits).
    const pricing = landing.getByRole('link', { name: 'See prices' });
    expect(await pricing.getAttribute('href')).toBe('/credits');
    await markDocument(page);
    await pricing.click();
    await page.waitForURL((url) => url.pathname === '/credits');
    await page.getByRole('heading', { name: 'Buy credits' }).waitFor();
    expect(await sameDocument(page)).toBe(false);

    await page.goto('/');
    await landing.getByRole('link', { name: 'Sign in' }).click();
    await page.waitForURL((url) => url.pathname === '/login');
    await page.goto('/');
    await landing.getByRole('link', { name: 'Start free' }).first().click();
    await page.waitForURL((url) => url.pathname === '/signup');

    await signUp(page);
    await page.goto('/');
    await page.getByRole('heading', { level: 1, name: 'Dashboard' }).waitFor();
    expect(await page.getByTestId('landing').count()).toBe(0);

    expect(errors).toEqual([]);
    await context.close();
  });

  it('does not offer to start an interview at zero credits, and says how to get more', async () => {
    const { context, page, errors } = await newPage(browser, DESKTOP);
    await signUp(page);
    // Spend the free credits (each new interview takes one).
    for (let i = 0; i < 10; i++) {
      const { status } = await apiFromPage(page, '/api/interviews', { method: 'POST', body: { track: 'product', level: 'junior', question_count: 1 } });
      if (status === 402) break;
      expect(status).toBe(201);
    }
    expect((await apiFromPage<{ credits: number }>(page, '/api/me')).body.credits).toBe(0);

    // This server does not sell credits: the administrator is the way.
    await page.goto('/');
    const notice = page.getByTestId('no-credits');
    await notice.waitFor();
    expect(await page.getByText('You have no interview credits left').count()).toBe(1);
    expect(await notice.textContent()).toContain('ask the administrator');
    expect(await page.getByRole('link', { name: 'Start an interview' }).count()).toBe(0);
    expect(await page.getByTestId('dashboard-buy-credits').count()).toBe(0);
    await noSidewaysScroll(page, 'dashboard at zero credits');
    await shotBoth(page, 'ux-dashboard-no-credits');
    await expectAccessible(page, 'dashboard at zero credits');

    // A server that sells them: a link to the prices, loaded as a whole page.
    await page.route('**/api/payments/config', (route) =>
      route.fulfill({
        contentType: 'application/json',
        body: JSON.stringify({
          enabled: true,
          packs: [{ id: 'five', credits: 5, price_paise: 19_900, currency: 'INR', label: '5 interviews' }],
          key_id: 'rzp_test_e2e',
          checkout_url: 'https://checkout.example/v1/checkout.js',
          business_name: 'Mock Interview',
        }),
      }),
    );
    await page.goto('/');
    const buy = page.getByTestId('dashboard-buy-credits');
    await buy.waitFor();
    expect(await buy.getAttribute('href')).toBe('/credits');
    expect(await page.getByRole('link', { name: 'Start an interview' }).count()).toBe(0);
    await shotBoth(page, 'ux-dashboard-no-credits-buy');
    await markDocument(page);
    await buy.click();
    await page.waitForURL((url) => url.pathname === '/credits');
    await page.getByRole('heading', { name: 'Buy credits' }).waitFor();
    expect(await sameDocument(page)).toBe(false);
    await page.unroute('**/api/payments/config');

    expect(errors.filter((e) => !/402/.test(e))).toEqual([]);
    await context.close();
  });

  it('says what is wrong with an invalid email on sign-up, beside the field', async () => {
    const { context, page, errors } = await newPage(browser, DESKTOP);
    await page.goto('/signup');
    const email = page.getByLabel('Email');
    await email.fill('name@example');
    await page.getByLabel('Password', { exact: true }).fill('correct-horse-battery');
    await page.getByRole('button', { name: 'Create account' }).click();
    const error = page.getByTestId('email-error');
    await error.waitFor();
    expect(await error.textContent()).toContain('needs a full stop');
    expect(await email.getAttribute('aria-invalid')).toBe('true');
    const errorId = await error.getAttribute('id');
    expect((await email.getAttribute('aria-describedby'))?.split(' ')).toContain(errorId);
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('email');
    expect(page.url()).toMatch(/\/signup$/);
    await shotBoth(page, 'ux-signup-email-error');
    await expectAccessible(page, 'sign-up with an email error');

    // Fixed as typed, the message goes.
    await email.fill('name@example.com');
    await expect.poll(() => page.getByTestId('email-error').count()).toBe(0);
    expect(await email.getAttribute('aria-invalid')).toBeNull();

    // The server's own refusal is shown at the field too.
    await page.route('**/api/auth/register', (route) =>
      route.fulfill({
        status: 422,
        contentType: 'application/json',
        body: JSON.stringify({
          code: 'validation_error',
          detail: [{ loc: ['body', 'email'], msg: 'value is not a valid email address: The domain name example.com does not accept email.', type: 'value_error' }],
          message: 'email: value is not a valid email address',
        }),
      }),
    );
    await email.fill(uniqueEmail('refused'));
    await page.getByRole('button', { name: 'Create account' }).click();
    await expect.poll(async () => (await page.getByTestId('email-error').textContent()) ?? '').toContain('does not accept email');
    expect(await email.getAttribute('aria-invalid')).toBe('true');
    await page.unroute('**/api/auth/register');

    expect(errors.filter((e) => !/422/.test(e))).toEqual([]);
    await context.close();
  });

  it('shows a shared report at page width, titled, with a way to try the app', async () => {
    const owner = await newPage(browser, DESKTOP);
    await signUp(owner.page);
    const id = await finishInterview(owner.page);
    const share = await apiFromPage<{ path: string }>(owner.page, `/api/interviews/${id}/share`, { method: 'POST' });
    expect(share.status).toBe(200);
    await owner.context.close();

    const { context, page, errors } = await newPage(browser, DESKTOP);
    await page.goto(share.body.path);
    await page.getByTestId('overall-score').waitFor();
    expect(await title(page)).toMatch(/^Shared report: Backend mid-level · \d\.\d\/5 · Mock Interview$/);

    // The app's page width, centred; not edge to edge.
    const box = await page.locator('.page.report').boundingBox();
    expect(box!.width).toBeLessThanOrEqual(1120);
    expect(Math.abs(box!.x - (DESKTOP.width - box!.x - box!.width))).toBeLessThanOrEqual(2);
    expect(box!.x).toBeGreaterThanOrEqual(60);

    const cta = page.getByTestId('shared-note').getByRole('link', { name: 'Practise your own interview — start free' });
    expect(await cta.getAttribute('href')).toBe('/signup');
    expect(await page.getByTestId('shared-cta-bottom').getByRole('link').getAttribute('href')).toBe('/signup');
    await noSidewaysScroll(page, 'shared report');
    await shotBoth(page, 'ux-shared-report');
    await shotBoth(page, 'ux-shared-report-top', false);

    await cta.click();
    await page.waitForURL((url) => url.pathname === '/signup');
    await page.getByRole('heading', { name: 'Create your account' }).waitFor();

    expect(errors).toEqual([]);
    await context.close();
  });

  it('charts progress per track, numbers each interview, and names the weakest criterion to practise', async () => {
    const { context, page, errors } = await newPage(browser, DESKTOP);
    await signUp(page);
    // Two backend interviews on the same day, then a frontend one: the free credits.
    await finishInterview(page, 'backend', 'senior');
    await finishInterview(page, 'backend', 'senior');
    await finishInterview(page, 'frontend', 'junior');
    // That was the last free credit; with none the dashboard offers no practice (tested above).
    await page.route('**/api/me', async (route) => {
      const response = await route.fetch();
      await route.fulfill({ response, json: { ...(await response.json()), credits: 2 } });
    });

    await page.goto('/');
    const progress = page.getByTestId('dashboard-progress');
    // The chart itself, not its legend's icons (one per series: overall and each criterion,
    // whose averages come with the list).
    await progress.locator('svg.recharts-surface:not([aria-label])').first().waitFor();
    // The track practised last comes first.
    const picker = progress.getByRole('group', { name: 'Track' });
    expect(await picker.getByRole('radio', { name: /Frontend/ }).isChecked()).toBe(true);
    expect(await progress.getByRole('table').locator('tbody tr').count()).toBe(1);

    await picker.getByRole('radio', { name: /Backend/ }).check();
    expect(await picker.getByRole('radio', { name: /Backend/ }).isChecked()).toBe(true);
    const rows = progress.getByRole('table').locator('tbody th');
    await expect.poll(() => rows.count()).toBe(2);
    const labels = await rows.allTextContents();
    expect(labels[0]).toMatch(/^#1, /);
    expect(labels[1]).toMatch(/^#2, /);
    expect(new Set(labels).size).toBe(2);
    // The axis says #1 and #2, not the same date twice.
    const ticks = await progress.locator('.recharts-xAxis-tick-labels text').allTextContents();
    expect(ticks.filter((t) => t.startsWith('#'))).toEqual(['#1', '#2']);

    const weakest = page.getByTestId('weakest-criterion');
    await weakest.waitFor();
    expect(await page.getByTestId('dashboard-weakest').getByRole('heading').textContent()).toContain('Backend');
    expect(await page.getByTestId('weakest-trend').textContent()).toMatch(/\d\.\d → \d\.\d over 2 interviews, (improving|slipping|steady)/);
    const practise = page.getByTestId('practise-weakest');
    const href = await practise.getAttribute('href');
    expect(href).toMatch(/^\/new\?track=backend&level=senior&focus=(coverage|structure|specificity|clarity)$/);
    await noSidewaysScroll(page, 'dashboard');
    await shotBoth(page, 'ux-dashboard-trend');
    await expectAccessible(page, 'dashboard with a track picker');

    // The link opens a new interview set to the same track and level.
    await practise.click();
    await page.getByRole('heading', { name: 'New interview' }).waitFor();
    expect(await page.getByRole('radio', { name: /^Backend/ }).isChecked()).toBe(true);
    expect(await page.getByRole('radio', { name: /^Senior/ }).isChecked()).toBe(true);
    await shotBoth(page, 'ux-new-interview-prefilled');

    expect(errors).toEqual([]);
    await context.close();
  });
});
