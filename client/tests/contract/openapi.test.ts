// @vitest-environment node
/**
 * The REST types are generated from the server's OpenAPI schema. These tests fail when
 * `src/api/schema.d.ts` is stale relative to `openapi.json` (run `npm run gen:api`), and, where
 * the server's Python environment is present, when `openapi.json` no longer matches the server.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const client = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const repo = resolve(client, '..');
const python = join(repo, '.venv/bin/python');
const hasServer = existsSync(python) && existsSync(join(repo, 'server/app.py'));

describe('REST schema', () => {
  it('src/api/schema.d.ts is what openapi-typescript generates from openapi.json', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gen-api-'));
    try {
      const out = join(dir, 'schema.d.ts');
      const cli = join(client, 'node_modules/openapi-typescript/bin/cli.js');
      execFileSync(process.execPath, [cli, join(client, 'openapi.json'), '-o', out], {
        cwd: client,
        stdio: 'pipe',
      });
      const fresh = readFileSync(out, 'utf8');
      const committed = readFileSync(join(client, 'src/api/schema.d.ts'), 'utf8');
      expect(committed, 'schema.d.ts is stale: run `npm run gen:api`').toBe(fresh);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it.skipIf(!hasServer)('openapi.json matches the server (refresh it from /openapi.json when this fails)', () => {
    const live = execFileSync(
      python,
      ['-c', 'import json; from server.app import create_app; print(json.dumps(create_app().openapi()))'],
      { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, INTERVIEW_LOG_LEVEL: 'WARNING' } },
    ).toString();
    const committed = JSON.parse(readFileSync(join(client, 'openapi.json'), 'utf8'));
    expect(committed).toEqual(JSON.parse(live));
  }, 60_000);
});
