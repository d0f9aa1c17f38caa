/**
 * The admin socket's protocol (/ws/admin, docs/protocol.md "The admin socket"), as the admin
 * console uses it. Like `protocol.ts`: the frames are generated from `protocol.schema.json` into
 * `adminProtocol.gen.ts`, and the limits a form checks are read from the same schema.
 */
import { admin } from '../../protocol.schema.json';
import type {
  AdminClientFrame,
  AdminServerFrame,
  ErrorEvent,
  MonitorSnapshot,
  MonitorUpdate,
  SessionSummary,
  SteerAck,
  SteerEnd,
  SteerExtend,
  SteerNote,
} from './adminProtocol.gen';

export type {
  AdminClientFrame,
  AdminServerFrame,
  ErrorEvent as AdminErrorFrame,
  MonitorSnapshot,
  MonitorUpdate,
  SessionSummary,
  SteerAck,
  SteerEnd,
  SteerExtend,
  SteerNote,
};

/** A steering command: what the console sends about one live interview. */
export type SteerFrame = SteerNote | SteerExtend | SteerEnd;
export type SteerAction = SteerFrame['type'];

const note = admin.client.$defs.SteerNote.properties.text;
const extend = admin.client.$defs.SteerExtend.properties.seconds;

/** A hidden note to the interviewer: 1 to this many characters. */
export const MAX_NOTE_CHARS: number = note.maxLength;
/** Seconds one steer.extend may add, at least and at most. */
export const MIN_EXTEND_S: number = extend.minimum;
export const MAX_EXTEND_S: number = extend.maximum;

/** The frame types the server sends on the admin socket. */
export const ADMIN_SERVER_FRAME_TYPES: ReadonlySet<string> = new Set<AdminServerFrame['type']>(
  Object.keys(admin.server.discriminator.mapping) as (keyof typeof admin.server.discriminator.mapping)[],
);

/** Compiles only while the schema's discriminator and the generated frames name the same types. */
export type AdminSchemaNamesGeneratedFrames = Assert<
  Same<keyof typeof admin.server.discriminator.mapping, AdminServerFrame['type']>
>;
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Assert<T extends true> = T;

/** Parses one text frame of the admin socket; null when it is not a frame this console knows. */
export function parseAdminFrame(text: string): AdminServerFrame | null {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof raw !== 'object' || raw === null) return null;
  const type = (raw as { type?: unknown }).type;
  // Frame types this console does not know are ignored, as on the interview socket.
  if (typeof type !== 'string' || !ADMIN_SERVER_FRAME_TYPES.has(type)) return null;
  return raw as AdminServerFrame;
}
