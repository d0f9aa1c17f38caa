/**
 * The microphone as the rest of the app sees it (an interface, so tests use a fake), and why
 * opening it can fail, in words a candidate can act on. The Web Audio implementation is in
 * `capture.ts`.
 */

/** An open microphone: levels always, PCM chunks while a recording is on. */
export interface Microphone {
  /** RMS level in dBFS, once per ~20 ms frame. */
  onLevel: ((db: number) => void) | null;
  /** A chunk of 16 kHz 16-bit little-endian PCM of recording `take`. */
  onChunk: ((pcm: Uint8Array, take: number) => void) | null;
  /** True while the browser holds the audio back until the page is clicked (autoplay rules). */
  readonly suspended: boolean;
  /** Starts recording `take` (with `preroll`, from a moment before now). */
  startRecording(take: number, preroll: boolean): void;
  /** Stops `take`; resolves once its last chunk has been delivered. */
  stopRecording(take: number): Promise<void>;
  /** Lets audio flow after a click, when the browser started it suspended. */
  resume(): Promise<void>;
  /** Plays 16 kHz PCM back (the microphone check's test clip). */
  play(pcm: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

export type OpenMicrophone = () => Promise<Microphone>;

export type MicProblem =
  | 'insecure'
  | 'unsupported'
  | 'no-worklet'
  | 'denied'
  | 'no-device'
  | 'busy'
  | 'worklet-failed'
  | 'silent'
  | 'failed';

/** Why the microphone cannot be used, said plainly, with what to do about it. */
export const MIC_PROBLEMS: Record<MicProblem, { title: string; text: string }> = {
  insecure: {
    title: 'Voice answers need a secure connection',
    text: 'Browsers only share the microphone with pages opened over https (or on localhost). Open the app over https, or type your answers.',
  },
  unsupported: {
    title: 'This browser cannot use a microphone here',
    text: 'It does not offer microphone access to web pages. Try a current Chrome, Edge, Firefox or Safari, or type your answers.',
  },
  'no-worklet': {
    title: 'This browser cannot process audio for voice answers',
    text: 'It lacks AudioWorklet, which recording needs. Update the browser, or type your answers.',
  },
  denied: {
    title: 'Microphone access is blocked',
    text: 'Allow the microphone for this site (the icon in the address bar, or the browser’s site settings), then check again. Or type your answers.',
  },
  'no-device': {
    title: 'No microphone was found',
    text: 'Connect a microphone or headset and check again, or type your answers.',
  },
  busy: {
    title: 'The microphone could not be started',
    text: 'Another app may be using it, or the system blocked it. Close other apps that use the microphone and check again, or type your answers.',
  },
  'worklet-failed': {
    title: 'The audio recorder could not be loaded',
    text: 'Reload the page and check again. If it keeps failing, type your answers.',
  },
  silent: {
    title: 'We could not hear you',
    text: 'The test recording was silent. Check that the right microphone is selected and not muted, speak up, and check again. Or type your answers.',
  },
  failed: {
    title: 'The microphone could not be used',
    text: 'Something went wrong while starting it. Check again, or type your answers.',
  },
};

/** A failure with a known cause, thrown by `openMicrophone`. */
export class MicrophoneError extends Error {
  constructor(
    readonly problem: MicProblem,
    message: string = MIC_PROBLEMS[problem].title,
  ) {
    super(message);
    this.name = 'MicrophoneError';
  }
}

/** The parts of the browser that voice answers need (injectable for tests). */
export interface MicEnvironment {
  isSecureContext: boolean;
  mediaDevices: { getUserMedia?: unknown } | undefined;
  AudioContext: unknown;
  AudioWorkletNode: unknown;
}

export function browserMicEnvironment(): MicEnvironment {
  const w = typeof window === 'undefined' ? undefined : (window as unknown as Record<string, unknown>);
  return {
    isSecureContext: w ? Boolean(w.isSecureContext) : false,
    mediaDevices: typeof navigator === 'undefined' ? undefined : navigator.mediaDevices,
    AudioContext: w?.AudioContext ?? w?.webkitAudioContext,
    AudioWorkletNode: w?.AudioWorkletNode,
  };
}

/** What rules voice answers out before the browser is even asked (null: worth asking). */
export function micSupportProblem(env: MicEnvironment): MicProblem | null {
  if (!env.isSecureContext) return 'insecure';
  if (!env.mediaDevices || typeof env.mediaDevices.getUserMedia !== 'function') return 'unsupported';
  if (typeof env.AudioContext !== 'function' || typeof env.AudioWorkletNode !== 'function') return 'no-worklet';
  return null;
}

/** The problem behind an error from getUserMedia or from starting the audio graph. */
export function classifyMicError(error: unknown): MicProblem {
  if (error instanceof MicrophoneError) return error.problem;
  const name = typeof error === 'object' && error !== null ? String((error as { name?: unknown }).name ?? '') : '';
  switch (name) {
    case 'NotAllowedError':
    case 'PermissionDeniedError':
    case 'SecurityError':
      return 'denied';
    case 'NotFoundError':
    case 'DevicesNotFoundError':
    case 'OverconstrainedError':
      return 'no-device';
    case 'NotReadableError':
    case 'TrackStartError':
    case 'AbortError':
      return 'busy';
    default:
      return 'failed';
  }
}
