/**
 * The microphone check before a voice interview is created (before its credit is spent): can
 * this browser record here, may we use the microphone, and does it hear the candidate? It
 * records a short clip with a live level, plays it back, and passes when the clip had speech-
 * level sound in it.
 */
import {
  browserMicEnvironment,
  classifyMicError,
  micSupportProblem,
  type MicEnvironment,
  type MicProblem,
  type Microphone,
  type OpenMicrophone,
} from './microphone';

export type MicCheckStep = 'asking' | 'recording' | 'playing';

export type MicCheckResult = { ok: true; peakDb: number } | { ok: false; problem: MicProblem; peakDb: number | null };

export const TEST_CLIP_MS = 3_000;
/** The loudest 20 ms of the clip must reach this for the check to pass (a quiet voice is about -40). */
export const HEARD_DB = -50;

export interface MicCheckOptions {
  open: OpenMicrophone;
  env?: MicEnvironment;
  clipMs?: number;
  onStep?: (step: MicCheckStep) => void;
  onLevel?: (db: number) => void;
  /** Waits `ms` (a timer; tests pass their own). */
  wait?: (ms: number) => Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function runMicCheck(options: MicCheckOptions): Promise<MicCheckResult> {
  const { open, env = browserMicEnvironment(), clipMs = TEST_CLIP_MS, onStep, onLevel, wait = sleep } = options;
  const unsupported = micSupportProblem(env);
  if (unsupported) return { ok: false, problem: unsupported, peakDb: null };

  onStep?.('asking');
  let mic: Microphone;
  try {
    mic = await open();
  } catch (error) {
    return { ok: false, problem: classifyMicError(error), peakDb: null };
  }
  try {
    let peak = -Infinity;
    const clip: Uint8Array[] = [];
    mic.onLevel = (db) => {
      peak = Math.max(peak, db);
      onLevel?.(db);
    };
    mic.onChunk = (pcm) => clip.push(pcm);
    if (mic.suspended) await mic.resume().catch(() => undefined);
    onStep?.('recording');
    mic.startRecording(1, false);
    await wait(clipMs);
    await mic.stopRecording(1);
    const peakDb = Number.isFinite(peak) ? peak : -Infinity;
    if (clip.length === 0 || peakDb < HEARD_DB) {
      return { ok: false, problem: 'silent', peakDb: Number.isFinite(peakDb) ? peakDb : null };
    }
    onStep?.('playing');
    await mic.play(joinChunks(clip)).catch(() => undefined);
    return { ok: true, peakDb };
  } catch (error) {
    return { ok: false, problem: classifyMicError(error), peakDb: null };
  } finally {
    mic.onLevel = null;
    mic.onChunk = null;
    await mic.close().catch(() => undefined);
  }
}

function joinChunks(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/** The Web Audio microphone, loaded when first needed (it is not part of the main bundle). */
export const openBrowserMicrophone: OpenMicrophone = () => import('./capture').then((m) => m.openMicrophone());
