/**
 * What the candidate chose about voice, remembered in localStorage: how they answer (by voice or
 * typing; the last choice, and per interview so a reload keeps it) and how voice behaves.
 */

export type AnswerMode = 'voice' | 'typed';

export interface VoiceSettings {
  /** Recording starts when the question ends and stops after `silenceMs` of silence. */
  handsFree: boolean;
  silenceMs: number;
  /** Speaking while the interviewer talks stops the interviewer and starts the answer. */
  bargeIn: boolean;
  /** The interviewer's voice is off (the question still appears as text). */
  muted: boolean;
  /** The speechSynthesis voice chosen (its voiceURI), or null for the browser's default. */
  voiceUri: string | null;
}

export const DEFAULT_VOICE_SETTINGS: VoiceSettings = {
  handsFree: true,
  silenceMs: 2_000,
  bargeIn: true,
  muted: false,
  voiceUri: null,
};

/** Silences the candidate can pick for hands-free mode. */
export const SILENCE_CHOICES_MS = [1_000, 1_500, 2_000, 3_000, 4_000, 6_000];

/** Longest spoken answer (the server's default voice_max_seconds; not in the schema). */
export const MAX_RECORDING_MS = 180_000;

const SETTINGS_KEY = 'interview.voice.settings';
const LAST_MODE_KEY = 'interview.answerMode';
const modeKey = (interviewId: string) => `interview.answerMode.${interviewId}`;

function local(): Storage | null {
  try {
    return typeof localStorage === 'undefined' ? null : localStorage;
  } catch {
    return null;
  }
}

function read(storage: Storage | null, key: string): string | null {
  try {
    return storage?.getItem(key) ?? null;
  } catch {
    return null;
  }
}

function write(storage: Storage | null, key: string, value: string): void {
  try {
    storage?.setItem(key, value);
  } catch {
    // Storage full or disabled: the choice lasts for this page only.
  }
}

export function loadVoiceSettings(storage: Storage | null = local()): VoiceSettings {
  const raw = read(storage, SETTINGS_KEY);
  if (!raw) return DEFAULT_VOICE_SETTINGS;
  try {
    const saved = JSON.parse(raw) as Partial<VoiceSettings>;
    return {
      handsFree: typeof saved.handsFree === 'boolean' ? saved.handsFree : DEFAULT_VOICE_SETTINGS.handsFree,
      silenceMs:
        typeof saved.silenceMs === 'number' && saved.silenceMs >= 500 && saved.silenceMs <= 10_000
          ? saved.silenceMs
          : DEFAULT_VOICE_SETTINGS.silenceMs,
      bargeIn: typeof saved.bargeIn === 'boolean' ? saved.bargeIn : DEFAULT_VOICE_SETTINGS.bargeIn,
      muted: typeof saved.muted === 'boolean' ? saved.muted : DEFAULT_VOICE_SETTINGS.muted,
      voiceUri: typeof saved.voiceUri === 'string' ? saved.voiceUri : null,
    };
  } catch {
    return DEFAULT_VOICE_SETTINGS;
  }
}

export function saveVoiceSettings(settings: VoiceSettings, storage: Storage | null = local()): void {
  write(storage, SETTINGS_KEY, JSON.stringify(settings));
}

function asMode(value: unknown): AnswerMode | null {
  return value === 'voice' || value === 'typed' ? value : null;
}

/** The mode chosen last on the new-interview form (typing until voice has been chosen once). */
export function loadLastAnswerMode(storage: Storage | null = local()): AnswerMode {
  return asMode(read(storage, LAST_MODE_KEY)) ?? 'typed';
}

export function saveLastAnswerMode(mode: AnswerMode, storage: Storage | null = local()): void {
  write(storage, LAST_MODE_KEY, mode);
}

/** How this interview is being answered: router state first (just created), then storage. */
export function loadInterviewMode(
  interviewId: string,
  routerState: unknown,
  storage: Storage | null = local(),
): AnswerMode {
  const fromRouter = asMode((routerState as { answerMode?: unknown } | null)?.answerMode);
  return fromRouter ?? asMode(read(storage, modeKey(interviewId))) ?? 'typed';
}

export function saveInterviewMode(interviewId: string, mode: AnswerMode, storage: Storage | null = local()): void {
  write(storage, modeKey(interviewId), mode);
}
