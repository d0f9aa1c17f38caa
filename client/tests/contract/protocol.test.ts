// @vitest-environment node
/**
 * The WebSocket protocol's types are generated, like the REST ones. These tests fail when
 * `src/api/protocol.gen.ts` is stale relative to `protocol.schema.json` (run
 * `npm run gen:protocol`), and, where the server's Python environment is present, when
 * `protocol.schema.json` is no longer what `python -m server.protocol` prints (refresh it with
 * `cd .. && .venv/bin/python -m server.protocol > client/protocol.schema.json`).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  CloseCode,
  ERROR_CODES,
  MAX_ANSWER_CHARS,
  MAX_FRAME_BYTES,
  PHASES,
  PROTOCOL_VERSION,
  SERVER_FRAME_TYPES,
} from '../../src/api/protocol';
import { ADMIN_SERVER_FRAME_TYPES, MAX_EXTEND_S, MAX_NOTE_CHARS, MIN_EXTEND_S } from '../../src/api/adminProtocol';

const client = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const repo = resolve(client, '..');
const python = join(repo, '.venv/bin/python');
const protocolPy = join(repo, 'server/protocol.py');
const schemaPath = join(client, 'protocol.schema.json');

describe('WebSocket protocol', () => {
  it('src/api/protocol.gen.ts and adminProtocol.gen.ts are what json-schema-to-typescript generates from protocol.schema.json', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gen-protocol-'));
    try {
      const out = join(dir, 'protocol.gen.ts');
      execFileSync(process.execPath, [join(client, 'scripts/gen-protocol.mjs'), schemaPath, '-o', out], {
        cwd: client,
        stdio: 'pipe',
      });
      const fresh = readFileSync(out, 'utf8');
      const committed = readFileSync(join(client, 'src/api/protocol.gen.ts'), 'utf8');
      expect(committed, 'protocol.gen.ts is stale: run `npm run gen:protocol`').toBe(fresh);
      // The admin socket's frames are generated beside them.
      const adminFresh = readFileSync(join(dir, 'adminProtocol.gen.ts'), 'utf8');
      const adminCommitted = readFileSync(join(client, 'src/api/adminProtocol.gen.ts'), 'utf8');
      expect(adminCommitted, 'adminProtocol.gen.ts is stale: run `npm run gen:protocol`').toBe(adminFresh);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it.skipIf(!existsSync(python) || !existsSync(protocolPy))(
    'protocol.schema.json is what `python -m server.protocol` prints',
    () => {
      const live = execFileSync(python, ['-m', 'server.protocol'], {
        cwd: repo,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, INTERVIEW_LOG_LEVEL: 'WARNING' },
      }).toString();
      const committed = readFileSync(schemaPath, 'utf8');
      expect(
        committed,
        'protocol.schema.json is stale: run `.venv/bin/python -m server.protocol > client/protocol.schema.json` from the repo root, then `npm run gen:protocol`',
      ).toBe(live);
    },
    60_000,
  );

  it("reads the client's constants from the schema", () => {
    const schema = JSON.parse(readFileSync(schemaPath, 'utf8'));
    expect(PROTOCOL_VERSION).toBe(schema.limits.protocol);
    expect(PROTOCOL_VERSION).toBe(schema.server.$defs.Ready.properties.protocol.default);
    expect(MAX_FRAME_BYTES).toBe(schema.limits.max_frame_bytes);
    expect(MAX_ANSWER_CHARS).toBe(schema.limits.max_answer_chars);
    expect({ ...CloseCode }).toEqual(schema.close_codes);
    expect([...PHASES]).toEqual(schema.server.$defs.Phase.enum);
    expect([...ERROR_CODES]).toEqual(schema.server.$defs.ErrorCode.enum);
    expect([...SERVER_FRAME_TYPES].sort()).toEqual(Object.keys(schema.server.discriminator.mapping).sort());
    expect([...ADMIN_SERVER_FRAME_TYPES].sort()).toEqual(Object.keys(schema.admin.server.discriminator.mapping).sort());
    expect(MAX_NOTE_CHARS).toBe(schema.admin.client.$defs.SteerNote.properties.text.maxLength);
    expect([MIN_EXTEND_S, MAX_EXTEND_S]).toEqual([
      schema.admin.client.$defs.SteerExtend.properties.seconds.minimum,
      schema.admin.client.$defs.SteerExtend.properties.seconds.maximum,
    ]);
  });
});
