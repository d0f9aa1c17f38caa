/**
 * Builders for the admin socket's server frames in tests, typed by the generated admin protocol
 * and checked against its JSON Schema (`protocol.schema.json`, "admin"), like `frames.ts`.
 */
import { Ajv2020, type ErrorObject } from 'ajv/dist/2020';
import schema from '../../protocol.schema.json';
import type {
  AdminClientFrame,
  AdminErrorFrame,
  AdminServerFrame,
  MonitorSnapshot,
  MonitorUpdate,
  SessionSummary,
  SteerAck,
} from '../api/adminProtocol';

const ajv = new Ajv2020({ strict: false, allErrors: true });
const serverFrameValid = ajv.compile(schema.admin.server);
const clientFrameValid = ajv.compile(schema.admin.client);

function describeErrors(errors: ErrorObject[] | null | undefined): string {
  return (errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`.trim()).join('; ');
}

export function checkedAdmin<T extends AdminServerFrame>(frame: T): T {
  const type = frame.type;
  if (!serverFrameValid(frame)) {
    throw new Error(`not a valid admin ${type} frame: ${describeErrors(serverFrameValid.errors)}\n${JSON.stringify(frame)}`);
  }
  return frame;
}

export function checkedAdminClientFrame<T extends AdminClientFrame>(frame: T): T {
  const type = frame.type;
  if (!clientFrameValid(frame)) {
    throw new Error(`not a valid admin ${type} frame: ${describeErrors(clientFrameValid.errors)}\n${JSON.stringify(frame)}`);
  }
  return frame;
}

/** An interview id the server would accept in a steering frame (a UUID: 36 characters). */
export function interviewId(n: number): string {
  return `00000000-0000-4000-8000-${n.toString().padStart(12, '0')}`;
}

export const NOW = 1_800_000_000_000;

export function summary(over: Partial<SessionSummary> = {}): SessionSummary {
  return {
    interview_id: interviewId(1),
    owner_id: 'u0000000-0000-4000-8000-000000000001',
    candidate: 'ada@example.com',
    track: 'backend',
    level: 'mid',
    phase: 'listening',
    question_number: 2,
    question_count: 5,
    turn: 2,
    connected: true,
    process: '3f2a9c1d8e7b4a60b1c2d3e4f5a6b7c8',
    provider: 'gemini',
    model: 'gemini-2.5-flash',
    tokens_in: 1200,
    tokens_out: 340,
    cost_usd: 0.0123,
    last_ttft_ms: 420,
    last_event_ms: NOW - 3_000,
    started_ms: NOW - 120_000,
    seen_ms: NOW,
    ...over,
  };
}

export function snapshot(sessions: SessionSummary[], atMs = NOW, alive: Record<string, number> = {}): MonitorSnapshot {
  return checkedAdmin<MonitorSnapshot>({ type: 'monitor.snapshot', seq: 0, epoch: '', sessions, alive, at_ms: atMs });
}

export function update(
  sessions: SessionSummary[],
  removed: string[] = [],
  atMs = NOW,
  alive: Record<string, number> = {},
): MonitorUpdate {
  return checkedAdmin<MonitorUpdate>({ type: 'monitor.update', seq: 0, epoch: '', sessions, removed, alive, at_ms: atMs });
}

export function steerAck(over: Partial<SteerAck> = {}): SteerAck {
  return checkedAdmin<SteerAck>({
    type: 'steer.ack',
    seq: 0,
    epoch: '',
    interview_id: interviewId(1),
    action: 'steer.note',
    message: 'The note will shape the next turn.',
    ...over,
  });
}

export function adminError(over: Partial<AdminErrorFrame> = {}): AdminErrorFrame {
  return checkedAdmin<AdminErrorFrame>({
    type: 'error',
    seq: 0,
    epoch: '',
    code: 'not_listening',
    message: 'no answer is open',
    retryable: false,
    phase: null,
    ...over,
  });
}
