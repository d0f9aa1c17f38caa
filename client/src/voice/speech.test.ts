import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { InterviewerVoice, orderVoices, type SpokenTurn, type SynthLike, type UtteranceLike, type VoiceLike } from './speech';

const VOICES: VoiceLike[] = [
  { name: 'Thomas', lang: 'fr-FR', voiceURI: 'fr', default: true },
  { name: 'Samantha', lang: 'en-US', voiceURI: 'samantha', default: false },
  { name: 'Daniel', lang: 'en-GB', voiceURI: 'daniel', default: false },
];

class FakeSynth implements SynthLike {
  spoken: UtteranceLike[] = [];
  queue: UtteranceLike[] = [];
  cancels = 0;
  voices: VoiceLike[] = VOICES;
  private changed: (() => void) | null = null;

  speak(utterance: UtteranceLike) {
    this.spoken.push(utterance);
    this.queue.push(utterance);
  }
  cancel() {
    this.cancels += 1;
    const dropped = this.queue;
    this.queue = [];
    // Browsers report cancelled utterances as errors.
    dropped.forEach((u) => u.onerror?.({ error: 'canceled' }));
  }
  getVoices() {
    return this.voices;
  }
  addEventListener(_type: 'voiceschanged', listener: () => void) {
    this.changed = listener;
  }
  removeEventListener() {
    this.changed = null;
  }
  /** The engine finishes the utterance it is reading. */
  finishOne() {
    this.queue.shift()?.onend?.({});
  }
  loadVoices(voices: VoiceLike[]) {
    this.voices = voices;
    this.changed?.();
  }
  get texts() {
    return this.spoken.map((u) => u.text);
  }
}

function makeVoice(options: { muted?: boolean; voiceUri?: string | null } = {}) {
  const synth = new FakeSynth();
  const voice = new InterviewerVoice(
    { synth, utterance: (text) => ({ text, voice: null, lang: '', rate: 1, onend: null, onerror: null }) },
    options,
  );
  return { synth, voice };
}

function turn(over: Partial<SpokenTurn> = {}): SpokenTurn {
  return { index: 1, question: '', streaming: true, interrupted: false, take: 1, answer: null, outcome: null, ...over };
}

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe('InterviewerVoice', () => {
  it('reads each sentence as soon as it is complete while the question streams, and the rest at the end', () => {
    const { synth, voice } = makeVoice();
    voice.update([], null);
    voice.update([turn({ question: 'Thanks for that. How do you ' })], 1);
    expect(synth.texts).toEqual(['Thanks for that.']);
    expect(voice.speaking).toBe(true);
    voice.update([turn({ question: 'Thanks for that. How do you handle retries? Think ' })], 1);
    expect(synth.texts).toEqual(['Thanks for that.', 'How do you handle retries?']);
    voice.update([turn({ question: 'Thanks for that. How do you handle retries? Think aloud', streaming: false })], 1);
    expect(synth.texts).toEqual(['Thanks for that.', 'How do you handle retries?', 'Think aloud']);
    // Nothing is read twice on later updates.
    voice.update([turn({ question: 'Thanks for that. How do you handle retries? Think aloud', streaming: false })], 1);
    expect(synth.spoken).toHaveLength(3);
    synth.finishOne();
    synth.finishOne();
    expect(voice.speaking).toBe(true);
    synth.finishOne();
    expect(voice.speaking).toBe(false);
  });

  it('a regenerated turn (turn.start again) cancels what was queued for it and reads the new words', () => {
    const { synth, voice } = makeVoice();
    voice.update([], null);
    voice.update([turn({ question: 'Tell me about a time you failed. And ' })], 1);
    expect(synth.texts).toEqual(['Tell me about a time you failed.']);
    voice.update([turn({ question: 'Describe an outage. ', take: 2 })], 1);
    expect(synth.cancels).toBe(1);
    expect(synth.texts).toEqual(['Tell me about a time you failed.', 'Describe an outage.']);
    // The cancelled utterance's error event did not end the new one.
    expect(voice.speaking).toBe(true);
    synth.finishOne();
    expect(voice.speaking).toBe(false);
  });

  it('does not read what was already on screen when it started (a reload), only what comes next', () => {
    const { synth, voice } = makeVoice();
    const asked = turn({ index: 0, question: 'Old question?', streaming: false });
    voice.update([asked], 0);
    expect(synth.spoken).toHaveLength(0);
    voice.update([asked, turn({ index: 1, question: 'New one? ', streaming: true })], 1);
    expect(synth.texts).toEqual(['New one?']);
  });

  it('stops when the candidate cuts in, and on stop() (barge-in)', () => {
    const { synth, voice } = makeVoice();
    voice.update([], null);
    voice.update([turn({ question: 'One. Two. Three ' })], 1);
    expect(synth.texts).toEqual(['One.', 'Two.']);
    voice.stop();
    expect(voice.speaking).toBe(false);
    expect(synth.cancels).toBe(1);
    // The rest of that turn is not read after a barge-in.
    voice.update([turn({ question: 'One. Two. Three and four.', streaming: false })], 1);
    expect(synth.texts).toEqual(['One.', 'Two.']);

    const other = makeVoice();
    other.voice.update([], null);
    other.voice.update([turn({ question: 'Long question. Goes on ' })], 1);
    other.voice.update([turn({ question: 'Long question. Goes on', streaming: false, interrupted: true })], 1);
    expect(other.synth.cancels).toBe(1);
    expect(other.voice.speaking).toBe(false);
  });

  it('says nothing while muted, and muting stops it mid-sentence', () => {
    const { synth, voice } = makeVoice({ muted: true });
    voice.update([], null);
    voice.update([turn({ question: 'Hello there. ' })], 1);
    expect(synth.spoken).toHaveLength(0);
    voice.setMuted(false);
    voice.update([turn({ question: 'Hello there. Next one. ' })], 1);
    expect(synth.texts).toEqual(['Next one.']);
    voice.setMuted(true);
    expect(voice.speaking).toBe(false);
    expect(synth.cancels).toBe(1);
  });

  it('stays silent without voices (headless browsers), and speaks once voices load', () => {
    const { synth, voice } = makeVoice();
    synth.loadVoices([]);
    expect(voice.available).toBe(false);
    expect(voice.supported).toBe(true);
    voice.update([], null);
    voice.update([turn({ question: 'First. ' })], 1);
    expect(synth.spoken).toHaveLength(0);
    expect(voice.speaking).toBe(false);
    synth.loadVoices(VOICES);
    expect(voice.available).toBe(true);
    voice.update([turn({ question: 'First. Second. ' })], 1);
    expect(synth.texts).toEqual(['Second.']);
    expect(new InterviewerVoice(null).available).toBe(false);
  });

  it('uses the chosen voice, and lists English voices first', () => {
    const { synth, voice } = makeVoice({ voiceUri: 'daniel' });
    voice.update([], null);
    voice.update([turn({ question: 'Hi. ' })], 1);
    expect(synth.spoken[0].voice?.name).toBe('Daniel');
    expect(synth.spoken[0].lang).toBe('en-GB');
    expect(orderVoices(VOICES).map((v) => v.name)).toEqual(['Daniel', 'Samantha', 'Thomas']);
  });

  it('stops counting an utterance as playing when the engine never reports its end', () => {
    const { voice } = makeVoice();
    voice.update([], null);
    voice.update([turn({ question: 'Short. ' })], 1);
    expect(voice.speaking).toBe(true);
    vi.advanceTimersByTime(10_000);
    expect(voice.speaking).toBe(false);
  });
});
