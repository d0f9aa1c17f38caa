/**
 * The process driving an interview dies mid-question (SIGKILL): another process, or the same one
 * started again, regenerates the turn, and the room must show exactly the server's final text
 * for it, never the lost words followed by the new ones.
 *
 * These tests start their own `interview serve` processes (E2E_INTERVIEW_BIN, set by
 * scripts/e2e.sh) with a slow offline interviewer, so that there is time to kill one mid-stream.
 * With two processes the page talks to them through a TCP proxy written here, standing in for a
 * load balancer: it sends new connections to process B once A is gone.
 */
import { mkdtempSync } from 'node:fs';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  freePort,
  kill,
  scratch,
  SHARED_STORE,
  showLogsOnFailure,
  startServer as startAnyServer,
  stopAll,
  unexpected,
  type ServerProcess,
} from './servers';
import {
  ANSWERS,
  answerAll,
  launch,
  newPage,
  restInterview,
  restTranscript,
  screenTranscript,
  shot,
  signUp,
  startInterview,
  type RestInterview,
} from './support';

/** Per word: a question of ~30 words streams for ~4 s. */
const PACE_MS = '120';
/** A dead process's interviews are taken over once its lease expires. */
const LEASE_TTL_MS = '1500';

/** A server with a slow offline interviewer and a short lease. */
function startServer(name: string, port: number, env: Record<string, string> = {}): Promise<ServerProcess> {
  return startAnyServer(name, port, {
    INTERVIEW_OFFLINE_PACE_MS: PACE_MS,
    INTERVIEW_LEASE_TTL_MS: LEASE_TTL_MS,
    ...env,
  });
}

// --- a load balancer: a TCP proxy whose upstream can be switched -------------------------------

interface Proxy {
  url: string;
  switchTo(port: number): void;
  close(): Promise<void>;
}

