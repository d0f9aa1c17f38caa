/**
 * Spoken answers in a real browser: Chromium's fake microphone plays a sentence spoken by
 * Debian's flite; the real AudioWorklet captures it, the server's embedded recogniser
 * (pocketsphinx) transcribes it, and the answer recorded for the interview is exactly what the
 * same recogniser makes of the audio the server received. A second test barges in: the
 * microphone speaks while the interviewer is still talking, and the turn ends interrupted.
 *
 * These tests start their own servers (they keep recordings, and the barge-in one has a slow
 * interviewer).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { PYTHON_BIN, SHARED_STORE, freePort, scratch, showLogsOnFailure, startServer, stopAll, unexpected } from './servers';
import { apiFromPage, launch, newPage, shot, signUp } from './support';

const SENTENCE = 'I would add an index on the user id column and check the query plan before and after';

/** A 16 kHz mono WAV of `text`, with silence around it (the end lets hands-free stop). */
function speak(text: string, name: string, before = 0.5, after = 3): string {
  const raw = join(scratch, `${name}-raw.wav`);
  const out = join(scratch, `${name}.wav`);
  execFileSync('flite', ['-t', text, '-o', raw]);
  execFileSync('sox', ['-R', raw, '-r', '16000', '-c', '1', '-b', '16', out, 'pad', String(before), String(after)]);
  return out;
}

/** What the server's recogniser makes of a WAV file, run directly (same class, same settings). */
function recognise(wav: string): string {
  const script = [
    'import asyncio, sys, wave',
    'from server.voice.pocketsphinx import PocketsphinxRecognizer',
    'async def main():',
    '    with wave.open(sys.argv[1]) as w:',
    '        pcm = w.readframes(w.getnframes())',
    '    recognizer = PocketsphinxRecognizer(1)',
    '    try:',
    '        print((await recognizer.transcribe(pcm, sample_rate=16000)).text)',
    '    finally:',
    '        await recognizer.close()',
    'asyncio.run(main())',
  ].join('\n');
  return execFileSync(PYTHON_BIN, ['-c', script, wav], { encoding: 'utf8' }).trim();
}

