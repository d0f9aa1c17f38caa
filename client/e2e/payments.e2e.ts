/**
 * Buying credits in a real browser. A server of its own is configured for Razorpay, against the
 * fake Razorpay API run as a process (tests/fakes/razorpay_serve.py), which also serves a
 * stand-in Checkout script (e2e/fixtures/checkout-standin.js) from its own origin: the page loads
 * it under the Content-Security-Policy the server sends for /credits, as it would load Razorpay's.
 * A candidate buys a pack with a UPI id that pays and sees the credits arrive, then one that
 * fails; an administrator finds the purchases and refunds one; a server without Razorpay keys
 * says buying is off. Every screen is photographed under test-artifacts/screenshots/.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  INTERVIEW_BIN,
  PYTHON_BIN,
  SHARED_STORE,
  freePort,
  scratch,
  showLogsOnFailure,
  startServer,
  stopAll,
  type ServerProcess,
} from './servers';
import { BASE_URL, DESKTOP, PASSWORD, PHONE, launch, newPage, shot, signUp, uniqueEmail } from './support';

const e2eDir = dirname(fileURLToPath(import.meta.url));
const repo = resolve(e2eDir, '../..');
const STAND_IN = join(e2eDir, 'fixtures/checkout-standin.js');

const KEY_ID = 'rzp_test_e2eKey00000001';
const KEY_SECRET = 'e2e-key-secret-0123456789';
// Razorpay's webhook secret is chosen apart from the key secret (the server refuses the same).
const WEBHOOK_SECRET = 'e2e-webhook-secret-9876543210';

let browser: Browser;
let fake: ChildProcess | null = null;
let fakeUrl = '';
let server: ServerProcess;
/** Where the payments server keeps its data: the suite's shared stores, or embedded ones of its own. */
let storeEnv: Record<string, string> = {};

/** The fake Razorpay (and the stand-in Checkout) on `port`; resolves once it says it is ready. */
async function startFake(port: number, appOrigin: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    PYTHON_BIN,
    [
      '-m',
      'tests.fakes.razorpay_serve',
      '--port',
      String(port),
      '--key-id',
      KEY_ID,
      '--key-secret',
      KEY_SECRET,
      '--webhook-secret',
      WEBHOOK_SECRET,
      '--checkout-js',
      STAND_IN,
      '--allow-origin',
      appOrigin,
    ],
    { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  process.once('exit', () => child.kill('SIGKILL'));
  let output = '';
  const url = await new Promise<string>((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`the fake Razorpay did not start:\n${output}`)), 20_000);
    const read = (chunk: Buffer) => {
      output += chunk.toString();
      const ready = /^ready (\S+)$/m.exec(output);
      if (ready) {
        clearTimeout(timer);
        done(ready[1]);
      }
    };
    child.stdout?.on('data', read);
    child.stderr?.on('data', read);
    child.once('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`the fake Razorpay exited (${code}):\n${output}`));
    });
  });
  child.removeAllListeners('exit');
  return { child, url };
}

async function signIn(page: Page, email: string): Promise<void> {
  await page.goto('/login');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((url) => url.pathname === '/');
}

async function balance(page: Page): Promise<number> {
  return Number(await page.getByTestId('credits-counter').locator('.credits__value').textContent());
}

async function noHorizontalOverflow(page: Page, where: string): Promise<void> {
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow, `${where} scrolls sideways`).toBeLessThanOrEqual(0);
}

/** Opens Checkout for the 5-credit pack, pays with `vpa` in the stand-in. */
async function payFive(page: Page, vpa: string): Promise<void> {
  await page.getByTestId('buy-five').click();
  await page.getByTestId('rzp-standin').waitFor();
  await page.getByTestId('rzp-standin-vpa').fill(vpa);
  await page.getByTestId('rzp-standin-pay').click();
}

