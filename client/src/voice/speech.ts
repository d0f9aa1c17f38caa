/**
 * The interviewer's voice: reads each question aloud with the browser's speechSynthesis, sentence
 * by sentence while its words stream in. It follows the transcript (not raw frames), so replayed
 * events after a reconnect are never read twice; a regenerated turn (its `take` grows) cancels
 * what was queued for it and starts over. Without speechSynthesis or without voices it stays
 * silent and the text path is all there is.
 */
import { SentenceSplitter } from './sentences';

/** The parts of SpeechSynthesisVoice used here. */
export interface VoiceLike {
  name: string;
  lang: string;
  voiceURI: string;
  default: boolean;
}

export interface UtteranceLike {
  text: string;
  voice: VoiceLike | null;
  lang: string;
  rate: number;
  onend: ((event: unknown) => void) | null;
  onerror: ((event: unknown) => void) | null;
}

/** The parts of window.speechSynthesis used here. */
export interface SynthLike {
  speak(utterance: UtteranceLike): void;
  cancel(): void;
  getVoices(): VoiceLike[];
  addEventListener?(type: 'voiceschanged', listener: () => void): void;
  removeEventListener?(type: 'voiceschanged', listener: () => void): void;
}

export interface SpeechEnvironment {
  synth: SynthLike;
  utterance(text: string): UtteranceLike;
}

export function browserSpeech(): SpeechEnvironment | null {
  if (typeof window === 'undefined' || !('speechSynthesis' in window) || typeof SpeechSynthesisUtterance !== 'function') {
    return null;
  }
  return {
    synth: window.speechSynthesis as unknown as SynthLike,
    utterance: (text) => new SpeechSynthesisUtterance(text) as unknown as UtteranceLike,
  };
}

/** What the voice needs to know about a turn. */
export interface SpokenTurn {
  index: number;
  question: string;
  streaming: boolean;
  interrupted: boolean;
  take: number;
  answer: string | null;
  outcome: string | null;
}

interface Track {
  take: number;
  /** The question text already handed to the splitter. */
  consumed: string;
  splitter: SentenceSplitter;
  done: boolean;
}

/** English voices first (the interview is in English), the browser's default first among them. */
export function orderVoices(voices: VoiceLike[]): VoiceLike[] {
  const rank = (v: VoiceLike) => (v.lang.toLowerCase().startsWith('en') ? 0 : 1) * 2 + (v.default ? 0 : 1);
  return [...voices].sort((a, b) => rank(a) - rank(b) || a.name.localeCompare(b.name));
}

/** A stuck engine never says it finished: give up on an utterance after about this long. */
function expectedMs(text: string): number {
  return 2_500 + text.length * 90;
}

export class InterviewerVoice {
  private readonly tracks = new Map<number, Track>();
  /** Turns already on screen when the voice was first given the transcript: not read aloud. */
  private baseline: Map<number, number> | null = null;
  private readonly playing = new Set<number>();
  private readonly watchdogs = new Map<number, ReturnType<typeof setTimeout>>();
  private utteranceId = 0;
  /** When everything queued should have been read, at the latest (for the watchdogs). */
  private queueEndsAt = 0;
  private generation = 0;
  private voiceList: VoiceLike[] = [];
  private readonly listeners = new Set<() => void>();
  private muted: boolean;
  private voiceUri: string | null;

  constructor(
    private readonly env: SpeechEnvironment | null,
    options: { muted?: boolean; voiceUri?: string | null } = {},
  ) {
    this.muted = options.muted ?? false;
    this.voiceUri = options.voiceUri ?? null;
    if (env) {
      this.loadVoices();
      env.synth.addEventListener?.('voiceschanged', this.loadVoices);
    }
  }

  /** Speech can be heard: the browser has speechSynthesis and at least one voice. */
  get available(): boolean {
    return !!this.env && this.voiceList.length > 0;
  }

  /** The browser has speechSynthesis at all (voices may still be loading). */
  get supported(): boolean {
    return !!this.env;
  }

  get voices(): VoiceLike[] {
    return this.voiceList;
  }

  /** Something is queued or being read aloud. */
  get speaking(): boolean {
    return this.playing.size > 0;
  }

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  private notify(): void {
    this.listeners.forEach((l) => l());
  }

