import { QueryClientProvider } from '@tanstack/react-query';
import { act, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { MemoryRouter, Route, Routes } from 'react-router';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { makeQueryClient } from '../App';
import { keys } from '../api/queries';
import { tokens } from '../auth/tokens';
import { audioAck, criteria, delivery, detail, logged, ready, transcriptFinal } from '../test/frames';
import { FakeWebSocket } from '../test/socket';
import { FakeMicrophone } from '../test/voice';
import { InterviewRoom } from './InterviewRoom';

// The room opens the browser's microphone through this module: a fake one here.
const microphone = vi.hoisted(() => ({ current: null as FakeMicrophone | null }));
vi.mock('../voice/micCheck', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../voice/micCheck')>()),
  openBrowserMicrophone: async () => microphone.current!,
}));

function renderRoom(answerMode: 'voice' | 'typed') {
  const client = makeQueryClient();
  client.setQueryData(keys.detail('iv1'), detail({ status: 'live', turns: [] }));
  return render(
    <QueryClientProvider client={client}>
      <MemoryRouter initialEntries={[{ pathname: '/interviews/iv1', state: { answerMode } }]}>
        <Routes>
          <Route path="/interviews/:id" element={<InterviewRoom />} />
        </Routes>
      </MemoryRouter>
    </QueryClientProvider>,
  );
}

/** The first question, asked and waiting for the answer. */
const asked = () =>
  logged([
    { type: 'turn.start', phase: 'asking', turn: 0, kind: 'question', question_number: 1, question_count: 2, targets: [] },
    { type: 'turn.delta', phase: 'asking', turn: 0, text: 'How would you speed up a slow query?' },
    {
      type: 'turn.end',
      phase: 'listening',
      turn: 0,
      text: 'How would you speed up a slow query?',
      interrupted: false,
      answer_deadline_ms: Date.now() + 180_000,
    },
  ]);

let mic: FakeMicrophone;

beforeEach(() => {
  FakeWebSocket.all = [];
  vi.stubGlobal('WebSocket', FakeWebSocket);
  window.scrollTo = vi.fn() as unknown as typeof window.scrollTo;
  mic = new FakeMicrophone();
  microphone.current = mic;
  tokens.set({ access_token: 'A1', refresh_token: 'R1', expires_in: 3600 });
});

afterEach(() => {
  tokens.clear();
  vi.unstubAllGlobals();
});

async function connect() {
  await waitFor(() => expect(FakeWebSocket.all.length).toBeGreaterThan(0));
  const ws = FakeWebSocket.last;
  act(() => {
    ws.open();
    ws.receive(ready({ phase: 'waiting', turn: null, kind: null }), ...asked());
  });
  return ws;
}

