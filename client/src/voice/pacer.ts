/**
 * Keeps audio within what the server accepts on one socket: it closes a socket (4429) whose
 * audio outruns a token bucket of 30 s of audio refilled at 4× real time (docs/protocol.md,
 * "Limits"). Recording live uses 1×; only resending a backlog after a reconnect can come near,
 * so the backlog goes out at once up to a margin below the burst, then at a bit under 4×.
 */
import { AUDIO_SAMPLE_RATE } from '../api/protocol';
import { BYTES_PER_SAMPLE } from './pcm';

export const AUDIO_BYTES_PER_SECOND = AUDIO_SAMPLE_RATE * BYTES_PER_SAMPLE;

export class AudioPacer {
  private tokens: number;
  private updated: number;

  constructor(
    private readonly now: () => number = Date.now,
    readonly bytesPerSecond: number = 3.5 * AUDIO_BYTES_PER_SECOND,
    readonly burstBytes: number = 24 * AUDIO_BYTES_PER_SECOND,
  ) {
    this.tokens = burstBytes;
    this.updated = now();
  }

  /** A new socket: the server's bucket for it starts full. */
  reset(): void {
    this.tokens = this.burstBytes;
    this.updated = this.now();
  }

  private refill(): void {
    const now = this.now();
    this.tokens = Math.min(this.burstBytes, this.tokens + ((now - this.updated) / 1000) * this.bytesPerSecond);
    this.updated = now;
  }

  /** Takes `bytes` if they may go now. */
  take(bytes: number): boolean {
    this.refill();
    if (this.tokens < bytes) return false;
    this.tokens -= bytes;
    return true;
  }

  /** How long until `bytes` may go. */
  waitMs(bytes: number): number {
    this.refill();
    return this.tokens >= bytes ? 0 : Math.ceil(((bytes - this.tokens) / this.bytesPerSecond) * 1000);
  }
}
