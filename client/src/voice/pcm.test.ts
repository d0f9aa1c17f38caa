import { describe, expect, it } from 'vitest';
import {
  floatToInt16,
  int16ToLittleEndian,
  littleEndianToFloat,
  meterFraction,
  PcmChunker,
  resample,
  Resampler,
  rmsDbfs,
  SILENCE_DBFS,
} from './pcm';

function sine(frequency: number, rate: number, seconds: number, amplitude = 0.5): Float32Array {
  const out = new Float32Array(Math.round(rate * seconds));
  for (let i = 0; i < out.length; i++) out[i] = amplitude * Math.sin((2 * Math.PI * frequency * i) / rate);
  return out;
}

/** Amplitude of `frequency` in `signal` (a single-bin DFT over the middle, away from the edges). */
function amplitudeAt(signal: Float32Array, rate: number, frequency: number): number {
  const from = Math.floor(signal.length * 0.2);
  const to = Math.floor(signal.length * 0.8);
  let re = 0;
  let im = 0;
  for (let i = from; i < to; i++) {
    re += signal[i] * Math.cos((2 * Math.PI * frequency * i) / rate);
    im -= signal[i] * Math.sin((2 * Math.PI * frequency * i) / rate);
  }
  return (2 * Math.hypot(re, im)) / (to - from);
}

/** Naive decimation (every third sample), to show what the filter prevents. */
function decimate(signal: Float32Array, factor: number): Float32Array {
  return Float32Array.from({ length: Math.floor(signal.length / factor) }, (_, i) => signal[i * factor]);
}

describe('resampling 48 kHz to 16 kHz', () => {
  it('keeps a 1 kHz tone at its level and frequency, with a third of the samples', () => {
    const input = sine(1000, 48_000, 0.5);
    const output = resample(input, 48_000, 16_000);
    expect(output.length).toBe(8000);
    expect(amplitudeAt(output, 16_000, 1000)).toBeCloseTo(0.5, 2);
  });

  it('filters out a 12 kHz tone instead of folding it onto 4 kHz, as plain decimation does', () => {
    const input = sine(12_000, 48_000, 0.5);
    // Decimating 12 kHz at 48 kHz to 16 kHz aliases it to 4 kHz at full strength.
    expect(amplitudeAt(decimate(input, 3), 16_000, 4000)).toBeGreaterThan(0.45);
    const output = resample(input, 48_000, 16_000);
    expect(amplitudeAt(output, 16_000, 4000)).toBeLessThan(0.5 * 10 ** (-40 / 20)); // 40 dB down
    expect(rmsDbfs(output.subarray(200, -200))).toBeLessThan(-45);
  });

  it('gives the same samples block by block (128 at a time, as a worklet) as all at once', () => {
    const input = sine(440, 48_000, 0.1);
    const whole = new Resampler(48_000, 16_000).process(input);
    const streaming = new Resampler(48_000, 16_000);
    const parts: number[] = [];
    for (let at = 0; at < input.length; at += 128) parts.push(...streaming.process(input.subarray(at, at + 128)));
    expect(parts.length).toBe(whole.length);
    parts.forEach((v, i) => expect(v).toBeCloseTo(whole[i], 6));
  });

  it('handles a 44.1 kHz microphone (a ratio that is not a whole number)', () => {
    const input = sine(1000, 44_100, 0.5);
    const output = resample(input, 44_100, 16_000);
    expect(output.length).toBe(8000);
    expect(amplitudeAt(output, 16_000, 1000)).toBeCloseTo(0.5, 2);
  });

  it('passes a constant level through unchanged (unity gain at DC)', () => {
    const output = resample(new Float32Array(4800).fill(0.25), 48_000, 16_000);
    for (const v of output.subarray(100, 1500)) expect(v).toBeCloseTo(0.25, 5);
  });
});

describe('PCM packing', () => {
  it('scales floats to 16-bit, clipping what is out of range', () => {
    expect([...floatToInt16(Float32Array.from([0, 1, -1, 0.5, -0.5, 2, -3]))]).toEqual([
      0, 32767, -32768, 16384, -16384, 32767, -32768,
    ]);
  });

  it('writes little-endian bytes, low byte first', () => {
    const bytes = int16ToLittleEndian(Int16Array.from([0x0102, -2]));
    expect([...bytes]).toEqual([0x02, 0x01, 0xfe, 0xff]);
  });

  it('reads its own bytes back', () => {
    const back = littleEndianToFloat(int16ToLittleEndian(floatToInt16(Float32Array.from([0.25, -0.75]))));
    expect(back[0]).toBeCloseTo(0.25, 3);
    expect(back[1]).toBeCloseTo(-0.75, 3);
  });
});

describe('levels', () => {
  it('measures RMS in dBFS: a full-scale sine is about -3 dB, half scale -9 dB, silence the floor', () => {
    expect(rmsDbfs(sine(1000, 16_000, 0.1, 1))).toBeCloseTo(-3.01, 1);
    expect(rmsDbfs(sine(1000, 16_000, 0.1, 0.5))).toBeCloseTo(-9.03, 1);
    expect(rmsDbfs(new Float32Array(320))).toBe(SILENCE_DBFS);
  });

  it('maps levels to a meter from -60 dB (empty) to 0 dB (full)', () => {
    expect(meterFraction(-80)).toBe(0);
    expect(meterFraction(-30)).toBeCloseTo(0.5);
    expect(meterFraction(3)).toBe(1);
  });
});

describe('PcmChunker', () => {
  it('cuts a byte stream into fixed chunks whatever the pieces, and flushes the rest', () => {
    const chunker = new PcmChunker(8);
    const bytes = Uint8Array.from({ length: 21 }, (_, i) => i);
    const chunks = [...chunker.push(bytes.subarray(0, 5)), ...chunker.push(bytes.subarray(5, 19)), ...chunker.push(bytes.subarray(19))];
    expect(chunks.map((c) => [...c])).toEqual([
      [0, 1, 2, 3, 4, 5, 6, 7],
      [8, 9, 10, 11, 12, 13, 14, 15],
    ]);
    expect([...(chunker.flush() ?? [])]).toEqual([16, 17, 18, 19, 20]);
    expect(chunker.flush()).toBeNull();
  });
});