describe('InterviewRoom: answering by voice', () => {
  it('records hands-free when the question ends, shows the transcript to check, and sends it as a spoken answer', async () => {
    const user = userEvent.setup();
    renderRoom('voice');
    const ws = await connect();

    // Hands-free: the recording starts as soon as the question has been asked.
    const record = await screen.findByTestId('record-button');
    await waitFor(() => expect(record).toHaveAttribute('aria-pressed', 'true'));
    const [start] = ws.sentOf('audio.start');
    expect(start).toMatchObject({ turn: 0, format: 'pcm_s16le', sample_rate: 16000, channels: 1 });
    expect(screen.getByTestId('voice-state')).toHaveTextContent('Recording');

    // Speech, then two seconds of silence: the recording ends by itself.
    act(() => {
      mic.speak(1500);
      mic.silence(2000);
    });
    await waitFor(() => expect(ws.sentOf('audio.end')).toHaveLength(1));
    const chunks = ws.chunks.map((c) => c.index);
    expect(chunks).toEqual(chunks.map((_, i) => i));
    expect(ws.sentOf('audio.end')[0]).toEqual({ type: 'audio.end', upload_id: start.upload_id, chunks: chunks.length });
    expect(record).toHaveAttribute('aria-pressed', 'false');

    act(() => ws.receive(audioAck(start.upload_id, chunks.length, true)));
    expect(screen.getByTestId('voice-state')).toHaveTextContent('Transcribing…');
    expect(screen.getByTestId('send-answer')).toBeDisabled();

    act(() => ws.receive(transcriptFinal(start.upload_id, { text: 'I would add an index um on user id', rough: true })));
    const transcript = screen.getByTestId('transcript-input');
    expect(transcript).toHaveValue('I would add an index um on user id');
    expect(screen.getByTestId('transcript-rough')).toHaveTextContent('The transcript may need a correction');
    expect(screen.getByTestId('auto-submit')).toHaveTextContent(/Sending your answer in \d s/);

    // Correcting it stops the automatic send; the corrected words are what is sent.
    await user.type(transcript, 'Z');
    await user.keyboard('{Backspace}{Backspace}');
    expect(screen.queryByTestId('auto-submit')).toBeNull();
    await user.click(screen.getByTestId('send-answer'));
    expect(ws.sentOf('answer').at(-1)).toEqual({
      type: 'answer',
      text: 'I would add an index um on user i',
      source: 'voice',
      turn: 0,
      upload_id: start.upload_id,
    });

    // The answer is taken and scored with its delivery.
    act(() =>
      ws.receive(
        ...logged(
          [
            { type: 'answer.accepted', phase: 'scoring', turn: 0, text: 'I would add an index um on user i', source: 'voice' },
            { type: 'score', phase: 'asking', turn: 0, criteria, average: 3.5, rubric_version: 'r1', delivery: delivery() },
          ],
          4,
        ),
      ),
    );
    const turn = screen.getAllByTestId('turn')[0];
    expect(within(turn).getByText('Spoken')).toBeInTheDocument();
    expect(within(turn).getByTestId('turn-delivery')).toHaveTextContent('140 words/min · 3 fillers (um ×2, you know ×1)');
    expect(screen.getByTestId('transcript-input')).toHaveValue('');
  });

  it('records while Space is held (push-to-talk) and switches to typing with the transcript', async () => {
    localStorage.setItem('interview.voice.settings', JSON.stringify({ handsFree: false }));
    const user = userEvent.setup();
    renderRoom('voice');
    const ws = await connect();
    const record = await screen.findByTestId('record-button');
    await waitFor(() => expect(record).toBeEnabled());
    expect(screen.getByTestId('hands-free-switch')).toHaveAttribute('aria-checked', 'false');
    expect(ws.sentOf('audio.start')).toHaveLength(0);

    fireEvent.keyDown(document.body, { key: ' ', code: 'Space' });
    expect(record).toHaveAttribute('aria-pressed', 'true');
    act(() => mic.speak(1000));
    await new Promise((r) => setTimeout(r, 400)); // held, not tapped
    fireEvent.keyUp(document.body, { key: ' ', code: 'Space' });
    await waitFor(() => expect(ws.sentOf('audio.end')).toHaveLength(1));
    const id = ws.sentOf('audio.start')[0].upload_id;
    act(() => ws.receive(audioAck(id, 4, true), transcriptFinal(id, { text: 'Add an index', rough: false })));
    expect(screen.queryByTestId('transcript-rough')).toBeNull();
    expect(screen.queryByTestId('auto-submit')).toBeNull(); // push-to-talk never sends by itself

    await user.click(screen.getByTestId('switch-to-typing'));
    expect(screen.getByTestId('answer-input')).toHaveValue('Add an index');
    expect(screen.queryByTestId('record-button')).toBeNull();
    await user.click(screen.getByTestId('send-answer'));
    expect(ws.sentOf('answer').at(-1)).toEqual({ type: 'answer', text: 'Add an index', source: 'typed', turn: 0 });
    expect(localStorage.getItem('interview.answerMode.iv1')).toBe('typed');
  });

  it('barges in: speaking over a question still being asked interrupts it and records the answer', async () => {
    renderRoom('voice');
    await waitFor(() => expect(FakeWebSocket.all.length).toBeGreaterThan(0));
    const ws = FakeWebSocket.last;
    act(() => {
      ws.open();
      ws.receive(ready({ phase: 'waiting', turn: null, kind: null }), ...asked().slice(0, 2));
    });
    const record = await screen.findByTestId('record-button');
    await waitFor(() => expect(record).toBeEnabled());
    expect(screen.getByTestId('voice-state')).toHaveTextContent('The interviewer is speaking');
    act(() => mic.speak(400));
    expect(ws.sentOf('interrupt')).toHaveLength(1);
    expect(ws.sentOf('audio.start')[0]).toMatchObject({ turn: 0 });
    expect(mic.starts).toEqual([{ take: 1, preroll: true }]);
    expect(record).toHaveAttribute('aria-pressed', 'true');
    // The server stops the interviewer; the recording goes on.
    act(() =>
      ws.receive(
        ...logged(
          [{ type: 'turn.end', phase: 'listening', turn: 0, text: 'How would you speed up a slow query?', interrupted: true, answer_deadline_ms: Date.now() + 180_000 }],
          3,
        ),
      ),
    );
    expect(record).toHaveAttribute('aria-pressed', 'true');
    expect(screen.getByText('You stopped the interviewer here.')).toBeInTheDocument();
  });

  it('leaves the typed flow as it was', async () => {
    renderRoom('typed');
    await connect();
    expect(await screen.findByTestId('answer-input')).toBeInTheDocument();
    expect(screen.queryByTestId('record-button')).toBeNull();
    expect(screen.queryByTestId('mute-toggle')).toBeNull();
    expect(mic.starts).toHaveLength(0);
  });
});

