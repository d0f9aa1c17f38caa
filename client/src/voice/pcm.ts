/**
 * Sample-rate conversion and PCM packing for spoken answers: the microphone's float samples at
 * the audio context's rate (usually 48 kHz) become 16 kHz mono 16-bit little-endian PCM. Pure
 * code, run inside the audio worklet and by the unit tests alike.
 */

export const BYTES_PER_SAMPLE = 2;

/** Lowest level reported, for silence (log10(0) would be -Infinity). */
export const SILENCE_DBFS = -100;

/**
 * A streaming windowed-sinc resampler: each output sample is the input convolved with a
 * Blackman-windowed low-pass kernel centred on the output's position. The cutoff sits below the
 * output's Nyquist frequency, so what the output cannot represent (above 8 kHz for 16 kHz) is
 * filtered out instead of folding back into the speech band as aliasing, as plain decimation
 * would. Feed it blocks of any size (an audio worklet gets 128 samples at a time): the result is
 * the same as converting the whole signal at once.
 */
export class Resampler {
  /** Input samples per output sample. */
  readonly ratio: number;
  /** Kernel half-width, in input samples. */
  private readonly half: number;
  /** Cutoff, in cycles per input sample. */
  private readonly cutoff: number;
  /** Kernels by quantised fractional phase (one only, when the ratio is a whole number). */
  private readonly kernels = new Map<number, Float64Array>();
  private history: Float32Array = new Float32Array(0);
  /** Absolute index (in input samples) of history[0]. */
  private base: number;
  /** Absolute input position of the next output sample. */
  private next = 0;
  /** Output samples produced so far; positions are n * ratio (no drift from summing). */
  private produced = 0;

  constructor(
    readonly inputRate: number,
    readonly outputRate: number,
    /** Taps on each side of the centre per output-sample period (quality vs. work). */
    zeroCrossings = 16,
  ) {
    if (!(inputRate > 0) || !(outputRate > 0)) throw new RangeError(`bad rates ${inputRate} → ${outputRate}`);
    this.ratio = inputRate / outputRate;
    // Just under the lower Nyquist frequency of the two, so the kernel's transition band ends
    // near it rather than starting there.
    this.cutoff = (0.5 * Math.min(1, 1 / this.ratio)) * 0.9;
    this.half = Math.ceil(zeroCrossings * Math.max(1, this.ratio));
    // The kernel reaches back `half` samples before the first output: treat them as silence.
    this.base = -this.half;
    this.history = new Float32Array(this.half);
  }

  /** Converts the next block of input; returns the output samples it completes. */
  process(input: Float32Array): Float32Array {
    const joined = new Float32Array(this.history.length + input.length);
    joined.set(this.history);
    joined.set(input, this.history.length);
    const end = this.base + joined.length; // absolute index one past the last input sample

    const out = new Float32Array(Math.ceil(input.length / this.ratio) + 2);
    let count = 0;
    // An output at position t needs inputs up to floor(t) + half.
    while (Math.floor(this.next) + this.half < end) {
      out[count++] = this.sampleAt(joined, this.next);
      this.produced += 1;
      this.next = this.produced * this.ratio;
    }
    // Keep what the next output's kernel still reaches back to.
    const keepFrom = Math.max(this.base, Math.floor(this.next) - this.half + 1);
    this.history = joined.slice(keepFrom - this.base);
    this.base = keepFrom;
    return out.subarray(0, count);
  }

  private sampleAt(samples: Float32Array, position: number): number {
    const centre = Math.floor(position);
    const kernel = this.kernelFor(position - centre);
    const first = centre - this.half + 1 - this.base;
    let sum = 0;
    for (let k = 0; k < kernel.length; k++) {
      const i = first + k;
      if (i >= 0 && i < samples.length) sum += samples[i] * kernel[k];
    }
    return sum;
  }

  /** Kernel taps for inputs centre-half+1 … centre+half, for an output `frac` past centre. */
  private kernelFor(frac: number): Float64Array {
    const phase = Math.round(frac * PHASES) % PHASES;
    let kernel = this.kernels.get(phase);
    if (kernel) return kernel;
    const offset = phase / PHASES;
    kernel = new Float64Array(2 * this.half);
    let total = 0;
    for (let k = 0; k < kernel.length; k++) {
      const x = k - this.half + 1 - offset; // input position relative to the output
      const u = x / this.half;
      const window = Math.abs(u) >= 1 ? 0 : 0.42 + 0.5 * Math.cos(Math.PI * u) + 0.08 * Math.cos(2 * Math.PI * u);
      const arg = 2 * this.cutoff * x;
      const sinc = arg === 0 ? 1 : Math.sin(Math.PI * arg) / (Math.PI * arg);
      kernel[k] = 2 * this.cutoff * sinc * window;
      total += kernel[k];
    }
    // Unity gain at DC, whatever the phase.
    for (let k = 0; k < kernel.length; k++) kernel[k] /= total;
    this.kernels.set(phase, kernel);
    return kernel;
  }
}

