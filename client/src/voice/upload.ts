/**
 * One recording's upload as a pure state machine: events in (a chunk recorded, the socket ready
 * or gone, an ack, an error, the transcript), frames to send out. It never loses audio the
 * server has not acknowledged: chunks stay in memory until an `audio.ack` covers them, and
 * whenever the server may be somewhere else than we think (a new socket, a gap, an incomplete
 * end) it asks with `audio.start` or waits for the ack and resends from `next_chunk`.
 *
 * The server's rules (docs/protocol.md): one recording open per socket, binary frames belong to
 * the latest `audio.start`, every chunk is acked with the next index it expects, and an
 * `audio.start` for a known upload (same id and turn) on a new socket resumes it.
 */
import type { AudioAckFrame, AudioControlFrame, ErrorCode, TranscriptFinalFrame } from '../api/protocol';
import { AUDIO_SAMPLE_RATE } from '../api/protocol';
import { BYTES_PER_SAMPLE } from './pcm';

export type UploadStage =
  /** Capturing: chunks go out as they are recorded. */
  | 'recording'
  /** Capture stopped: the rest of the chunks and `audio.end` are on their way. */
  | 'finishing'
  /** The server has the whole recording (ack complete) and is transcribing it. */
  | 'transcribing'
  | 'transcribed'
  /** Transcription failed; `retryTranscription` asks again. */
  | 'failed'
  /** The server no longer has it (expired, refused): record again. */
  | 'lost'
  | 'cancelled';

export type UploadOutput =
  | { kind: 'control'; frame: AudioControlFrame }
  | { kind: 'chunk'; index: number; pcm: Uint8Array };

/** What the candidate can do about a problem. */
export type UploadRemedy = 'wait' | 'retry-start' | 'retry-transcription' | 'record-again' | 'type';

export interface UploadProblem {
  code: ErrorCode;
  /** The server's own words. */
  message: string;
  remedy: UploadRemedy;
}

const ACTIVE: ReadonlySet<UploadStage> = new Set(['recording', 'finishing', 'transcribing']);

export function isUploadActive(stage: UploadStage): boolean {
  return ACTIVE.has(stage);
}

export class Upload {
  stage: UploadStage = 'recording';
  problem: UploadProblem | null = null;
  transcript: TranscriptFinalFrame | null = null;
  /** Audio the server says it has. */
  receivedMs = 0;
  /** Audio recorded so far. */
  recordedBytes = 0;

  /** PCM by chunk index; null once acknowledged (freed). */
  private chunks: (Uint8Array | null)[] = [];
  /** The server has every chunk below this index. */
  private acked = 0;
  /** The next chunk to send on the current socket. */
  private sent = 0;
  /** A socket is ready to carry frames. */
  private linked = false;
  /** audio.start was sent on the current socket (and not refused). */
  private started = false;
  /** Chunks may flow on the current socket (false while an ack is awaited to learn where to go on). */
  private streaming = false;
  private endSent = false;
  /** audio.start has gone out before, so the server may hold part of the upload. */
  private everStarted = false;
  private everStartedBeforeThisStart = false;
  /** An error said the server is behind: the next ack (or the rewind timer) says where to resend from. */
  rewindPending = false;
  /** Where the last rewind resent from; acks at that point with no progress since are stale. */
  private lastRewind: number | null = null;
  /** The server refused more audio: keep only what it acknowledged. */
  private truncate = false;
  private notStartedRetries = 0;

  constructor(
    readonly uploadId: string,
    readonly turn: number,
  ) {}

  get chunkCount(): number {
    return this.chunks.length;
  }

  get recordedMs(): number {
    return (this.recordedBytes / BYTES_PER_SAMPLE / AUDIO_SAMPLE_RATE) * 1000;
  }

  /** Chunks still in memory (sent or not, but not yet acknowledged). */
  get unacknowledged(): number {
    return this.chunks.reduce((n, c) => n + (c ? 1 : 0), 0);
  }

  /** Waiting for an ack before anything else can go out on this socket. */
  get awaitingAck(): boolean {
    return this.started && !this.streaming;
  }

  // --- the socket ----------------------------------------------------------------------------

  /** A socket is ready (first connect, or `ready` after a reconnect). */
  linkUp(): UploadOutput[] {
    this.linked = true;
    this.resetLink();
    return this.open();
  }