describe('InterviewRoom: more time from an administrator', () => {
  it('says how many more seconds the candidate has, and the clock runs past the usual limit', async () => {
    renderRoom('typed');
    const ws = await connect();
    expect(await screen.findByTestId('answer-input')).toBeInTheDocument();
    expect(screen.queryByTestId('answer-extended')).toBeNull();
    act(() =>
      ws.receive(
        ...logged([{ type: 'answer.extended', phase: 'listening', turn: 0, answer_deadline_ms: Date.now() + 240_000, seconds: 60 }], 4),
      ),
    );
    expect(screen.getByTestId('answer-extended')).toHaveTextContent('You have 60 more seconds');
    // 180 s limit + 60 s given: the countdown shows the extra minute instead of stopping at 3:00.
    expect(screen.getByTestId('countdown')).toHaveTextContent(/^(4:00|3:5\d)$/);
  });

  it('does not announce a grant for another turn', async () => {
    renderRoom('typed');
    const ws = await connect();
    act(() =>
      ws.receive(
        ...logged([{ type: 'answer.extended', phase: 'listening', turn: 5, answer_deadline_ms: Date.now() + 240_000, seconds: 60 }], 4),
      ),
    );
    expect(screen.queryByTestId('answer-extended')).toBeNull();
  });
});

