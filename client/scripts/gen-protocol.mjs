// Generates the WebSocket protocol's TypeScript types from protocol.schema.json (the JSON Schema
// that `python -m server.protocol` prints) with json-schema-to-typescript.
// Usage: node scripts/gen-protocol.mjs [schema.json] [-o out.ts] [--admin-out admin.ts]
//   (npm run gen:protocol)
//
// The schema file holds two JSON Schemas, `client` and `server` (one discriminated union of
// frames per direction), next to `limits` and `close_codes` (plain values, read at run time by
// src/api/protocol.ts), and `admin` with the admin socket's two unions. The interview socket's
// unions are compiled into one file (`-o`, default src/api/protocol.gen.ts), the admin socket's
// into another (`--admin-out`, default adminProtocol.gen.ts beside it): both name shared models
// (Hello, Phase, ErrorEvent…), so one file each keeps the names as pydantic gives them. Each
// union is compiled on its own, after two adjustments that keep the types true to what
// pydantic accepts:
// - the discriminator (`type`) is required in every member: pydantic picks the member by it, so
//   no frame goes without it, although each member's schema gives it a default;
// - the `title` pydantic puts on every property is dropped (only the frames and the named
//   definitions keep theirs), and a `$ref` that pydantic annotates with a description becomes
//   `allOf: [$ref]`, so a property does not become a type alias of its own (Phase1, Phase2…).
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compile } from 'json-schema-to-typescript';

const client = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const outAt = args.indexOf('-o');
const adminOutAt = args.indexOf('--admin-out');
const output = outAt >= 0 ? resolve(args[outAt + 1]) : resolve(client, 'src/api/protocol.gen.ts');
const adminOutput =
  adminOutAt >= 0 ? resolve(args[adminOutAt + 1]) : resolve(dirname(output), 'adminProtocol.gen.ts');
const flagged = new Set([outAt, outAt + 1, adminOutAt, adminOutAt + 1].filter((i) => i >= 0));
const positional = args.filter((_, i) => !flagged.has(i));
const input = resolve(positional[0] ?? resolve(client, 'protocol.schema.json'));

const UNIONS = [
  ['client', 'ClientFrame', 'A frame the client sends (client → server).'],
  ['server', 'ServerFrame', 'A frame the server sends (server → client).'],
];
const ADMIN_UNIONS = [
  ['client', 'AdminClientFrame', 'A frame the admin console sends on /ws/admin.'],
  ['server', 'AdminServerFrame', 'A frame the server sends on /ws/admin.'],
];

/** A copy of `schema` without property titles, and with annotated `$ref`s wrapped (at any depth). */
function withoutPropertyTitles(schema) {
  if (Array.isArray(schema)) return schema.map(withoutPropertyTitles);
  if (typeof schema !== 'object' || schema === null) return schema;
  if (schema.$ref && Object.keys(schema).length > 1) {
    const { $ref, ...annotations } = schema;
    return { ...withoutPropertyTitles(annotations), allOf: [{ $ref }] };
  }
  const out = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'properties') {
      out.properties = Object.fromEntries(
        Object.entries(value).map(([name, property]) => {
          const { title: _title, ...rest } = property;
          return [name, withoutPropertyTitles(rest)];
        }),
      );
    } else {
      out[key] = withoutPropertyTitles(value);
    }
  }
  return out;
}

/** The union's schema, ready for the generator (see the adjustments above). */
function prepare(union, name, description) {
  const { discriminator } = union;
  if (!discriminator?.propertyName || !discriminator.mapping || !union.oneOf) {
    throw new Error(`${name}: expected a discriminated union (oneOf + discriminator)`);
  }
  const schema = withoutPropertyTitles(structuredClone(union));
  const tag = discriminator.propertyName;
  for (const ref of Object.values(discriminator.mapping)) {
    const member = schema.$defs[ref.replace(/^#\/\$defs\//, '')];
    if (!member?.properties?.[tag]) throw new Error(`${name}: ${ref} has no "${tag}"`);
    member.required = [tag, ...(member.required ?? []).filter((field) => field !== tag)];
  }
  return { title: name, description, ...schema };
}

/** The unions of `schemas` (`{client, server}`), compiled into one TypeScript source. */
async function compileUnions(schemas, unions) {
  const parts = [];
  for (const [side, name, description] of unions) {
    parts.push(
      await compile(prepare(schemas[side], name, description), name, {
        bannerComment: '',
        additionalProperties: false,
        unknownAny: true,
        format: true,
        style: { singleQuote: true, printWidth: 100, trailingComma: 'all', bracketSpacing: true },
      }),
    );
  }
  return parts.join('\n');
}

const schema = JSON.parse(readFileSync(input, 'utf8'));

const banner = `/**
 * The live-interview WebSocket protocol's frames, generated by json-schema-to-typescript from
 * protocol.schema.json (the export of server/protocol.py). Do not edit: run \`npm run gen:protocol\`.
 * src/api/protocol.ts names the frames and reads the protocol's constants.
 */
`;
writeFileSync(output, banner + (await compileUnions(schema, UNIONS)));

if (!schema.admin) throw new Error('protocol.schema.json has no "admin" unions (the admin socket)');
const adminBanner = `/**
 * The admin socket's frames (/ws/admin), generated by json-schema-to-typescript from
 * protocol.schema.json (the export of server/protocol.py). Do not edit: run \`npm run gen:protocol\`.
 * src/api/adminProtocol.ts names the frames and reads the admin socket's limits.
 */
`;
writeFileSync(adminOutput, adminBanner + (await compileUnions(schema.admin, ADMIN_UNIONS)));
