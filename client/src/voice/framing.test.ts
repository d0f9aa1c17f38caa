import { describe, expect, it } from 'vitest';
import { AUDIO_CHUNK_HEADER_BYTES, MAX_CHUNK_AUDIO_BYTES } from '../api/protocol';
import { CHUNK_BYTES, frameChunk, parseChunkFrame, pcmDurationMs } from './framing';

describe('binary chunk frames', () => {
  it('are a 4-byte big-endian index followed by the PCM, as the protocol says', () => {
    expect(AUDIO_CHUNK_HEADER_BYTES).toBe(4);
    const frame = frameChunk(0x01020304, Uint8Array.from([9, 8, 7, 6]));
    expect([...frame]).toEqual([1, 2, 3, 4, 9, 8, 7, 6]);
    expect([...frameChunk(5, Uint8Array.from([1, 2])).subarray(0, 4)]).toEqual([0, 0, 0, 5]);
  });

  it('read back to the same index and samples', () => {
    const pcm = Uint8Array.from({ length: CHUNK_BYTES }, (_, i) => i % 251);
    const { index, pcm: back } = parseChunkFrame(frameChunk(4_000_000_000, pcm));
    expect(index).toBe(4_000_000_000);
    expect([...back]).toEqual([...pcm]);
  });

  it('carry a quarter second (8000 bytes) per chunk, within the largest chunk allowed', () => {
    expect(CHUNK_BYTES).toBe(8000);
    expect(pcmDurationMs(CHUNK_BYTES)).toBe(250);
    expect(CHUNK_BYTES).toBeLessThanOrEqual(MAX_CHUNK_AUDIO_BYTES);
  });

  it('refuse half samples, oversized chunks and impossible indexes', () => {
    expect(() => frameChunk(0, new Uint8Array(3))).toThrow(/whole 16-bit samples/);
    expect(() => frameChunk(0, new Uint8Array(MAX_CHUNK_AUDIO_BYTES + 2))).toThrow(/at most/);
    expect(() => frameChunk(-1, new Uint8Array(2))).toThrow(RangeError);
    expect(() => frameChunk(2 ** 32, new Uint8Array(2))).toThrow(RangeError);
  });
});
