import { describe, expect, it } from 'vitest';
import { ANSWER_VAD, VoiceActivityDetector, type VadEvent } from './vad';

const FRAME = 20;

/** Feeds `ms` of frames at `db`; returns the events with the time (ms from the start) they came at. */
function feed(vad: VoiceActivityDetector, plan: [db: number, ms: number][]): [VadEvent, number][] {
  const events: [VadEvent, number][] = [];
  let t = 0;
  for (const [db, ms] of plan) {
    for (let i = 0; i < ms / FRAME; i++) {
      t += FRAME;
      const event = vad.push(db, FRAME);
      if (event) events.push([event, t]);
    }
  }
  return events;
}

const LOUD = -30;
const QUIET = -70;
const BETWEEN = -48; // below startDb (-45), above stopDb (-52)

describe('voice activity detection', () => {
  it('starts speech only after 150 ms above the threshold', () => {
    const vad = new VoiceActivityDetector({ ...ANSWER_VAD, silenceMs: 2000 });
    expect(feed(vad, [[LOUD, 140]])).toEqual([]);
    expect(vad.speaking).toBe(false);
    expect(feed(vad, [[LOUD, 20]])).toEqual([['speech-start', 20]]);
    expect(vad.speaking).toBe(true);
  });

  it('ignores clicks and coughs shorter than that', () => {
    const vad = new VoiceActivityDetector({ ...ANSWER_VAD, silenceMs: 2000 });
    expect(feed(vad, [[LOUD, 100], [QUIET, 20], [LOUD, 100], [QUIET, 500]])).toEqual([]);
  });

  it('ends speech after the configured silence, and not before', () => {
    const vad = new VoiceActivityDetector({ ...ANSWER_VAD, silenceMs: 2000 });
    feed(vad, [[LOUD, 400]]);
    expect(feed(vad, [[QUIET, 1980]])).toEqual([]);
    expect(feed(vad, [[QUIET, 20]])).toEqual([['speech-end', 20]]);
    expect(vad.speaking).toBe(false);
  });

  it('treats pauses between words as part of the speech (the silence must be unbroken)', () => {
    const vad = new VoiceActivityDetector({ ...ANSWER_VAD, silenceMs: 1000 });
    const events = feed(vad, [[LOUD, 200], [QUIET, 900], [LOUD, 60], [QUIET, 900], [LOUD, 60], [QUIET, 1000]]);
    expect(events.map(([e]) => e)).toEqual(['speech-start', 'speech-end']);
    expect(events[1][1]).toBe(200 + 900 + 60 + 900 + 60 + 1000);
  });

  it('has hysteresis: a level between the thresholds neither starts speech nor counts as silence in it', () => {
    const vad = new VoiceActivityDetector({ ...ANSWER_VAD, silenceMs: 500 });
    expect(feed(vad, [[BETWEEN, 1000]])).toEqual([]);
    feed(vad, [[LOUD, 200]]);
    expect(feed(vad, [[BETWEEN, 3000]])).toEqual([]);
    expect(vad.speaking).toBe(true);
    expect(feed(vad, [[QUIET, 500]])).toEqual([['speech-end', 500]]);
  });

  it('follows a new silence setting without losing track', () => {
    const vad = new VoiceActivityDetector({ ...ANSWER_VAD, silenceMs: 2000 });
    feed(vad, [[LOUD, 200], [QUIET, 600]]);
    vad.configure({ silenceMs: 1000 });
    expect(feed(vad, [[QUIET, 400]])).toEqual([['speech-end', 400]]);
  });

  it('can start over as if speech were under way (a recording begun by detected speech)', () => {
    const vad = new VoiceActivityDetector({ ...ANSWER_VAD, silenceMs: 300 });
    vad.reset(true);
    expect(feed(vad, [[QUIET, 300]])).toEqual([['speech-end', 300]]);
  });

  it('refuses a stop threshold above the start threshold', () => {
    expect(() => new VoiceActivityDetector({ startDb: -50, stopDb: -40, startMs: 150, silenceMs: 1000 })).toThrow(RangeError);
  });
});