/** Fractional positions are rounded to 1/PHASES of a sample (inaudible; bounds the cache). */
const PHASES = 256;

/** Converts a whole signal at once (for tests and short clips). */
export function resample(input: Float32Array, inputRate: number, outputRate: number): Float32Array {
  const resampler = new Resampler(inputRate, outputRate);
  const head = resampler.process(input);
  // Push the kernel's reach of silence through, so the last input samples come out too.
  const tail = resampler.process(new Float32Array(Math.ceil(32 * Math.max(1, inputRate / outputRate))));
  const wanted = Math.round((input.length * outputRate) / inputRate);
  const out = new Float32Array(wanted);
  out.set(head.subarray(0, wanted));
  if (head.length < wanted) out.set(tail.subarray(0, wanted - head.length), head.length);
  return out;
}

/** Float samples in [-1, 1] to signed 16-bit integers (clipped, rounded). */
export function floatToInt16(samples: Float32Array): Int16Array {
  const out = new Int16Array(samples.length);
  for (let i = 0; i < samples.length; i++) {
    const s = Math.max(-1, Math.min(1, samples[i]));
    out[i] = Math.round(s < 0 ? s * 0x8000 : s * 0x7fff);
  }
  return out;
}

/** 16-bit samples as little-endian bytes, whatever the machine's own byte order. */
export function int16ToLittleEndian(samples: Int16Array): Uint8Array {
  const bytes = new Uint8Array(samples.length * 2);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < samples.length; i++) view.setInt16(i * 2, samples[i], true);
  return bytes;
}

/** Little-endian 16-bit PCM bytes back to float samples (for playing a test clip). */
export function littleEndianToFloat(bytes: Uint8Array): Float32Array<ArrayBuffer> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(Math.floor(bytes.byteLength / 2));
  for (let i = 0; i < out.length; i++) out[i] = view.getInt16(i * 2, true) / 0x8000;
  return out;
}

/** Root-mean-square level in dB relative to full scale (a full-scale sine is about -3). */
export function rmsDbfs(samples: ArrayLike<number>): number {
  if (samples.length === 0) return SILENCE_DBFS;
  let sum = 0;
  for (let i = 0; i < samples.length; i++) sum += samples[i] * samples[i];
  const rms = Math.sqrt(sum / samples.length);
  return rms > 0 ? Math.max(SILENCE_DBFS, 20 * Math.log10(rms)) : SILENCE_DBFS;
}

/** A level in dBFS as 0…1 for a meter (-60 dB and below read as empty). */
export function meterFraction(db: number, floorDb = -60): number {
  if (!(db > floorDb)) return 0;
  return Math.min(1, (db - floorDb) / -floorDb);
}

/**
 * Cuts a stream of PCM bytes into chunks of exactly `size` bytes; `flush` returns the rest (a
 * shorter final chunk), if any.
 */
export class PcmChunker {
  private buffer: Uint8Array;
  private filled = 0;

  constructor(readonly size: number) {
    if (size <= 0 || size % BYTES_PER_SAMPLE !== 0) throw new RangeError(`bad chunk size ${size}`);
    this.buffer = new Uint8Array(size);
  }

  push(bytes: Uint8Array): Uint8Array[] {
    const chunks: Uint8Array[] = [];
    let at = 0;
    while (at < bytes.byteLength) {
      const take = Math.min(this.size - this.filled, bytes.byteLength - at);
      this.buffer.set(bytes.subarray(at, at + take), this.filled);
      this.filled += take;
      at += take;
      if (this.filled === this.size) {
        chunks.push(this.buffer);
        this.buffer = new Uint8Array(this.size);
        this.filled = 0;
      }
    }
    return chunks;
  }

  flush(): Uint8Array | null {
    if (this.filled === 0) return null;
    const rest = this.buffer.slice(0, this.filled);
    this.filled = 0;
    return rest;
  }

  /** Bytes waiting for a full chunk. */
  get pending(): number {
    return this.filled;
  }
}