async function startProxy(upstream: number): Promise<Proxy> {
  let target = upstream;
  const open = new Set<Socket>();
  const server: Server = createServer((down) => {
    const up = connect(target, '127.0.0.1');
    open.add(down);
    open.add(up);
    const drop = () => {
      down.destroy();
      up.destroy();
      open.delete(down);
      open.delete(up);
    };
    down.on('error', drop).on('close', drop);
    up.on('error', drop).on('close', drop);
    down.pipe(up);
    up.pipe(down);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    switchTo: (next) => {
      target = next;
    },
    close: () =>
      new Promise<void>((done) => {
        for (const socket of open) socket.destroy();
        server.close(() => done());
      }),
  };
}

// --- what the page receives ----------------------------------------------------------------------

interface Frame {
  type: string;
  seq: number;
  turn?: number;
  text?: string;
  phase?: string;
}

/** Records every frame the page's interview sockets receive, per connection (1, 2, …). */
function recordFrames(page: Page) {
  const frames: { connection: number; frame: Frame }[] = [];
  let connections = 0;
  page.on('websocket', (ws) => {
    if (!/\/ws\/interviews\//.test(ws.url())) return;
    const connection = ++connections;
    ws.on('framereceived', ({ payload }) => {
      try {
        frames.push({ connection, frame: JSON.parse(String(payload)) as Frame });
      } catch {
        // not JSON
      }
    });
  });
  return {
    frames,
    connections: () => connections,
    /** Resolves once `predicate` holds for a frame (already received or still to come). */
    waitFor: async (predicate: (f: Frame, connection: number) => boolean, timeout = 60_000) => {
      const deadline = Date.now() + timeout;
      for (;;) {
        const hit = frames.find((f) => predicate(f.frame, f.connection));
        if (hit) return hit;
        if (Date.now() > deadline) throw new Error('timed out waiting for a frame');
        await new Promise((r) => setTimeout(r, 20));
      }
    },
  };
}

async function waitListening(page: Page): Promise<void> {
  await page.waitForFunction(
    () => !!document.querySelector('[data-testid="countdown"]') && !!document.querySelector('[data-testid="answer-input"]'),
    null,
    { timeout: 60_000, polling: 50 },
  );
}

async function turnText(page: Page, turn: number): Promise<string> {
  return (await page.locator(`[data-turn="${turn}"] [data-testid="turn-question"]`).textContent())?.trim() ?? '';
}

/** Records, in the page, every text the room shows for `turn` from now on (each DOM change). */
async function watchTurnText(page: Page, turn: number): Promise<() => Promise<string[]>> {
  await page.evaluate((t) => {
    const seen: string[] = [];
    (window as unknown as { __turnTexts: string[] }).__turnTexts = seen;
    const read = () => {
      const el = document.querySelector(`[data-turn="${t}"] [data-testid="turn-question"]`);
      const text = (el?.textContent ?? '').trim();
      if (el && seen[seen.length - 1] !== text) seen.push(text);
    };
    read();
    new MutationObserver(read).observe(document.body, { subtree: true, childList: true, characterData: true });
  }, turn);
  return () => page.evaluate(() => (window as unknown as { __turnTexts: string[] }).__turnTexts.slice());
}

/**
 * Answers the first question, then runs `cut` a few words into the next one, and checks that the
 * room shows that turn exactly as the server finally spoke it.
 *
 * `regenerated` is how the client learns that the turn starts over: a second `turn.start` for it
 * (replayed on resume, when the event log survived), or a `resync` (the log was lost with its
 * process: `ready` then carries the regenerated turn's words as of head_seq).
 */
async function interruptSecondTurn(
  page: Page,
  recorder: ReturnType<typeof recordFrames>,
  screenshot: string,
  regenerated: 'turn.start' | 'resync',
  cut: () => Promise<void>,
): Promise<{ id: string; turn: number }> {
  const id = await startInterview(page, { questions: 2 });
  await waitListening(page);
  await page.getByTestId('answer-input').fill(ANSWERS[0]);
  await page.getByTestId('send-answer').click();

  // A few words into the next turn, on the first connection: cut.
  const { frame: first } = await recorder.waitFor((f, connection) => connection === 1 && f.type === 'turn.delta' && (f.turn ?? 0) >= 1);
  const turn = first.turn!;
  await recorder.waitFor((f, connection) => connection === 1 && f.type === 'turn.delta' && f.turn === turn && f.seq >= first.seq + 3);
  await page.waitForFunction((t) => (document.querySelector(`[data-turn="${t}"] [data-testid="turn-question"]`)?.textContent ?? '').length > 0, turn);
  const shown = await watchTurnText(page, turn);
  const before = await turnText(page, turn);
  await cut();

  // The turn is regenerated from its start and ends; the room then waits for the answer.
  const starts = () => recorder.frames.filter((f) => f.frame.type === 'turn.start' && f.frame.turn === turn);
  await recorder.waitFor((f, connection) => connection > 1 && f.type === 'turn.end' && f.turn === turn, 90_000);
  await waitListening(page);
  await shot(page, screenshot, false);

  expect(recorder.connections()).toBeGreaterThanOrEqual(2);
  if (regenerated === 'turn.start') {
    expect(starts().length, 'the turn was regenerated: turn.start came again').toBeGreaterThanOrEqual(2);
  } else {
    const resync = recorder.frames.find((f) => f.connection > 1 && f.frame.type === 'resync');
    expect(resync?.frame, 'the client was told to resync onto the new log').toMatchObject({ reason: 'epoch_changed' });
  }
  const ends = recorder.frames.filter((f) => f.frame.type === 'turn.end' && f.frame.turn === turn);
  const finalText = ends[ends.length - 1].frame.text!.trim();
  expect(before.length).toBeGreaterThan(0);
  expect(before.length, 'the cut came mid-stream').toBeLessThan(finalText.length);
  // The room shows exactly the server's final text: not the lost words followed by the new ones.
  expect(await turnText(page, turn)).toBe(finalText);
  // Nor did it at any moment while the turn was cut and spoken again: every text it showed for
  // the turn was a beginning of the words the first process spoke, or of the final text (they
  // can differ: a process that rebuilt the interview from the database may ask the next
  // question instead of a follow-up), never a mix of the two.
  const lost = recorder.frames
    .filter((f) => f.connection === 1 && f.frame.type === 'turn.delta' && f.frame.turn === turn)
    .map((f) => f.frame.text)
    .join('');
  const texts = await shown();
  expect(texts.length).toBeGreaterThan(1);
  expect(
    texts.filter((text) => !finalText.startsWith(text) && !lost.startsWith(text)),
    `texts shown for turn ${turn} that are neither a beginning of the lost words (${JSON.stringify(lost)}) nor of the final text`,
  ).toEqual([]);
  // The room shows the phase the server last sent.
  const phases = recorder.frames.map((f) => f.frame.phase).filter((p): p is string => typeof p === 'string');
  expect(phases.at(-1)).toBe('listening');
  await page.getByText('Your turn to answer').waitFor();
  return { id, turn };
}

/** Finishes the interview and compares every turn, and its label, with the REST transcript. */
async function finishAndCompare(page: Page, id: string, turn: number, finalText: string): Promise<void> {
  await answerAll(page);
  const rest = await restInterview(page, id);
  expect(rest.status).toBe('finished');
  const restTurn = rest.turns.find((t) => t.index === turn);
  expect(restTurn?.question.trim()).toBe(finalText);
  expect(await screenTranscript(page)).toEqual(restTranscript(rest));
  // Each turn is labelled as the server recorded it (a rebuilt interview may have asked the
  // next question where a follow-up was being spoken).
  const recorded = rest as RestInterview & {
    question_count: number;
    turns: (RestInterview['turns'][number] & { kind: string })[];
  };
  let number = 0;
  const labels = [...recorded.turns]
    .sort((a, b) => a.index - b.index)
    .map((t) => {
      if (t.kind === 'question') number += 1;
      return t.kind === 'question' ? `Question ${number} of ${recorded.question_count}` : `Follow-up · question ${number}`;
    });
  expect(await page.locator('[data-testid="turn"] .bubble__label').allTextContents()).toEqual(labels);
}

// --- the tests ---------------------------------------------------------------------------------

let browser: Browser;

beforeAll(async () => {
  browser = await launch();
});

afterAll(async () => {
  await browser?.close();
  await stopAll();
});

describe('the process driving an interview dies mid-question', () => {
  it.skipIf(!SHARED_STORE)(
    'two processes behind one page: A is killed, the page reconnects to B, which regenerates the turn',
    async () => {
      showLogsOnFailure();
      const a = await startServer('process-a', await freePort());
      const b = await startServer('process-b', await freePort());
      const proxy = await startProxy(a.port);
      try {
        const { context, page, errors } = await newPage(browser, undefined, proxy.url);
        const recorder = recordFrames(page);
        await signUp(page);
        const { id, turn } = await interruptSecondTurn(page, recorder, '30-room-after-takeover', 'turn.start', async () => {
          proxy.switchTo(b.port); // new connections go to B …
          await kill(a); // … and A dies with the interview's turn half spoken
        });
        const ends = recorder.frames.filter((f) => f.frame.type === 'turn.end' && f.frame.turn === turn);
        await finishAndCompare(page, id, turn, ends[ends.length - 1].frame.text!.trim());
        expect(unexpected(errors)).toEqual([]);
        await context.close();
      } finally {
        await proxy.close();
        await kill(a);
        await kill(b);
      }
    },
  );

  it('one process on the embedded defaults, killed and started again; the page comes back once the turn has restarted', async () => {
    // While this page is away, another tab on the same interview makes the restarted process
    // speak the turn again; the page then resyncs, and `ready` has the new words as of head_seq.
    showLogsOnFailure();
    const dataDir = mkdtempSync(join(scratch, 'data-'));
    const port = await freePort();
    const serverEnv = { INTERVIEW_DATABASE_URL: '', INTERVIEW_REDIS_URL: '', INTERVIEW_DATA_DIR: dataDir };
    let server = await startServer('late-1', port, serverEnv);
    try {
      const { context, page, errors } = await newPage(browser, undefined, server.url);
      const recorder = recordFrames(page);
      await signUp(page);
      const { id, turn } = await interruptSecondTurn(page, recorder, '32-room-back-after-restart', 'resync', async () => {
        await context.setOffline(true); // the page drops its socket and cannot reconnect
        await kill(server);
        server = await startServer('late-2', port, serverEnv);
        const other = await newPage(browser, undefined, server.url);
        const session = await page.evaluate(() => localStorage.getItem('interview.session'));
        await other.context.addInitScript((value) => localStorage.setItem('interview.session', value ?? ''), session);
        const otherFrames = recordFrames(other.page);
        await other.page.goto(`/interviews/${page.url().split('/').pop()}`);
        const { frame: restarted } = await otherFrames.waitFor((f) => f.type === 'turn.start');
        await otherFrames.waitFor((f) => f.type === 'turn.delta' && f.turn === restarted.turn && f.seq > restarted.seq + 2);
        await other.context.close();
        await context.setOffline(false); // back online: the page reconnects at once
      });
      const ends = recorder.frames.filter((f) => f.frame.type === 'turn.end' && f.frame.turn === turn);
      await finishAndCompare(page, id, turn, ends[ends.length - 1].frame.text!.trim());
      expect(unexpected(errors)).toEqual([]);
      await context.close();
    } finally {
      await kill(server);
    }
  });

  const stores = [
    ['PostgreSQL + Redis', 'services', SHARED_STORE, {}],
    // The embedded live store dies with its process: the client resyncs onto a new epoch.
    ['the embedded defaults', 'embedded', true, { INTERVIEW_DATABASE_URL: '', INTERVIEW_REDIS_URL: '' }],
  ] as const;
  for (const [label, store, available, env] of stores) {
    it.skipIf(!available)(`one process on ${label}, killed and started again`, async () => {
      showLogsOnFailure();
      const dataDir = mkdtempSync(join(scratch, 'data-'));
      const port = await freePort();
      const name = `restart-${store}`;
      const serverEnv = { ...env, INTERVIEW_DATA_DIR: dataDir };
      let server = await startServer(`${name}-1`, port, serverEnv);
      try {
        const { context, page, errors } = await newPage(browser, undefined, server.url);
        const recorder = recordFrames(page);
        await signUp(page);
        const regenerated = store === 'services' ? 'turn.start' : 'resync';
        const { id, turn } = await interruptSecondTurn(page, recorder, `31-room-after-restart-${store}`, regenerated, async () => {
          await kill(server);
          server = await startServer(`${name}-2`, port, serverEnv);
        });
        const ends = recorder.frames.filter((f) => f.frame.type === 'turn.end' && f.frame.turn === turn);
        await finishAndCompare(page, id, turn, ends[ends.length - 1].frame.text!.trim());
        expect(unexpected(errors)).toEqual([]);
        await context.close();
      } finally {
        await kill(server);
      }
    });
  }
});
