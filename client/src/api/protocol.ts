/**
 * The live-interview WebSocket protocol (docs/protocol.md), as the client uses it.
 *
 * Nothing here is written by hand from the server: the frames are generated from
 * `protocol.schema.json` (the export of `server/protocol.py`) into `protocol.gen.ts`
 * (`npm run gen:protocol`), this module only names them, and the protocol's constants are read
 * from the same schema. `tests/contract/protocol.test.ts` fails when either file is stale.
 */
import { close_codes, limits, server } from '../../protocol.schema.json';
import type { ClientFrame, CriterionScore, Delivery, ErrorCode, Phase, ServerFrame } from './protocol.gen';

export type { ClientFrame, CriterionScore, Delivery, ErrorCode, Phase, ServerFrame };

// --- frames by type ------------------------------------------------------------------------

export type ServerFrameType = ServerFrame['type'];
export type ServerFrameOf<T extends ServerFrameType> = Extract<ServerFrame, { type: T }>;

export type ReadyFrame = ServerFrameOf<'ready'>;
export type ResyncFrame = ServerFrameOf<'resync'>;
export type ErrorFrame = ServerFrameOf<'error'>;
/** Connection frames: never logged, always seq 0. */
export type ConnectionFrame = ServerFrameOf<'ready' | 'resync' | 'pong'>;
/** Frames about a recording, sent to the socket that uploads it: never logged, always seq 0. */
export type RecordingFrame = ServerFrameOf<'audio.ack' | 'transcript.final'>;
export type AudioAckFrame = ServerFrameOf<'audio.ack'>;
export type TranscriptFinalFrame = ServerFrameOf<'transcript.final'>;
/** Frames that are written to the interview's event log (seq > 0 when they come from it). */
export type LoggedFrame = Exclude<ServerFrame, ConnectionFrame | RecordingFrame>;

export type ClientFrameOf<T extends ClientFrame['type']> = Extract<ClientFrame, { type: T }>;
export type AudioControlFrame = ClientFrameOf<'audio.start' | 'audio.end' | 'audio.cancel'>;

export type TurnKind = ServerFrameOf<'turn.start'>['kind'];
export type AnswerSource = ServerFrameOf<'answer.accepted'>['source'];

// --- constants, read from the schema --------------------------------------------------------

export const PROTOCOL_VERSION: number = limits.protocol;
export const MAX_FRAME_BYTES: number = limits.max_frame_bytes;
export const MAX_ANSWER_CHARS: number = limits.max_answer_chars;
/** Spoken answers: 16-bit little-endian mono PCM at this rate. */
export const AUDIO_SAMPLE_RATE = limits.audio_sample_rate as 16000;
/** Each binary frame starts with the chunk's index, unsigned big-endian, in this many bytes. */
export const AUDIO_CHUNK_HEADER_BYTES: number = limits.audio_chunk_header_bytes;
/** PCM bytes one binary frame may carry after its header. */
export const MAX_CHUNK_AUDIO_BYTES: number = limits.max_chunk_audio_bytes;

/** WebSocket close codes the server uses (what a client should do: docs/protocol.md). */
export const CloseCode: Readonly<typeof close_codes> = close_codes;

// The schema's enums are plain string lists once imported; protocol.gen.ts has their members as
// types, and the contract test keeps the two files in step.
export const PHASES = server.$defs.Phase.enum as readonly Phase[];
export const ERROR_CODES = server.$defs.ErrorCode.enum as readonly ErrorCode[];

/**
 * The errors about a recording (they name no upload: one recording is open per socket, so they
 * are about the open one). Every member must be one of the schema's codes, or this fails to compile.
 */
export const RECORDING_ERROR_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'audio_not_started',
  'audio_format_unsupported',
  'audio_out_of_order',
  'audio_incomplete',
  'audio_too_long',
  'too_many_uploads',
  'upload_id_reused',
  'upload_not_found',
  'transcription_failed',
]);

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