function wordErrorRate(reference: string, hypothesis: string): number {
  const ref = reference.toLowerCase().split(/\s+/).filter(Boolean);
  const hyp = hypothesis.toLowerCase().split(/\s+/).filter(Boolean);
  let row = Array.from({ length: hyp.length + 1 }, (_, j) => j);
  for (let i = 1; i <= ref.length; i++) {
    const next = [i];
    for (let j = 1; j <= hyp.length; j++) {
      next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (ref[i - 1] === hyp[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return row[hyp.length] / ref.length;
}

function fakeMicrophone(wav: string): string[] {
  return [
    '--use-fake-ui-for-media-stream',
    '--use-fake-device-for-media-stream',
    `--use-file-for-fake-audio-capture=${wav}`,
    '--autoplay-policy=no-user-gesture-required',
  ];
}

async function serverFor(name: string, env: Record<string, string>) {
  const dataDir = mkdtempSync(join(scratch, 'data-'));
  return startServer(name, await freePort(), {
    INTERVIEW_DATA_DIR: dataDir,
    INTERVIEW_VOICE_KEEP_AUDIO: 'true',
    INTERVIEW_MAX_FOLLOW_UPS: '0',
    ...(SHARED_STORE ? {} : { INTERVIEW_REDIS_URL: '' }),
    ...env,
  });
}

/** Chooses voice on /new, runs the mic check, starts a one-question interview; its id. */
async function startVoiceInterview(page: Page, shots = false): Promise<string> {
  await page.goto('/new');
  await page.getByRole('heading', { name: 'New interview' }).waitFor();
  await page.getByTestId('answer-mode-voice').check();
  await page.getByTestId('mic-check').click();
  await page.locator('[data-testid="mic-check-result"][data-status="passed"]').waitFor({ timeout: 30_000 });
  if (shots) await shot(page, 'voice-01-mic-check');
  await page.getByLabel('Questions').fill('1');
  await page.getByRole('button', { name: 'Start interview' }).click();
  await page.waitForURL(/\/interviews\/[0-9a-f-]{36}$/);
  return page.url().split('/').pop()!;
}

interface RestTurn {
  index: number;
  answer: string | null;
  answer_source: string | null;
  delivery: { words: number; words_per_minute: number; speaking_ms: number } | null;
}

const browsers: Browser[] = [];

afterAll(async () => {
  for (const browser of browsers) await browser.close();
  await stopAll();
});

describe('a candidate answering by voice', () => {
  it('speaks an answer: the worklet captures it, the server transcribes it, and that transcript is the answer', async () => {
    showLogsOnFailure();
    const wav = speak(SENTENCE, 'answer');
    const server = await serverFor('voice', { INTERVIEW_OFFLINE_PACE_MS: '5' });
    const browser = await launch(fakeMicrophone(wav));
    browsers.push(browser);
    const { page, errors } = await newPage(browser, undefined, server.url);
    await signUp(page);
    const id = await startVoiceInterview(page, true);

    // Hands-free: recording starts when the question ends and stops after the silence; the
    // transcript comes back, is shown for correction, and is sent by itself.
    const transcript = page.getByTestId('transcript-input');
    await expect.poll(async () => (await transcript.isVisible()) && (await transcript.inputValue()).length > 0, {
      timeout: 60_000,
    }).toBe(true);
    await shot(page, 'voice-02-transcript');
    await page.getByTestId('turn-answer').first().waitFor({ timeout: 30_000 });
    await page.getByTestId('turn-delivery').first().waitFor({ timeout: 30_000 });
    await shot(page, 'voice-03-answered');

    const { body } = await apiFromPage<{ turns: RestTurn[] }>(page, `/api/interviews/${id}`);
    const answered = body.turns.find((t) => t.answer);
    expect(answered?.answer_source).toBe('voice');
    expect(answered?.delivery?.words).toBeGreaterThan(0);

    // The recording the server kept, decoded here by the same recogniser: the same words.
    const token = await page.evaluate(() => (JSON.parse(localStorage.getItem('interview.session') ?? '{}') as { accessToken?: string }).accessToken);
    const audio = await fetch(`${server.url}/api/interviews/${id}/turns/${answered!.index}/audio`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    expect(audio.status).toBe(200);
    const received = join(scratch, 'received.wav');
    writeFileSync(received, Buffer.from(await audio.arrayBuffer()));
    expect(answered!.answer).toBe(recognise(received));
    const direct = recognise(wav);
    console.log(
      `spoken:   ${SENTENCE}\nanswer:   ${answered!.answer} (WER ${wordErrorRate(SENTENCE, answered!.answer!).toFixed(2)})\n` +
        `the file: ${direct} (WER ${wordErrorRate(SENTENCE, direct).toFixed(2)})`,
    );
    expect(unexpected(errors)).toEqual([]);
  });

  it('barges in: speaking while the interviewer talks stops it, and the turn ends interrupted', async () => {
    showLogsOnFailure();
    const wav = speak(SENTENCE, 'barge-in', 1.5, 3);
    // A slow interviewer: the opening question takes several seconds to speak.
    const server = await serverFor('barge-in', { INTERVIEW_OFFLINE_PACE_MS: '250' });
    const browser = await launch(fakeMicrophone(wav));
    browsers.push(browser);
    const { page, errors } = await newPage(browser, undefined, server.url);
    const frames: { type: string; turn?: number; interrupted?: boolean }[] = [];
    await page.routeWebSocket(/\/ws\/interviews\//, (ws) => {
      const upstream = ws.connectToServer();
      upstream.onMessage((message) => {
        ws.send(message);
        try {
          frames.push(JSON.parse(String(message)));
        } catch {
          // binary: not a frame to look at
        }
      });
      ws.onMessage((message) => upstream.send(message));
    });
    await signUp(page);
    await startVoiceInterview(page);
    await expect.poll(() => frames.find((f) => f.type === 'turn.end'), { timeout: 60_000 }).toBeTruthy();
    const ended = frames.find((f) => f.type === 'turn.end')!;
    expect(ended.interrupted).toBe(true);
    await shot(page, 'voice-04-barge-in');
    expect(unexpected(errors)).toEqual([]);
  });
});
