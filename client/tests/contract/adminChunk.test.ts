// @vitest-environment node
/**
 * The admin console is a chunk of its own: nothing the candidate's pages load imports it
 * statically (App reaches it through React.lazy, whose import() starts a new chunk). This walks
 * the static imports from the entry and fails if one leads into the console's modules.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const src = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');
const adminDirs = [join(src, 'pages/admin'), join(src, 'components/admin')];
const staticImport = /^\s*(?:import|export)\s[^;]*?\bfrom\s+['"](\.{1,2}\/[^'"]+)['"]|^\s*import\s+['"](\.{1,2}\/[^'"]+)['"]/gm;

function resolveModule(from: string, spec: string): string | null {
  const base = resolve(dirname(from), spec);
  for (const candidate of [base, `${base}.ts`, `${base}.tsx`, join(base, 'index.ts'), join(base, 'index.tsx')]) {
    try {
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // try the next
    }
  }
  return null;
}

/** Every module the entry imports statically, directly or not. */
function staticGraph(entry: string): Set<string> {
  const seen = new Set<string>();
  const queue = [entry];
  while (queue.length) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    if (!/\.tsx?$/.test(file)) continue;
    for (const match of readFileSync(file, 'utf8').matchAll(staticImport)) {
      const target = resolveModule(file, match[1] ?? match[2]);
      if (target) queue.push(target);
    }
  }
  return seen;
}

describe('the admin console chunk', () => {
  it('is never imported statically from the entry (only through import())', () => {
    const graph = staticGraph(join(src, 'main.tsx'));
    const reached = [...graph].filter((f) => adminDirs.some((d) => f.startsWith(d)));
    expect(reached).toEqual([]);
    // The walk did follow the app's imports (a broken pattern would pass for nothing).
    expect([...graph].some((f) => f.endsWith('components/Layout.tsx'))).toBe(true);
    expect(readdirSync(adminDirs[0]).length).toBeGreaterThan(0);
  });

  it('is reached from App only through import()', () => {
    const app = readFileSync(join(src, 'App.tsx'), 'utf8');
    expect(app).toMatch(/lazy\(\(\) => import\('\.\/pages\/admin\/AdminSection'\)/);
  });
});
