/**
 * Binary frames of a recording: a 4-byte unsigned big-endian chunk index, then that chunk's PCM
 * (16-bit little-endian mono, an even number of bytes). The sizes come from the protocol's limits.
 */
import { AUDIO_CHUNK_HEADER_BYTES, AUDIO_SAMPLE_RATE, MAX_CHUNK_AUDIO_BYTES } from '../api/protocol';
import { BYTES_PER_SAMPLE } from './pcm';

/** About a quarter second per chunk: small enough to resend cheaply, few enough frames. */
export const CHUNK_MS = 250;
export const CHUNK_BYTES = (AUDIO_SAMPLE_RATE * BYTES_PER_SAMPLE * CHUNK_MS) / 1000;

if (CHUNK_BYTES > MAX_CHUNK_AUDIO_BYTES) {
  throw new Error(`chunks of ${CHUNK_BYTES} bytes exceed the protocol's ${MAX_CHUNK_AUDIO_BYTES}`);
}

/** The binary frame for chunk `index`. */
export function frameChunk(index: number, pcm: Uint8Array): Uint8Array {
  if (!Number.isInteger(index) || index < 0 || index > 0xffffffff) {
    throw new RangeError(`chunk index must be a 32-bit unsigned integer, got ${index}`);
  }
  if (pcm.byteLength % BYTES_PER_SAMPLE !== 0) {
    throw new RangeError(`a chunk holds whole 16-bit samples, got ${pcm.byteLength} bytes`);
  }
  if (pcm.byteLength > MAX_CHUNK_AUDIO_BYTES) {
    throw new RangeError(`a chunk holds at most ${MAX_CHUNK_AUDIO_BYTES} bytes, got ${pcm.byteLength}`);
  }
  const frame = new Uint8Array(AUDIO_CHUNK_HEADER_BYTES + pcm.byteLength);
  new DataView(frame.buffer).setUint32(0, index, false);
  frame.set(pcm, AUDIO_CHUNK_HEADER_BYTES);
  return frame;
}

/** Reads a binary frame back (what the server does; used by tests). */
export function parseChunkFrame(frame: Uint8Array): { index: number; pcm: Uint8Array } {
  if (frame.byteLength < AUDIO_CHUNK_HEADER_BYTES) throw new RangeError('frame shorter than its header');
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  return { index: view.getUint32(0, false), pcm: frame.subarray(AUDIO_CHUNK_HEADER_BYTES) };
}

/** Milliseconds of audio in `bytes` of PCM. */
export function pcmDurationMs(bytes: number): number {
  return (bytes / BYTES_PER_SAMPLE / AUDIO_SAMPLE_RATE) * 1000;
}