beforeAll(async () => {
  browser = await launch();
  const port = await freePort();
  const started = await startFake(await freePort(), `http://127.0.0.1:${port}`);
  fake = started.child;
  fakeUrl = started.url;
  storeEnv = SHARED_STORE
    ? {}
    : { INTERVIEW_DATABASE_URL: '', INTERVIEW_REDIS_URL: '', INTERVIEW_DATA_DIR: mkdtempSync(join(scratch, 'payments-')) };
  server = await startServer('payments', port, {
    ...storeEnv,
    INTERVIEW_RAZORPAY_KEY_ID: KEY_ID,
    INTERVIEW_RAZORPAY_KEY_SECRET: KEY_SECRET,
    INTERVIEW_RAZORPAY_WEBHOOK_SECRET: WEBHOOK_SECRET,
    INTERVIEW_RAZORPAY_BASE_URL: fakeUrl,
    INTERVIEW_RAZORPAY_CHECKOUT_URL: `${fakeUrl}/checkout.js`,
  });
});

afterAll(async () => {
  await browser?.close();
  await stopAll();
  if (fake && fake.exitCode === null) {
    const exited = new Promise((done) => fake?.once('exit', done));
    fake.kill('SIGTERM');
    await exited;
  }
});

describe('buying credits with UPI through Razorpay', () => {
  let candidate = '';
  let session: string | null = null;

  it('a candidate buys the 5-credit pack, sees the credits arrive and the receipt', async () => {
    showLogsOnFailure();
    const { context, page, errors } = await newPage(browser, DESKTOP, server.url);
    candidate = await signUp(page, uniqueEmail('buyer'));
    const before = await balance(page);
    expect(before).toBe(3);

    // From the app bar: a full page load, so the page has the policy that lets Checkout in.
    await page.getByTestId('buy-credits-link').click();
    await page.waitForURL((url) => url.pathname === '/credits');
    await page.getByRole('heading', { name: 'Buy credits' }).waitFor();
    expect(await page.getByTestId('pack').count()).toBe(3);
    await expect(page.getByTestId('credits-balance').textContent()).resolves.toContain('3 credits');
    await shot(page, 'pay-01-credits');
    await noHorizontalOverflow(page, 'credits');

    await page.getByTestId('buy-five').click();
    await page.getByTestId('rzp-standin').waitFor();
    // Checkout was opened with the server's order, UPI first.
    const options = await page.evaluate(() => {
      const o = (window as unknown as { __razorpayStandIn: { options: Record<string, unknown> } }).__razorpayStandIn.options;
      return { key: o.key, amount: o.amount, currency: o.currency, order_id: o.order_id, config: o.config, prefill: o.prefill };
    });
    expect(options).toMatchObject({
      key: KEY_ID,
      amount: 19_900,
      currency: 'INR',
      prefill: { email: candidate },
      config: { display: { sequence: ['block.upi'], preferences: { show_default_blocks: true } } },
    });
    expect(String(options.order_id)).toMatch(/^order_/);
    await expect(page.getByTestId('buy-twelve').isDisabled()).resolves.toBe(true);
    await shot(page, 'pay-02-checkout', false);

    await expect(page.getByTestId('rzp-standin-vpa').inputValue()).resolves.toBe('success@razorpay');
    await page.getByTestId('rzp-standin-pay').click();
    const success = page.getByTestId('purchase-success');
    await success.waitFor();
    await expect(success.textContent()).resolves.toContain('Payment received: 5 credits added');
    await expect(page.getByTestId('purchase-balance').textContent()).resolves.toBe('8 credits');
    // The app bar follows at once.
    await page.waitForFunction(
      () => document.querySelector('[data-testid="credits-counter"] .credits__value')?.textContent === '8',
    );
    await shot(page, 'pay-03-success');

    // The receipt, paid with the masked UPI id.
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Account' }).click();
    const receipt = page.locator('[data-testid="receipt"][data-status="captured"]');
    await receipt.waitFor();
    await expect(receipt.getByTestId('payment-status').textContent()).resolves.toBe('Paid');
    await expect(receipt.getByTestId('payment-method').textContent()).resolves.toBe('UPI · su•••••@razorpay');
    await expect(receipt.getByTestId('payment-amount').textContent()).resolves.toBe('₹199.00');
    await receipt.getByText('History').click();
    await receipt.getByTestId('payment-history').waitFor();
    await shot(page, 'pay-05-account-receipts');

    session = await page.evaluate(() => localStorage.getItem('interview.session'));
    // No script or connection was refused (a CSP violation is a console error).
    expect(errors).toEqual([]);
    await context.close();
  });

  it('a UPI payment that fails shows why, and the balance stays as it was', async () => {
    showLogsOnFailure();
    expect(session, 'the purchase test signed the candidate in').not.toBeNull();
    const { context, page, errors } = await newPage(browser, DESKTOP, server.url);
    await context.addInitScript((value) => localStorage.setItem('interview.session', value ?? ''), session);
    await page.goto('/credits');
    await page.getByTestId('buy-five').waitFor();
    expect(await balance(page)).toBe(8);

    const recorded = page.waitForResponse((r) => r.request().method() === 'POST' && /\/api\/payments\/[^/]+\/refresh$/.test(r.url()));
    await payFive(page, 'failure@razorpay');
    await page.getByTestId('rzp-standin-error').waitFor();
    expect((await recorded).status()).toBe(200);
    // Checkout stays open to try again; closing it leaves the reason on the page.
    await page.getByTestId('rzp-standin-close').click();
    await page.getByTestId('rzp-standin').waitFor({ state: 'detached' });
    const outcome = page.getByTestId('purchase-outcome');
    await expect(outcome.getAttribute('data-kind')).resolves.toBe('failed');
    await expect(page.getByTestId('purchase-failure').textContent()).resolves.toBe('Payment failed');
    await expect(page.getByTestId('buy-five').isEnabled()).resolves.toBe(true);
    expect(await balance(page)).toBe(8);
    await shot(page, 'pay-04-failure');

    // The server recorded it from Razorpay's own record.
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Account' }).click();
    const failed = page.locator('[data-testid="receipt"][data-status="failed"]');
    await failed.waitFor();
    await expect(failed.getByTestId('payment-failure').textContent()).resolves.toContain('Payment failed');
    await expect(failed.getByTestId('payment-method').textContent()).resolves.toBe('UPI · fa•••••@razorpay');
    expect(await balance(page)).toBe(8);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('on a phone, the packs and the receipts fit the width', async () => {
    showLogsOnFailure();
    const { context, page, errors } = await newPage(browser, PHONE, server.url);
    await context.addInitScript((value) => localStorage.setItem('interview.session', value ?? ''), session);
    await page.goto('/credits');
    await page.getByTestId('buy-five').waitFor();
    await shot(page, 'pay-01-credits');
    await noHorizontalOverflow(page, 'credits on a phone');
    await page.getByTestId('buy-five').click();
    await page.getByTestId('rzp-standin').waitFor();
    await page.getByTestId('rzp-standin-close').click();
    await page.locator('[data-testid="purchase-outcome"][data-kind="pending"]').waitFor();
    await shot(page, 'pay-04b-dismissed');
    await noHorizontalOverflow(page, 'credits with a note on a phone');

    await page.goto('/account');
    await page.getByTestId('receipts').waitFor();
    await shot(page, 'pay-05-account-receipts');
    await noHorizontalOverflow(page, 'receipts on a phone');
    expect(errors).toEqual([]);
    await context.close();
  });

  it('a visitor sees the prices, and signing in to buy comes back to a page that can open Checkout', async () => {
    showLogsOnFailure();
    const { context, page, errors } = await newPage(browser, DESKTOP, server.url);
    await page.goto('/credits');
    await page.getByTestId('pack').first().waitFor();
    expect(await page.getByRole('link', { name: 'Sign in to buy' }).count()).toBe(3);
    expect(await page.getByRole('button', { name: /^Buy/ }).count()).toBe(0);
    await shot(page, 'pay-01b-credits-visitor');
    await noHorizontalOverflow(page, 'credits for a visitor');

    await page.getByRole('link', { name: 'Sign in to buy' }).first().click();
    await page.waitForURL((url) => url.pathname === '/login');
    // A fresh document at /login: after signing in, the credits page loads itself afresh.
    await page.reload();
    const reloaded = page.waitForEvent('load');
    await page.getByLabel('Email').fill(candidate);
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await reloaded;
    await page.waitForURL((url) => url.pathname === '/credits');
    await page.getByTestId('buy-single').waitFor();
    const navigation = await page.evaluate(() => new URL(performance.getEntriesByType('navigation')[0].name).pathname);
    expect(navigation).toBe('/credits');
    expect(errors).toEqual([]);
    await context.close();
  });

  it('an administrator finds the purchases, refunds one, and sees the revenue', async () => {
    showLogsOnFailure();
    const admin = uniqueEmail('admin');
    execFileSync(INTERVIEW_BIN, ['create-admin', admin, '--password', PASSWORD], {
      cwd: scratch,
      env: { ...process.env, ...storeEnv },
    });
    // The phone first: the refund on the desktop changes the list.
    for (const viewport of [PHONE, DESKTOP]) {
      const { context, page, errors } = await newPage(browser, viewport, server.url);
      await signIn(page, admin);
      await page.goto(`/admin/payments?q=${encodeURIComponent(candidate)}`);
      const rows = page.getByTestId('payments-row');
      await page.locator('[data-testid="payments-row"][data-status="captured"]').waitFor();
      expect(await rows.count()).toBe(3); // paid, failed, and the one left open on the phone
      await shot(page, 'pay-06-admin-payments');
      await noHorizontalOverflow(page, 'admin payments');
      expect(errors).toEqual([]);
      if (viewport === PHONE) {
        await context.close();
        continue;
      }

      await page.locator('[data-testid="payments-row"][data-status="captured"]').getByTestId('payments-refund').click();
      const dialog = page.getByTestId('refund-dialog');
      await dialog.waitFor();
      await dialog.getByTestId('refund-reason').fill('Bought by mistake');
      await shot(page, 'pay-07-admin-refund-dialog', false);
      await dialog.getByTestId('refund-confirm').click();
      const result = page.getByTestId('payments-refund-result');
      await result.waitFor();
      await expect(result.textContent()).resolves.toBe(`Refunded ₹199.00 to ${candidate}; 5 credits removed.`);
      await page.locator('[data-testid="payments-row"][data-status="refunded"]').waitFor();
      await shot(page, 'pay-07-admin-refunded');

      await page.getByTestId('admin-nav-metrics').click();
      const revenue = page.getByTestId('metrics-revenue');
      await revenue.getByTestId('revenue-gross').waitFor();
      await expect(revenue.getByTestId('revenue-refunds').textContent()).resolves.toMatch(/^₹[\d,]+\.\d\d$/);
      await shot(page, 'pay-08-admin-revenue');
      expect(errors).toEqual([]);
      await context.close();
    }

    // The candidate's receipt says so, and the pack's credits are gone.
    const { context, page } = await newPage(browser, DESKTOP, server.url);
    await context.addInitScript((value) => localStorage.setItem('interview.session', value ?? ''), session);
    await page.goto('/account');
    const refunded = page.locator('[data-testid="receipt"][data-status="refunded"]');
    await refunded.waitFor();
    await expect(refunded.getByTestId('payment-refund').textContent()).resolves.toContain('5 credits removed');
    expect(await balance(page)).toBe(3);
    await context.close();
  });
});

describe('a server without Razorpay keys', () => {
  it('says buying is not available, and offers no buy buttons', async () => {
    const { context, page, errors } = await newPage(browser, DESKTOP, BASE_URL);
    await signUp(page, uniqueEmail('nobuy'));
    await page.goto('/credits');
    await page.getByText('Buying credits is not available on this server; your free credits still work').waitFor();
    // Nor is it offered in the app bar.
    expect(await page.getByTestId('buy-credits-link').count()).toBe(0);
    expect(await page.getByTestId('pack').count()).toBeGreaterThan(0);
    expect(await page.getByRole('button', { name: /^Buy/ }).count()).toBe(0);
    await shot(page, 'pay-09-credits-disabled');
    expect(errors).toEqual([]);
    await context.close();
  });
});