describe('InterviewRoom: the room', () => {
  it('has an h1, puts the cursor in the answer box when the first question ends, and titles the page', async () => {
    renderRoom('typed');
    await connect();
    const input = await screen.findByTestId('answer-input');
    expect(screen.getByRole('heading', { level: 1 })).toHaveTextContent('Backend · Mid-level interview');
    await waitFor(() => expect(input).toHaveFocus());
    await waitFor(() => expect(document.title).toMatch(/^Question 1 of 2 · Interview/));
  });

  it('keeps the last answer’s score in view while the next question streams, expandable to the full feedback', async () => {
    const user = userEvent.setup();
    renderRoom('typed');
    const ws = await connect();
    act(() =>
      ws.receive(
        ...logged(
          [
            { type: 'answer.accepted', phase: 'scoring', turn: 0, text: 'An index on user id.', source: 'typed' },
            { type: 'score', phase: 'asking', turn: 0, criteria, average: 3.5, rubric_version: 'r1', delivery: null },
            { type: 'turn.start', phase: 'asking', turn: 1, kind: 'question', question_number: 2, question_count: 2, targets: [] },
            { type: 'turn.delta', phase: 'asking', turn: 1, text: 'Thanks. Next' },
          ],
          4,
        ),
      ),
    );
    const card = screen.getByTestId('last-feedback');
    expect(card).toHaveTextContent('Last answer');
    expect(within(card).getByLabelText('Last answer score: 3.5 out of 5')).toBeInTheDocument();
    expect(card).toHaveTextContent('Coverage 2 · Specificity 5');
    // The feedback in the transcript stays open too.
    expect(screen.getAllByTestId('turn-feedback')[0]).toHaveAttribute('open');
    await user.click(screen.getByTestId('last-feedback-toggle'));
    expect(within(card).getByText('Mention idempotency.')).toBeVisible();
  });

  it('clears the answer box when time runs out and keeps the draft, collapsed, as not sent', async () => {
    const user = userEvent.setup();
    renderRoom('typed');
    const ws = await connect();
    const input = await screen.findByTestId('answer-input');
    await user.type(input, 'I would start by talking to');
    expect(screen.getByTestId('send-answer')).toBeEnabled();
    act(() =>
      ws.receive(
        ...logged(
          [
            { type: 'answer.timeout', phase: 'asking', turn: 0 },
            { type: 'turn.start', phase: 'asking', turn: 1, kind: 'question', question_number: 2, question_count: 2, targets: [] },
            { type: 'turn.delta', phase: 'asking', turn: 1, text: "We're out of time on that one." },
          ],
          4,
        ),
      ),
    );
    await waitFor(() => expect(input).toHaveValue(''));
    expect(screen.getByTestId('send-answer')).toBeDisabled();
    const unsent = screen.getByTestId('unsent-draft');
    expect(unsent).not.toHaveAttribute('open');
    expect(unsent).toHaveTextContent('Not sent — time ran out');
    expect(unsent).toHaveTextContent('I would start by talking to');
    expect(screen.getByTestId('turn-outcome')).toHaveTextContent('Time ran out');
    expect(JSON.parse(sessionStorage.getItem('interview.unsent.iv1')!)).toEqual([
      { turn: 0, text: 'I would start by talking to', source: 'typed' },
    ]);
    expect(sessionStorage.getItem('interview.draft.iv1')).toBeNull();
  });

  it('pauses after the question, with a Cancel, then a paused room with Resume in focus', async () => {
    const user = userEvent.setup();
    renderRoom('typed');
    const ws = await connect();
    await user.click(await screen.findByTestId('pause-button'));
    expect(ws.sentOf('pause')).toHaveLength(1);
    expect(screen.getByTestId('pause-requested')).toHaveTextContent('Pause requested — the interview pauses after this question.');
    await user.click(screen.getByTestId('pause-cancel'));
    expect(ws.sentOf('resume')).toHaveLength(1);
    expect(screen.getByTestId('pause-button')).toBeInTheDocument();

    await user.click(screen.getByTestId('pause-button'));
    act(() =>
      ws.receive(
        ...logged(
          [
            { type: 'pause.requested', phase: 'listening', turn: 0 },
            { type: 'answer.accepted', phase: 'scoring', turn: 0, text: 'An index.', source: 'typed' },
            { type: 'score', phase: 'paused', turn: 0, criteria, average: 3.5, rubric_version: 'r1', delivery: null },
            { type: 'interview.paused', phase: 'paused', turn: 1, paused_ms: Date.now() },
          ],
          4,
        ),
      ),
    );
    const paused = screen.getByTestId('paused');
    expect(paused).toHaveTextContent('Paused.');
    expect(paused).toHaveTextContent('Take your time; no clock is running.');
    expect(screen.queryByTestId('countdown')).toBeNull();
    await waitFor(() => expect(screen.getByTestId('resume-button')).toHaveFocus());
    await waitFor(() => expect(document.title).toMatch(/^Paused · Interview/));
    await user.click(screen.getByTestId('resume-button'));
    expect(ws.sentOf('resume')).toHaveLength(2);
    expect(screen.getByTestId('resume-button')).toHaveTextContent('Resuming…');
    act(() =>
      ws.receive(
        ...logged(
          [
            { type: 'interview.resumed', phase: 'asking', turn: 1, paused_s: 12 },
            { type: 'turn.start', phase: 'asking', turn: 1, kind: 'question', question_number: 2, question_count: 2, targets: [] },
          ],
          8,
        ),
      ),
    );
    expect(screen.queryByTestId('paused')).toBeNull();
    await waitFor(() => expect(screen.getByTestId('answer-input')).toHaveFocus());
  });

  it('comes back paused after a reconnect (ready says paused)', async () => {
    renderRoom('typed');
    await waitFor(() => expect(FakeWebSocket.all.length).toBeGreaterThan(0));
    const ws = FakeWebSocket.last;
    act(() => {
      ws.open();
      ws.receive(ready({ phase: 'paused', turn: 1, kind: 'question', question_number: 2 }));
    });
    expect(await screen.findByTestId('paused')).toBeInTheDocument();
    await waitFor(() => expect(screen.getByTestId('resume-button')).toHaveFocus());
  });

  it('while reconnecting, says beside the answer box when the next attempt is, keeps typing, and explains why Send waits', async () => {
    const user = userEvent.setup();
    renderRoom('typed');
    const ws = await connect();
    const input = await screen.findByTestId('answer-input');
    await user.type(input, 'An index');
    act(() => ws.drop(1006));
    const status = await screen.findByTestId('connection-status');
    expect(status.closest('form')).toHaveAttribute('aria-label', 'Your answer');
    expect(status).toHaveTextContent(/Connection lost\. Reconnecting in [01] s/);
    expect(status).toHaveTextContent('You can keep typing; Send works again once reconnected.');
    expect(screen.getByTestId('clock-keeps-running')).toBeInTheDocument();
    await user.type(input, ' on user id');
    expect(input).toHaveValue('An index on user id');
    const send = screen.getByTestId('send-answer');
    expect(send).toBeDisabled();
    expect(send).toHaveAttribute('aria-describedby', status.id);
    await waitFor(() => expect(document.title).toMatch(/^Reconnecting… · Interview/));
  });

  it('gives the finish card the focus when the interview ends', async () => {
    renderRoom('typed');
    const ws = await connect();
    const input = await screen.findByTestId('answer-input');
    await waitFor(() => expect(input).toHaveFocus());
    const scrolled = vi.fn();
    Element.prototype.scrollIntoView = scrolled;
    act(() =>
      ws.receive(
        ...logged(
          [
            { type: 'answer.accepted', phase: 'scoring', turn: 0, text: 'An index.', source: 'typed' },
            { type: 'score', phase: 'reporting', turn: 0, criteria, average: 3.5, rubric_version: 'r1', delivery: null },
            {
              type: 'report',
              phase: 'reporting',
              overall_score: 3.5,
              strengths: ['a'],
              weaknesses: ['b'],
              next_steps: ['c'],
              rubric_version: 'r1',
              provider: 'offline',
            },
            { type: 'ended', phase: 'ended', status: 'finished', reason: 'all questions asked' },
          ],
          4,
        ),
      ),
    );
    const heading = await screen.findByRole('heading', { name: 'Interview complete' });
    await waitFor(() => expect(heading).toHaveFocus());
    expect(scrolled).toHaveBeenCalled();
    await waitFor(() => expect(document.title).toMatch(/^Finished · Interview/));
  });
});
