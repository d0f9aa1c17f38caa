// @vitest-environment node
/**
 * `src/api/protocol.ts` is written by hand from `server/gateway/protocol.py`. These tests hold it
 * to `protocol.schema.json` (the JSON Schema export of the server's frames): every frame type and
 * every field there must exist in the TypeScript tables, and nothing else. Where the server's
 * Python environment is present they also check that the export itself is current.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  CLIENT_FRAME_FIELDS,
  CloseCode,
  CRITERION_SCORE_FIELDS,
  ERROR_CODES,
  MAX_ANSWER_CHARS,
  MAX_FRAME_BYTES,
  PHASES,
  PROTOCOL_VERSION,
  SERVER_FRAME_FIELDS,
} from '../../src/api/protocol';

const client = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const repo = resolve(client, '..');
const python = join(repo, '.venv/bin/python');
const protocolPy = join(repo, 'server/gateway/protocol.py');

interface JsonSchema {
  $defs: Record<string, { properties?: Record<string, { const?: string; default?: unknown }>; enum?: string[]; required?: string[] }>;
  discriminator: { mapping: Record<string, string>; propertyName: string };
}

const schema = JSON.parse(readFileSync(join(client, 'protocol.schema.json'), 'utf8')) as {
  client: JsonSchema;
  server: JsonSchema;
};

function framesOf(side: JsonSchema): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [type, ref] of Object.entries(side.discriminator.mapping)) {
    const name = ref.replace('#/$defs/', '');
    out[type] = Object.keys(side.$defs[name].properties ?? {}).sort();
  }
  return out;
}

function tableOf(table: Record<string, readonly string[]>): Record<string, string[]> {
  return Object.fromEntries(Object.entries(table).map(([k, v]) => [k, [...v].sort()]));
}

describe('WebSocket protocol', () => {
  it('discriminates on "type" in both directions', () => {
    expect(schema.client.discriminator.propertyName).toBe('type');
    expect(schema.server.discriminator.propertyName).toBe('type');
  });

  it('has every client frame and field the server defines, and no others', () => {
    expect(tableOf(CLIENT_FRAME_FIELDS)).toEqual(framesOf(schema.client));
  });

  it('has every server frame and field the server defines, and no others', () => {
    expect(tableOf(SERVER_FRAME_FIELDS)).toEqual(framesOf(schema.server));
  });

  it('has the criterion score fields', () => {
    expect([...CRITERION_SCORE_FIELDS].sort()).toEqual(
      Object.keys(schema.server.$defs.CriterionScore.properties ?? {}).sort(),
    );
  });

  it('has every error code and phase', () => {
    expect([...ERROR_CODES].sort()).toEqual([...(schema.server.$defs.ErrorCode.enum ?? [])].sort());
    expect([...PHASES].sort()).toEqual([...(schema.server.$defs.Phase.enum ?? [])].sort());
  });

  it('uses the protocol version the server announces', () => {
    expect(schema.server.$defs.Ready.properties?.protocol?.default).toBe(PROTOCOL_VERSION);
  });

  it.skipIf(!existsSync(protocolPy))('has the close codes and limits of server/gateway/protocol.py', () => {
    const source = readFileSync(protocolPy, 'utf8');
    const block = source.slice(source.indexOf('class CloseCode'), source.indexOf('RETRYABLE_CLOSE_CODES'));
    const codes = Object.fromEntries(
      [...block.matchAll(/^\s+(\w+) = (\d+)/gm)].map(([, name, code]) => [name, Number(code)]),
    );
    expect(codes).toEqual({ ...CloseCode });
    expect(source).toContain(`MAX_FRAME_BYTES = ${MAX_FRAME_BYTES / 1024} * 1024`);
    expect(source).toContain(`MAX_ANSWER_CHARS = ${MAX_ANSWER_CHARS.toLocaleString('en').replace(/,/g, '_')}`);
  });

  it.skipIf(!existsSync(python) || !existsSync(protocolPy))(
    'protocol.schema.json is the current export of the server frames',
    () => {
      const live = execFileSync(
        python,
        [
          '-c',
          "import json; from pydantic import TypeAdapter; from server.gateway.protocol import ClientFrame, ServerFrame; print(json.dumps({'client': TypeAdapter(ClientFrame).json_schema(), 'server': TypeAdapter(ServerFrame).json_schema()}, indent=2, sort_keys=True))",
        ],
        { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] },
      ).toString();
      expect(schema).toEqual(JSON.parse(live));
    },
    60_000,
  );
});
