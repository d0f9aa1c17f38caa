/**
 * Voice activity detection on microphone levels (one RMS level in dBFS per ~20 ms frame), with
 * hysteresis twice over: speech starts only after the level stays above `startDb` for `startMs`
 * (a cough or a click does not count), and once started it ends only after the level stays below
 * the lower `stopDb` for `silenceMs` (a pause between words does not end it).
 */

export interface VadOptions {
  /** A frame at or above this level counts towards speech starting. */
  startDb: number;
  /** Once speaking, a frame below this level counts as silence (lower than startDb). */
  stopDb: number;
  /** Voice this long without a break starts speech. */
  startMs: number;
  /** Silence this long without a break, after speech, ends it. */
  silenceMs: number;
}

/** For answers: a normal speaking voice on a laptop or headset microphone. */
export const ANSWER_VAD: Omit<VadOptions, 'silenceMs'> = { startDb: -45, stopDb: -52, startMs: 150 };

/**
 * For barge-in while the interviewer's voice may be playing through speakers: louder and longer,
 * so what leaks from the speakers into the microphone (after echo cancellation) rarely counts.
 */
export const BARGE_IN_VAD: VadOptions = { startDb: -34, stopDb: -45, startMs: 300, silenceMs: 600 };

export type VadEvent = 'speech-start' | 'speech-end';

export class VoiceActivityDetector {
  private voicedMs = 0;
  private silentMs = 0;
  private inSpeech = false;

  constructor(private options: VadOptions) {
    if (options.stopDb > options.startDb) {
      throw new RangeError(`stopDb (${options.stopDb}) must not be above startDb (${options.startDb})`);
    }
  }

  get speaking(): boolean {
    return this.inSpeech;
  }

  /** Changes the thresholds or the silence (e.g. a new setting) without losing the state. */
  configure(options: Partial<VadOptions>): void {
    this.options = { ...this.options, ...options };
  }

  /** Feeds one frame's level; returns the event it causes, if any. */
  push(levelDb: number, frameMs: number): VadEvent | null {
    const { startDb, stopDb, startMs, silenceMs } = this.options;
    if (!this.inSpeech) {
      this.voicedMs = levelDb >= startDb ? this.voicedMs + frameMs : 0;
      if (this.voicedMs >= startMs) {
        this.inSpeech = true;
        this.silentMs = 0;
        return 'speech-start';
      }
      return null;
    }
    this.silentMs = levelDb < stopDb ? this.silentMs + frameMs : 0;
    if (this.silentMs >= silenceMs) {
      this.inSpeech = false;
      this.voicedMs = 0;
      return 'speech-end';
    }
    return null;
  }

  /** Starts over; `speaking`: as if speech had just started (a recording begun by detected speech). */
  reset(speaking = false): void {
    this.voicedMs = 0;
    this.silentMs = 0;
    this.inSpeech = speaking;
  }
}
