/**
 * A WebSocket for tests: records what the client sends, text frames checked against the schema
 * of the socket's protocol (the interview socket's, or the admin socket's for /ws/admin).
 */
import type { AdminClientFrame, AdminServerFrame } from '../api/adminProtocol';
import type { ClientFrame, ServerFrame } from '../api/protocol';
import type { SocketLike } from '../hooks/useInterviewSocket';
import { parseChunkFrame } from '../voice/framing';
import { checkedAdmin, checkedAdminClientFrame } from './adminFrames';
import { checked, checkedClientFrame } from './frames';

export class FakeWebSocket implements SocketLike {
  static all: FakeWebSocket[] = [];
  readyState = 0;
  /** An admin socket (/ws/admin): its frames are the admin protocol's. */
  readonly admin: boolean;
  sent: ClientFrame[] = [];
  adminSent: AdminClientFrame[] = [];
  /** Binary frames, as (chunk index, PCM bytes). */
  chunks: { index: number; bytes: number }[] = [];
  closedWith: number | null = null;
  onopen: ((event: Event) => void) | null = null;
  onmessage: ((event: MessageEvent) => void) | null = null;
  onclose: ((event: CloseEvent) => void) | null = null;
  onerror: ((event: Event) => void) | null = null;

  constructor(readonly url: string) {
    this.admin = /\/ws\/admin$/.test(url);
    FakeWebSocket.all.push(this);
  }

  static get last(): FakeWebSocket {
    return FakeWebSocket.all[FakeWebSocket.all.length - 1];
  }

  /** The newest admin socket. */
  static get lastAdmin(): FakeWebSocket | undefined {
    return FakeWebSocket.all.filter((s) => s.admin).at(-1);
  }

  /** The newest interview socket. */
  static get lastInterview(): FakeWebSocket | undefined {
    return FakeWebSocket.all.filter((s) => !s.admin).at(-1);
  }

  send(data: string | Uint8Array) {
    if (typeof data === 'string') {
      const frame = JSON.parse(data) as ClientFrame | AdminClientFrame;
      if (this.admin) this.adminSent.push(checkedAdminClientFrame(frame as AdminClientFrame));
      else this.sent.push(checkedClientFrame(frame as ClientFrame));
    } else {
      const { index, pcm } = parseChunkFrame(data);
      this.chunks.push({ index, bytes: pcm.byteLength });
    }
  }

  close(code = 1000) {
    this.closedWith = code;
    this.readyState = 3;
  }

  open() {
    this.readyState = 1;
    this.onopen?.(new Event('open'));
  }

  receive(...frames: ServerFrame[]) {
    for (const frame of frames) this.onmessage?.({ data: JSON.stringify(checked(frame)) } as MessageEvent);
  }

  receiveAdmin(...frames: AdminServerFrame[]) {
    for (const frame of frames) this.onmessage?.({ data: JSON.stringify(checkedAdmin(frame)) } as MessageEvent);
  }

  drop(code: number) {
    this.readyState = 3;
    this.onclose?.({ code } as CloseEvent);
  }

  sentOf<T extends ClientFrame['type']>(type: T): Extract<ClientFrame, { type: T }>[] {
    return this.sent.filter((f): f is Extract<ClientFrame, { type: T }> => f.type === type);
  }

  adminSentOf<T extends AdminClientFrame['type']>(type: T): Extract<AdminClientFrame, { type: T }>[] {
    return this.adminSent.filter((f): f is Extract<AdminClientFrame, { type: T }> => f.type === type);
  }
}
