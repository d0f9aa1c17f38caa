/** A WebSocket for tests: records what the client sends (text frames checked against the schema). */
import type { ClientFrame, ServerFrame } from '../api/protocol';
import type { SocketLike } from '../hooks/useInterviewSocket';
import { parseChunkFrame } from '../voice/framing';
import { checked, checkedClientFrame } from './frames';

export class FakeWebSocket implements SocketLike {
  static all: FakeWebSocket[] = [];
  readyState = 0;
  sent: ClientFrame[] = [];
  /** Binary frames, as (chunk index, PCM bytes). */
  chunks: { index: number; bytes: number }[] = [];
  closedWith: number | null = null;
  onopen: ((event: Event) => void) | null = null;
  onmessage: ((event: MessageEvent) => void) | null = null;
  onclose: ((event: CloseEvent) => void) | null = null;
  onerror: ((event: Event) => void) | null = null;

  constructor(readonly url: string) {
    FakeWebSocket.all.push(this);
  }

  static get last(): FakeWebSocket {
    return FakeWebSocket.all[FakeWebSocket.all.length - 1];
  }

  send(data: string | Uint8Array) {
    if (typeof data === 'string') {
      this.sent.push(checkedClientFrame(JSON.parse(data) as ClientFrame));
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

  drop(code: number) {
    this.readyState = 3;
    this.onclose?.({ code } as CloseEvent);
  }

  sentOf<T extends ClientFrame['type']>(type: T): Extract<ClientFrame, { type: T }>[] {
    return this.sent.filter((f): f is Extract<ClientFrame, { type: T }> => f.type === type);
  }
}
