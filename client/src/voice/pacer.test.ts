import { describe, expect, it } from 'vitest';
import { AUDIO_BYTES_PER_SECOND, AudioPacer } from './pacer';

describe('AudioPacer', () => {
  it('lets a backlog out at once up to the burst, then at its rate, and starts full on a new socket', () => {
    let now = 0;
    const pacer = new AudioPacer(() => now, 2 * AUDIO_BYTES_PER_SECOND, 10 * AUDIO_BYTES_PER_SECOND);
    const chunk = AUDIO_BYTES_PER_SECOND / 4; // 250 ms of audio
    let sent = 0;
    while (pacer.take(chunk)) sent += 1;
    expect(sent).toBe(40); // 10 s of audio
    expect(pacer.waitMs(chunk)).toBe(125); // at 2× real time, 250 ms of audio takes 125 ms
    now += 125;
    expect(pacer.take(chunk)).toBe(true);
    expect(pacer.take(chunk)).toBe(false);
    pacer.reset();
    expect(pacer.waitMs(chunk)).toBe(0);
  });

  it('by default stays under the server limit of 30 s of audio, then 4× real time', () => {
    const pacer = new AudioPacer(() => 0);
    expect(pacer.burstBytes).toBeLessThan(30 * AUDIO_BYTES_PER_SECOND);
    expect(pacer.bytesPerSecond).toBeLessThan(4 * AUDIO_BYTES_PER_SECOND);
    expect(pacer.bytesPerSecond).toBeGreaterThan(AUDIO_BYTES_PER_SECOND); // catches up while recording
  });
});
