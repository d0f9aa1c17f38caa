/**
 * The live-interview WebSocket protocol (docs/protocol.md), as the client uses it.
 *
 * Nothing here is written by hand from the server: the frames are generated from
 * `protocol.schema.json` (the export of `server/protocol.py`) into `protocol.gen.ts`
 * (`npm run gen:protocol`), this module only names them, and the protocol's constants are read
 * from the same schema. `tests/contract/protocol.test.ts` fails when either file is stale.
 */
import { close_codes, limits, server } from '../../protocol.schema.json';
import type { ClientFrame, CriterionScore, ErrorCode, Phase, ServerFrame } from './protocol.gen';

export type { ClientFrame, CriterionScore, ErrorCode, Phase, ServerFrame };

// --- frames by type ------------------------------------------------------------------------

export type ServerFrameType = ServerFrame['type'];
export type ServerFrameOf<T extends ServerFrameType> = Extract<ServerFrame, { type: T }>;

export type ReadyFrame = ServerFrameOf<'ready'>;
export type ResyncFrame = ServerFrameOf<'resync'>;
export type ErrorFrame = ServerFrameOf<'error'>;
/** Connection frames: never logged, always seq 0. */
export type ConnectionFrame = ServerFrameOf<'ready' | 'resync' | 'pong'>;
/** Frames that are written to the interview's event log (seq > 0 when they come from it). */
export type LoggedFrame = Exclude<ServerFrame, ConnectionFrame>;

export type TurnKind = ServerFrameOf<'turn.start'>['kind'];
export type AnswerSource = ServerFrameOf<'answer.accepted'>['source'];

// --- constants, read from the schema --------------------------------------------------------

export const PROTOCOL_VERSION: number = limits.protocol;
export const MAX_FRAME_BYTES: number = limits.max_frame_bytes;
export const MAX_ANSWER_CHARS: number = limits.max_answer_chars;

/** WebSocket close codes the server uses (what a client should do: docs/protocol.md). */
export const CloseCode: Readonly<typeof close_codes> = close_codes;

// The schema's enums are plain string lists once imported; protocol.gen.ts has their members as
// types, and the contract test keeps the two files in step.
export const PHASES = server.$defs.Phase.enum as readonly Phase[];
export const ERROR_CODES = server.$defs.ErrorCode.enum as readonly ErrorCode[];

/** The frame types the server sends (the discriminator of the server's union). */
export const SERVER_FRAME_TYPES: ReadonlySet<string> = new Set<ServerFrameType>(
  Object.keys(server.discriminator.mapping) as (keyof typeof server.discriminator.mapping)[],
);

/** Compiles only while the schema's discriminator and the generated frames name the same types. */
export type SchemaNamesGeneratedFrames = Assert<
  Same<keyof typeof server.discriminator.mapping, ServerFrameType>
>;
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Assert<T extends true> = T;
