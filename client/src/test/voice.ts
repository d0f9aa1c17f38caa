/**
 * A microphone for tests: levels and PCM chunks on demand, as the Web Audio one would deliver
 * them (a level per 20 ms, an 8000-byte chunk per 250 ms of recording, the rest on stop).
 */
import type { Microphone } from '../voice/microphone';

export const LOUD_DB = -25;
export const QUIET_DB = -75;

export class FakeMicrophone implements Microphone {
  onLevel: ((db: number) => void) | null = null;
  onChunk: ((pcm: Uint8Array, take: number) => void) | null = null;
  suspended = false;
  take: number | null = null;
  /** Every recording started: its take and whether it asked for pre-roll. */
  starts: { take: number; preroll: boolean }[] = [];
  played: Uint8Array[] = [];
  closed = false;
  private pending = 0;

  startRecording(take: number, preroll: boolean): void {
    this.take = take;
    this.starts.push({ take, preroll });
    this.pending = 0;
  }

  async stopRecording(take: number): Promise<void> {
    if (this.take !== take) return;
    if (this.pending > 0) this.onChunk?.(new Uint8Array(this.pending), take);
    this.pending = 0;
    this.take = null;
  }

  async resume(): Promise<void> {
    this.suspended = false;
  }

  async play(pcm: Uint8Array): Promise<void> {
    this.played.push(pcm);
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /** `ms` of sound at `db`: a level per 20 ms, and chunks while recording. */
  sound(ms: number, db: number): void {
    for (let t = 0; t < ms; t += 20) {
      this.onLevel?.(db);
      if (this.take !== null) {
        this.pending += 640; // 20 ms at 16 kHz, 2 bytes a sample
        if (this.pending >= 8000) {
          this.pending -= 8000;
          this.onChunk?.(new Uint8Array(8000), this.take);
        }
      }
    }
  }

  speak(ms: number): void {
    this.sound(ms, LOUD_DB);
  }

  silence(ms: number): void {
    this.sound(ms, QUIET_DB);
  }
}
