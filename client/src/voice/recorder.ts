/**
 * What the capture worklet does with the microphone, as plain code: resample to 16 kHz, report
 * a level per ~20 ms frame (always, for the meter and voice activity detection), and while a
 * recording is on, cut its 16-bit PCM into fixed-size chunks. A short pre-roll of the most
 * recent audio is kept, so a recording started by detected speech keeps the speech's first
 * syllable. `pcm-worklet.ts` only wires this to the audio thread's message port.
 */
import { floatToInt16, int16ToLittleEndian, PcmChunker, Resampler, rmsDbfs } from './pcm';

export interface RecorderOptions {
  inputRate: number;
  outputRate: number;
  chunkBytes: number;
  /** Length of one level frame. */
  frameMs?: number;
  /** Audio kept from before a recording starts, for `start(…, preroll = true)`. */
  prerollMs?: number;
}

export type RecorderEvent =
  | { type: 'level'; db: number }
  | { type: 'chunk'; take: number; pcm: Uint8Array }
  /** The recording `take` has stopped: every one of its chunks came before this. */
  | { type: 'stopped'; take: number };

/** Messages from the main thread to the worklet. */
export type RecorderCommand =
  | { type: 'start'; take: number; preroll: boolean }
  | { type: 'stop'; take: number };

/** The name the worklet registers its processor under. */
export const PROCESSOR_NAME = 'pcm-capture';
export const LEVEL_FRAME_MS = 20;
export const PREROLL_MS = 400;

export class RecorderCore {
  private readonly resampler: Resampler;
  private readonly frameSamples: number;
  private readonly prerollSamples: number;
  private frame: Float32Array;
  private frameFill = 0;
  /** The last prerollSamples output samples, oldest first once unrolled. */
  private readonly ring: Int16Array;
  private ringAt = 0;
  private ringFill = 0;
  private take: number | null = null;
  private chunker: PcmChunker;

  constructor(private readonly options: RecorderOptions) {
    this.resampler = new Resampler(options.inputRate, options.outputRate);
    this.frameSamples = Math.round(((options.frameMs ?? LEVEL_FRAME_MS) * options.outputRate) / 1000);
    this.frame = new Float32Array(this.frameSamples);
    this.prerollSamples = Math.round(((options.prerollMs ?? PREROLL_MS) * options.outputRate) / 1000);
    this.ring = new Int16Array(Math.max(1, this.prerollSamples));
    this.chunker = new PcmChunker(options.chunkBytes);
  }

  get recording(): number | null {
    return this.take;
  }

  /** One block of microphone samples at the input rate. */
  process(input: Float32Array): RecorderEvent[] {
    const events: RecorderEvent[] = [];
    const samples = this.resampler.process(input);
    if (samples.length === 0) return events;

    for (let i = 0; i < samples.length; i++) {
      this.frame[this.frameFill++] = samples[i];
      if (this.frameFill === this.frameSamples) {
        events.push({ type: 'level', db: rmsDbfs(this.frame) });
        this.frameFill = 0;
      }
    }

    const pcm = floatToInt16(samples);
    if (this.take !== null) {
      for (const chunk of this.chunker.push(int16ToLittleEndian(pcm))) {
        events.push({ type: 'chunk', take: this.take, pcm: chunk });
      }
    }
    this.remember(pcm);
    return events;
  }

  /** Starts recording `take`; with `preroll`, the recording begins with the last PREROLL_MS. */
  start(take: number, preroll: boolean): RecorderEvent[] {
    const events = this.take !== null ? this.stop(this.take) : [];
    this.take = take;
    this.chunker = new PcmChunker(this.options.chunkBytes);
    if (preroll && this.ringFill > 0) {
      for (const chunk of this.chunker.push(int16ToLittleEndian(this.recent()))) {
        events.push({ type: 'chunk', take, pcm: chunk });
      }
    }
    return events;
  }

  /** Stops `take`: its last, shorter chunk (if any), then `stopped`. */
  stop(take: number): RecorderEvent[] {
    if (this.take !== take) return [{ type: 'stopped', take }];
    const events: RecorderEvent[] = [];
    const rest = this.chunker.flush();
    if (rest) events.push({ type: 'chunk', take, pcm: rest });
    events.push({ type: 'stopped', take });
    this.take = null;
    return events;
  }

  private remember(pcm: Int16Array): void {
    const size = this.ring.length;
    const from = Math.max(0, pcm.length - size);
    for (let i = from; i < pcm.length; i++) {
      this.ring[this.ringAt] = pcm[i];
      this.ringAt = (this.ringAt + 1) % size;
    }
    this.ringFill = Math.min(size, this.ringFill + (pcm.length - from));
  }

  /** The pre-roll, oldest sample first. */
  private recent(): Int16Array {
    const size = this.ring.length;
    const out = new Int16Array(this.ringFill);
    const start = (this.ringAt - this.ringFill + size) % size;
    for (let i = 0; i < this.ringFill; i++) out[i] = this.ring[(start + i) % size];
    return out;
  }
}