  private loadVoices = (): void => {
    if (!this.env) return;
    this.voiceList = orderVoices(this.env.synth.getVoices());
    this.notify();
  };

  setMuted(muted: boolean): void {
    this.muted = muted;
    if (muted) this.stop();
    this.notify();
  }

  setVoice(voiceUri: string | null): void {
    this.voiceUri = voiceUri;
    this.notify();
  }

  /** Stops speaking now and drops what is queued (barge-in, mute, leaving the room). */
  stop(): void {
    if (!this.env) return;
    this.generation += 1;
    const wasSpeaking = this.playing.size > 0;
    this.playing.clear();
    this.watchdogs.forEach((t) => clearTimeout(t));
    this.watchdogs.clear();
    this.queueEndsAt = 0;
    this.env.synth.cancel();
    // Whatever was left of the open turn is not read later either.
    this.tracks.forEach((track) => {
      track.done = true;
    });
    if (wasSpeaking) this.notify();
  }

  /** Follows the transcript: reads the open turn's new sentences. Call on every change. */
  update(turns: SpokenTurn[], currentTurn: number | null): void {
    if (!this.env) return;
    if (this.baseline === null) {
      this.baseline = new Map(turns.filter((t) => !t.streaming).map((t) => [t.index, t.take]));
    }
    if (currentTurn === null) return;
    const turn = turns.find((t) => t.index === currentTurn);
    if (!turn || this.baseline.get(turn.index) === turn.take) return;

    let track = this.tracks.get(turn.index);
    if (track && (track.take !== turn.take || !turn.question.startsWith(track.consumed))) {
      // Regenerated (or its words replaced after a resync): what was queued is stale.
      this.cancelQueued();
      track = undefined;
    }
    if (!track) {
      track = { take: turn.take, consumed: '', splitter: new SentenceSplitter(), done: false };
      this.tracks.set(turn.index, track);
    }
    if (track.done) return;

    if (turn.interrupted || turn.answer !== null || turn.outcome !== null) {
      // The candidate cut in (or the turn is over): stop reading it.
      track.done = true;
      this.cancelQueued();
      return;
    }
    const fresh = turn.question.slice(track.consumed.length);
    track.consumed = turn.question;
    const sentences = track.splitter.push(fresh);
    if (!turn.streaming) {
      const rest = track.splitter.flush();
      if (rest) sentences.push(rest);
      track.done = true;
    }
    if (this.muted || !this.available) return;
    for (const sentence of sentences) this.say(sentence);
  }

  private cancelQueued(): void {
    if (this.playing.size === 0) return;
    this.generation += 1;
    this.playing.clear();
    this.watchdogs.forEach((t) => clearTimeout(t));
    this.watchdogs.clear();
    this.queueEndsAt = 0;
    this.env?.synth.cancel();
    this.notify();
  }

  private say(text: string): void {
    if (!this.env) return;
    const utterance = this.env.utterance(text);
    const voice = this.voiceList.find((v) => v.voiceURI === this.voiceUri) ?? null;
    utterance.voice = voice;
    utterance.lang = voice?.lang ?? 'en-US';
    utterance.rate = 1;
    const id = ++this.utteranceId;
    const generation = this.generation;
    const finished = () => {
      // Events of utterances cancelled since belong to an older generation: ignored.
      if (generation !== this.generation || !this.playing.has(id)) return;
      this.playing.delete(id);
      clearTimeout(this.watchdogs.get(id));
      this.watchdogs.delete(id);
      if (this.playing.size === 0) this.queueEndsAt = 0;
      this.notify();
    };
    utterance.onend = finished;
    utterance.onerror = finished;
    this.playing.add(id);
    // Some engines (and voiceless headless browsers) never report the end: give up on each
    // utterance well after it should have been read, counting the ones queued before it.
    const now = Date.now();
    this.queueEndsAt = Math.max(now, this.queueEndsAt) + expectedMs(text);
    this.watchdogs.set(id, setTimeout(finished, this.queueEndsAt - now));
    this.env.synth.speak(utterance);
    if (this.playing.size === 1) this.notify();
  }

  dispose(): void {
    this.stop();
    this.env?.synth.removeEventListener?.('voiceschanged', this.loadVoices);
    this.listeners.clear();
  }
}
