import { describe, expect, it } from 'vitest';
import { floatToInt16, int16ToLittleEndian, Resampler } from './pcm';
import { PREROLL_MS, RecorderCore, type RecorderEvent } from './recorder';

const IN = 48_000;

function tone(seconds: number, amplitude = 0.3, offset = 0): Float32Array {
  const out = new Float32Array(Math.round(IN * seconds));
  for (let i = 0; i < out.length; i++) out[i] = amplitude * Math.sin((2 * Math.PI * 440 * (i + offset)) / IN);
  return out;
}

/** Feeds `signal` 128 samples at a time, as the audio thread does. */
function feed(core: RecorderCore, signal: Float32Array): RecorderEvent[] {
  const events: RecorderEvent[] = [];
  for (let at = 0; at < signal.length; at += 128) events.push(...core.process(signal.subarray(at, at + 128)));
  return events;
}

const chunksOf = (events: RecorderEvent[]) =>
  events.filter((e): e is Extract<RecorderEvent, { type: 'chunk' }> => e.type === 'chunk');

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

const make = () => new RecorderCore({ inputRate: IN, outputRate: 16_000, chunkBytes: 8000 });

describe('RecorderCore (what the capture worklet runs)', () => {
  it('reports a level every 20 ms whether or not it records, and sends no audio until asked', () => {
    const core = make();
    const events = feed(core, tone(1));
    const levels = events.filter((e) => e.type === 'level');
    expect(levels.length).toBeGreaterThanOrEqual(49);
    expect(levels.length).toBeLessThanOrEqual(50);
    // A 0.3 sine is about -13.5 dBFS.
    expect((levels.at(-1) as { db: number }).db).toBeCloseTo(-13.5, 0);
    expect(chunksOf(events)).toHaveLength(0);
  });

  it('records 16 kHz 16-bit little-endian PCM in 8000-byte chunks, then a shorter last one and "stopped"', () => {
    const core = make();
    feed(core, tone(0.2));
    const start = core.start(7, false);
    expect(start).toEqual([]);
    const during = feed(core, tone(1.1, 0.3, 0.2 * IN));
    const chunks = chunksOf(during);
    expect(chunks.length).toBe(4);
    chunks.forEach((c) => {
      expect(c.take).toBe(7);
      expect(c.pcm.byteLength).toBe(8000);
    });
    const stop = core.stop(7);
    expect(stop.at(-1)).toEqual({ type: 'stopped', take: 7 });
    const last = chunksOf(stop);
    expect(last).toHaveLength(1);
    expect(last[0].pcm.byteLength).toBeGreaterThan(0);
    expect(last[0].pcm.byteLength).toBeLessThan(8000);
    expect(last[0].pcm.byteLength % 2).toBe(0);
    // About 1.1 s at 16 kHz, 2 bytes a sample.
    const total = [...chunks, ...last].reduce((n, c) => n + c.pcm.byteLength, 0);
    expect(Math.abs(total - 1.1 * 16_000 * 2)).toBeLessThanOrEqual(4);
  });

  it('sends exactly the resampled samples, in order', () => {
    const core = make();
    const reference = new Resampler(IN, 16_000);
    core.start(1, false);
    const signal = tone(0.6);
    const events = feed(core, signal);
    events.push(...core.stop(1));
    const expected: number[] = [];
    for (let at = 0; at < signal.length; at += 128) expected.push(...reference.process(signal.subarray(at, at + 128)));
    const sent = concat(chunksOf(events).map((c) => c.pcm));
    expect([...sent]).toEqual([...int16ToLittleEndian(floatToInt16(Float32Array.from(expected)))]);
  });

  it('begins a recording with the last 400 ms when asked for pre-roll (the start of a barge-in)', () => {
    const core = make();
    feed(core, new Float32Array(IN)); // a second of silence
    feed(core, tone(0.3)); // speech starts, not recording yet
    const events = core.start(2, true);
    events.push(...core.stop(2));
    const pcm = concat(chunksOf(events).map((c) => c.pcm));
    expect(pcm.byteLength).toBe((PREROLL_MS / 1000) * 16_000 * 2);
    // The last 300 ms of it is the speech (loud), the 100 ms before it the silence.
    const view = new DataView(pcm.buffer);
    const peak = (from: number, to: number) => {
      let max = 0;
      for (let i = from; i < to; i += 2) max = Math.max(max, Math.abs(view.getInt16(i, true)));
      return max;
    };
    expect(peak(0, 1000)).toBeLessThan(50);
    expect(peak(pcm.byteLength - 4000, pcm.byteLength)).toBeGreaterThan(8000);
  });

  it('starts a new take cleanly, closing the one before', () => {
    const core = make();
    core.start(1, false);
    feed(core, tone(0.1));
    const events = core.start(2, false);
    expect(events.at(-1)).toEqual({ type: 'stopped', take: 1 });
    expect(chunksOf(events).every((c) => c.take === 1)).toBe(true);
    expect(chunksOf(feed(core, tone(0.3))).every((c) => c.take === 2)).toBe(true);
    // Stopping a take that is not recording only confirms it.
    expect(core.stop(1)).toEqual([{ type: 'stopped', take: 1 }]);
    expect(core.recording).toBe(2);
  });
});
