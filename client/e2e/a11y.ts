/**
 * Accessibility checks for the end-to-end tests: axe-core run inside the page, failing on the
 * violations that block people (impact "serious" or "critical"), with a message that says which
 * rule, where, and what to fix.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';

const require = createRequire(import.meta.url);
// Evaluated through the DevTools protocol, so the page's Content-Security-Policy does not apply.
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

const BLOCKING = new Set(['serious', 'critical']);

export interface AxeNode {
  target: unknown[];
  html: string;
  failureSummary?: string;
}

export interface AxeViolation {
  id: string;
  impact: 'minor' | 'moderate' | 'serious' | 'critical' | null;
  help: string;
  helpUrl: string;
  nodes: AxeNode[];
}

/** Runs axe on the page as it is now and returns every violation (of any impact). */
export async function axeViolations(page: Page, options: { exclude?: string[] } = {}): Promise<AxeViolation[]> {
  const loaded = await page.evaluate(() => typeof (window as unknown as { axe?: unknown }).axe !== 'undefined');
  if (!loaded) await page.evaluate(AXE_SOURCE);
  return page.evaluate(async (exclude) => {
    const axe = (window as unknown as { axe: { run: (context: unknown, options: unknown) => Promise<{ violations: AxeViolation[] }> } }).axe;
    const context = exclude.length ? { include: [document], exclude: exclude.map((selector) => [selector]) } : document;
    const result = await axe.run(context, {
      resultTypes: ['violations'],
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] },
    });
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      helpUrl: v.helpUrl,
      nodes: v.nodes.map((n) => ({ target: n.target, html: n.html, failureSummary: n.failureSummary })),
    }));
  }, options.exclude ?? []);
}

/** The violations as a reader would want them in a failed test: rule, impact, where, and why. */
export function describeViolations(where: string, violations: AxeViolation[]): string {
  const lines = [`${where}: ${violations.length} serious or critical accessibility violation(s)`];
  for (const v of violations) {
    lines.push(`  [${v.impact}] ${v.id}: ${v.help} (${v.helpUrl})`);
    for (const node of v.nodes.slice(0, 5)) {
      const why = (node.failureSummary ?? '').split('\n').map((l) => l.trim()).filter(Boolean).slice(1, 3).join(' / ');
      lines.push(`      at ${node.target.join(' ')}  ${node.html.slice(0, 140)}`);
      if (why) lines.push(`         ${why}`);
    }
    if (v.nodes.length > 5) lines.push(`      … and ${v.nodes.length - 5} more`);
  }
  return lines.join('\n');
}

/** What axe finds serious or critical on the page as it is now, described; null when nothing. */
export async function accessibilityProblems(
  page: Page,
  where: string,
  options: { exclude?: string[] } = {},
): Promise<string | null> {
  const blocking = (await axeViolations(page, options)).filter((v) => v.impact !== null && BLOCKING.has(v.impact));
  return blocking.length ? describeViolations(where, blocking) : null;
}

/** Fails (throws) when axe finds a serious or critical violation on the page as it is now. */
export async function expectAccessible(page: Page, where: string, options: { exclude?: string[] } = {}): Promise<void> {
  const problems = await accessibilityProblems(page, where, options);
  if (problems) throw new Error(problems);
}
