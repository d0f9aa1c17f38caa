import { act, renderHook } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import type { SynthLike, UtteranceLike, VoiceLike } from '../voice/speech';
import type { TranscriptTurn } from './interviewReducer';
import { useVoiceAnswers, type VoiceAnswersOptions } from './useVoiceAnswers';

class FakeSynth implements SynthLike {
  spoken: string[] = [];
  voices: VoiceLike[] = [{ name: 'Samantha', lang: 'en-US', voiceURI: 'samantha', default: true }];
  speak(utterance: UtteranceLike) {
    this.spoken.push(utterance.text);
  }
  cancel() {}
  getVoices() {
    return this.voices;
  }
}

const asked: TranscriptTurn = {
  index: 0,
  kind: 'question',
  questionNumber: 1,
  question: 'Thanks. How would you speed up a slow query?',
  streaming: false,
  interrupted: false,
  answer: null,
  answerSource: null,
  outcome: null,
  scores: null,
  average: null,
  rubricVersion: null,
  scoreFailed: false,
  clarification: false,
  delivery: null,
  take: 1,
  targets: [],
};

function setup(over: Partial<VoiceAnswersOptions> = {}) {
  const synth = new FakeSynth();
  const speech = { synth, utterance: (text: string) => ({ text, voice: null, lang: '', rate: 1, onend: null, onerror: null }) };
  const options: VoiceAnswersOptions = {
    interviewId: 'iv1',
    socket: null,
    mode: 'voice',
    over: false,
    phase: 'listening',
    currentTurn: 0,
    turns: [asked],
    interrupt: () => true,
    answer: () => true,
    speech,
    ...over,
  };
  const hook = renderHook((props: VoiceAnswersOptions) => useVoiceAnswers(props), { initialProps: options });
  return { synth, hook, options };
}

describe('hearing the question again', () => {
  it('reads the open question aloud again, from its start, with the same voice', () => {
    const { synth, hook } = setup();
    // Already on screen when the room opened: not read by itself.
    expect(synth.spoken).toEqual([]);
    expect(hook.result.current.canHearAgain).toBe(true);
    act(() => {
      hook.result.current.hearAgain();
    });
    expect(synth.spoken).toEqual(['Thanks.', 'How would you speed up a slow query?']);
    act(() => {
      hook.result.current.hearAgain();
    });
    expect(synth.spoken).toHaveLength(4);
  });

  it('is not offered when typing, with the voice muted, or with no question open', () => {
    expect(setup({ mode: 'typed' }).hook.result.current.canHearAgain).toBe(false);
    expect(setup({ phase: 'scoring' }).hook.result.current.canHearAgain).toBe(false);
    localStorage.setItem('interview.voice.settings', JSON.stringify({ muted: true }));
    expect(setup().hook.result.current.canHearAgain).toBe(false);
  });
});
