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
    { type: 'turn.start', phase: 'asking', turn: 0, kind: 'question', question_number: 1, question_count: 2 },
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