  /** The socket is gone (or a send failed): nothing more goes out until the next `linkUp`. */
  linkDown(): void {
    this.linked = false;
    this.resetLink();
  }

  private resetLink(): void {
    this.started = false;
    this.streaming = false;
    this.endSent = false;
    this.rewindPending = false;
    this.lastRewind = null;
  }

  private open(): UploadOutput[] {
    if (!this.linked || this.started || !isUploadActive(this.stage)) return [];
    this.started = true;
    this.everStartedBeforeThisStart = this.everStarted;
    // A fresh upload streams at once; one the server may already hold waits for the ack that
    // says which chunk it expects next.
    this.streaming = !this.everStarted;
    if (this.streaming) this.sent = this.acked;
    this.everStarted = true;
    const start: UploadOutput = {
      kind: 'control',
      frame: {
        type: 'audio.start',
        upload_id: this.uploadId,
        turn: this.turn,
        format: 'pcm_s16le',
        sample_rate: AUDIO_SAMPLE_RATE,
        channels: 1,
      },
    };
    return [start, ...this.pump()];
  }

  /** Sends what can go: chunks from `sent`, then audio.end once recording is over. */
  private pump(): UploadOutput[] {
    if (!this.linked || !this.started || !this.streaming) return [];
    const out: UploadOutput[] = [];
    for (; this.sent < this.chunks.length; this.sent++) {
      const pcm = this.chunks[this.sent];
      if (pcm) out.push({ kind: 'chunk', index: this.sent, pcm });
    }
    if ((this.stage === 'finishing' || this.stage === 'transcribing') && !this.endSent) {
      out.push({ kind: 'control', frame: { type: 'audio.end', upload_id: this.uploadId, chunks: this.chunks.length } });
      this.endSent = true;
    }
    this.settle();
    return out;
  }

  /**
   * The server has every chunk and audio.end is on its way: it is transcribing (a complete
   * end gets no ack of its own; the transcript is the answer).
   */
  private settle(): void {
    if (this.stage === 'finishing' && this.endSent && this.acked >= this.chunks.length) this.stage = 'transcribing';
  }

  // --- the recording -------------------------------------------------------------------------

  addChunk(pcm: Uint8Array): UploadOutput[] {
    if (this.stage !== 'recording' || this.truncate) return [];
    this.chunks.push(pcm);
    this.recordedBytes += pcm.byteLength;
    return this.pump();
  }

  /** Capture stopped: send what is left, then audio.end. */
  finish(): UploadOutput[] {
    if (this.stage !== 'recording') return [];
    this.stage = 'finishing';
    return this.pump();
  }

  cancel(): UploadOutput[] {
    // A transcribed upload is not cancelled: the server lets it expire, and an error about it
    // (errors name no upload) could be taken for one about the next recording.
    const wasOpen = isUploadActive(this.stage) || this.stage === 'failed';
    const tell = wasOpen && this.linked && this.started;
    this.stage = 'cancelled';
    this.chunks = [];
    this.rewindPending = false;
    return tell ? [{ kind: 'control', frame: { type: 'audio.cancel', upload_id: this.uploadId } }] : [];
  }

  // --- the server ----------------------------------------------------------------------------

  onAck(ack: AudioAckFrame): UploadOutput[] {
    if (ack.upload_id !== this.uploadId || !isUploadActive(this.stage)) return [];
    this.receivedMs = Math.max(this.receivedMs, ack.received_ms);
    const next = Math.min(ack.next_chunk, this.chunks.length);
    if (next > this.acked) {
      for (let i = this.acked; i < next; i++) this.chunks[i] = null;
      this.acked = next;
    }
    if (ack.complete && this.stage === 'finishing') this.stage = 'transcribing';
    this.settle();

    if (this.awaitingAck) {
      // The answer to a (re)start: this is where the server is.
      if (ack.next_chunk < this.acked) return this.lose('upload_not_found', 'Part of the recording was lost on the way.');
      this.streaming = true;
      this.sent = next;
      return this.pump();
    }
    if (this.rewindPending) return this.rewind(next, ack.next_chunk);
    return [];
  }

  /** No ack arrived after an error that needs one: go on from the last ack we have. */
  onRewindTimeout(): UploadOutput[] {
    if (!this.rewindPending || !isUploadActive(this.stage)) return [];
    this.lastRewind = null; // whatever happened since, this one is not stale
    return this.rewind(this.acked, this.acked);
  }

