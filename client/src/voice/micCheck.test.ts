import { describe, expect, it } from 'vitest';
import { FakeMicrophone } from '../test/voice';
import { runMicCheck } from './micCheck';
import { classifyMicError, MIC_PROBLEMS, micSupportProblem, MicrophoneError, type MicEnvironment } from './microphone';

const capable: MicEnvironment = {
  isSecureContext: true,
  mediaDevices: { getUserMedia: () => undefined },
  AudioContext: function AudioContext() {},
  AudioWorkletNode: function AudioWorkletNode() {},
};

const domError = (name: string) => Object.assign(new Error(name), { name });

describe('what rules voice answers out', () => {
  it('names the missing piece: a secure page, microphone access, AudioWorklet', () => {
    expect(micSupportProblem(capable)).toBeNull();
    expect(micSupportProblem({ ...capable, isSecureContext: false })).toBe('insecure');
    expect(micSupportProblem({ ...capable, mediaDevices: undefined })).toBe('unsupported');
    expect(micSupportProblem({ ...capable, mediaDevices: {} })).toBe('unsupported');
    expect(micSupportProblem({ ...capable, AudioWorkletNode: undefined })).toBe('no-worklet');
  });

  it("reads the browser's errors: denied, no device, busy", () => {
    expect(classifyMicError(domError('NotAllowedError'))).toBe('denied');
    expect(classifyMicError(domError('SecurityError'))).toBe('denied');
    expect(classifyMicError(domError('NotFoundError'))).toBe('no-device');
    expect(classifyMicError(domError('OverconstrainedError'))).toBe('no-device');
    expect(classifyMicError(domError('NotReadableError'))).toBe('busy');
    expect(classifyMicError(new MicrophoneError('worklet-failed'))).toBe('worklet-failed');
    expect(classifyMicError(new TypeError('weird'))).toBe('failed');
    expect(classifyMicError('nonsense')).toBe('failed');
  });

  it('says every problem in plain words and offers typing', () => {
    for (const { title, text } of Object.values(MIC_PROBLEMS)) {
      expect(title.length).toBeGreaterThan(10);
      expect(text).toMatch(/type your answers/);
    }
  });
});

describe('runMicCheck', () => {
  it('records a clip with a live level, plays it back, and passes when it heard sound', async () => {
    const mic = new FakeMicrophone();
    const steps: string[] = [];
    const levels: number[] = [];
    const result = await runMicCheck({
      env: capable,
      open: async () => mic,
      onStep: (s) => steps.push(s),
      onLevel: (db) => levels.push(db),
      wait: async () => {
        mic.silence(500);
        mic.speak(1000);
        mic.silence(1500);
      },
    });
    expect(result).toEqual({ ok: true, peakDb: -25 });
    expect(steps).toEqual(['asking', 'recording', 'playing']);
    expect(levels).toHaveLength(150);
    expect(mic.played).toHaveLength(1);
    expect(mic.played[0].byteLength).toBe(3 * 16_000 * 2);
    expect(mic.closed).toBe(true);
  });

  it('fails as silent when the clip had no sound, without playing it', async () => {
    const mic = new FakeMicrophone();
    const result = await runMicCheck({ env: capable, open: async () => mic, wait: async () => mic.silence(3000) });
    expect(result).toMatchObject({ ok: false, problem: 'silent' });
    expect(mic.played).toHaveLength(0);
    expect(mic.closed).toBe(true);
  });

  it('fails with the reason when the microphone cannot be opened, or before asking when it never could', async () => {
    await expect(
      runMicCheck({ env: capable, open: () => Promise.reject(domError('NotAllowedError')), wait: async () => undefined }),
    ).resolves.toEqual({ ok: false, problem: 'denied', peakDb: null });
    let asked = false;
    const result = await runMicCheck({
      env: { ...capable, isSecureContext: false },
      open: async () => {
        asked = true;
        return new FakeMicrophone();
      },
    });
    expect(result).toEqual({ ok: false, problem: 'insecure', peakDb: null });
    expect(asked).toBe(false);
  });
});