  /** No ack arrived after a resuming audio.start: go on from the last ack we have. */
  onStartTimeout(): UploadOutput[] {
    if (!this.awaitingAck || !isUploadActive(this.stage)) return [];
    this.streaming = true;
    this.sent = this.acked;
    return this.pump();
  }

  private rewind(next: number, reported: number): UploadOutput[] {
    this.rewindPending = false;
    // Errors about chunks that were already on their way when we last resent from `next`
    // come with that same ack: resending again would only duplicate what is in flight.
    if (this.lastRewind === next && this.acked === next && !this.truncate) return [];
    if (reported < this.acked) return this.lose('upload_not_found', 'Part of the recording was lost on the way.');
    if (this.truncate) {
      // Keep what the server took; the rest is past its limit.
      this.chunks.length = Math.min(this.chunks.length, next);
      this.truncate = false;
    }
    this.lastRewind = next;
    this.sent = next;
    this.endSent = false;
    return this.pump();
  }

  onTranscript(frame: TranscriptFinalFrame): boolean {
    if (frame.upload_id !== this.uploadId) return false;
    if (this.stage === 'cancelled' || this.stage === 'lost') return false;
    this.stage = 'transcribed';
    this.transcript = frame;
    this.problem = null;
    this.chunks = [];
    this.rewindPending = false;
    return true;
  }

  /** An error about the open recording (errors name no upload: one is open per socket). */
  onError(code: ErrorCode, message: string, retryable: boolean): UploadOutput[] {
    if (this.stage === 'cancelled') return [];
    switch (code) {
      case 'audio_out_of_order':
      case 'audio_incomplete':
        if (!isUploadActive(this.stage) || !this.started) return [];
        this.rewindPending = true;
        return [];
      case 'audio_too_long':
        if (!isUploadActive(this.stage)) return [];
        this.problem = { code, message, remedy: 'wait' };
        if (this.stage === 'recording') this.stage = 'finishing';
        this.truncate = true;
        this.rewindPending = true;
        return [];
      case 'too_many_uploads':
        if (!isUploadActive(this.stage)) return [];
        // Refused at audio.start: the server holds nothing new. Try again later from the start.
        this.started = false;
        this.streaming = false;
        this.everStarted = this.everStartedBeforeThisStart;
        this.problem = { code, message, remedy: retryable ? 'retry-start' : 'record-again' };
        return [];
      case 'audio_not_started':
        // Not started on this socket (refused, e.g. too_many_uploads): the chunks that followed
        // the refused start are refused too; the retry deals with it.
        if (!isUploadActive(this.stage) || !this.started) return [];
        if (this.notStartedRetries >= 1) return this.lose(code, message);
        // The server does not know our start (it may have lost it): start again, then go on
        // from where its ack says.
        this.notStartedRetries += 1;
        this.started = false;
        this.everStarted = true;
        return this.open();
      case 'transcription_failed':
        if (this.stage !== 'transcribing' && this.stage !== 'finishing') return [];
        this.stage = 'failed';
        this.problem = { code, message, remedy: retryable ? 'retry-transcription' : 'record-again' };
        return [];
      case 'audio_format_unsupported':
        return this.lose(code, message, 'type');
      case 'upload_not_found':
      case 'upload_id_reused':
        if (this.stage === 'lost') return [];
        return this.lose(code, message);
      default:
        return [];
    }
  }

  /** "Try again" after too_many_uploads: audio.start once more. */
  retryStart(): UploadOutput[] {
    if (!isUploadActive(this.stage) || this.started) return [];
    this.problem = null;
    return this.open();
  }

  /** "Try again" after transcription_failed: audio.end once more. */
  retryTranscription(): UploadOutput[] {
    if (this.stage !== 'failed') return [];
    this.stage = 'transcribing';
    this.problem = null;
    this.endSent = false;
    return this.started ? this.pump() : this.open();
  }

  private lose(code: ErrorCode, message: string, remedy: UploadRemedy = 'record-again'): UploadOutput[] {
    this.stage = 'lost';
    this.problem = { code, message, remedy };
    this.chunks = [];
    this.rewindPending = false;
    return [];
  }
}

/** A random upload id: 22 characters of base64url (128 bits). */
export function newUploadId(random: (bytes: Uint8Array) => Uint8Array = (b) => crypto.getRandomValues(b)): string {
  const bytes = random(new Uint8Array(16));
  let binary = '';
  bytes.forEach((b) => (binary += String.fromCharCode(b)));
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
