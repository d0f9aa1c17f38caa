import { QueryClientProvider } from '@tanstack/react-query';
import { act, render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { MemoryRouter } from 'react-router';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { makeQueryClient } from '../App';
import { MicCheck } from '../components/voice/MicCheck';
import { FakeMicrophone } from '../test/voice';
import type { MicEnvironment } from '../voice/microphone';
import { NewInterview } from './NewInterview';

function renderForm() {
  return render(
    <QueryClientProvider client={makeQueryClient()}>
      <MemoryRouter>
        <NewInterview />
      </MemoryRouter>
    </QueryClientProvider>,
  );
}

const domError = (name: string) => Object.assign(new Error(`${name} (from the browser)`), { name });

/** A browser that could record (secure page, Web Audio with worklets), with this getUserMedia. */
function stubBrowser(getUserMedia: () => Promise<MediaStream>, over: { secure?: boolean; worklet?: boolean } = {}) {
  vi.stubGlobal('isSecureContext', over.secure ?? true);
  vi.stubGlobal('AudioContext', function AudioContext() {});
  vi.stubGlobal('AudioWorkletNode', over.worklet === false ? undefined : function AudioWorkletNode() {});
  const spy = vi.fn(getUserMedia);
  Object.defineProperty(navigator, 'mediaDevices', { configurable: true, value: { getUserMedia: spy } });
  return spy;
}

afterEach(() => {
  vi.unstubAllGlobals();
  Reflect.deleteProperty(navigator, 'mediaDevices');
});

const startButton = () => screen.getByRole('button', { name: /Start interview/ });
const result = () => screen.getByTestId('mic-check-result');

describe('NewInterview: answering by voice', () => {
  it('needs a passed microphone check to start; a blocked microphone says so, and one click switches to typing', async () => {
    const getUserMedia = stubBrowser(() => Promise.reject(domError('NotAllowedError')));
    const user = userEvent.setup();
    renderForm();
    expect(screen.getByTestId('answer-mode-typed')).toBeChecked();
    expect(startButton()).toBeEnabled();

    await user.click(screen.getByTestId('answer-mode-voice'));
    expect(startButton()).toBeDisabled();
    expect(screen.getByText('Check your microphone first, or choose to type your answers.')).toBeInTheDocument();

    await user.click(screen.getByTestId('mic-check'));
    await waitFor(() => expect(result()).toHaveAttribute('data-status', 'failed'));
    expect(getUserMedia).toHaveBeenCalledTimes(1);
    expect(result()).toHaveTextContent('Microphone access is blocked.');
    expect(result()).toHaveTextContent(/Allow the microphone for this site/);
    expect(startButton()).toBeDisabled();

    await user.click(screen.getByTestId('use-typing'));
    expect(screen.getByTestId('answer-mode-typed')).toBeChecked();
    expect(screen.queryByTestId('mic-check')).toBeNull();
    expect(startButton()).toBeEnabled();
    expect(localStorage.getItem('interview.answerMode')).toBe('typed');
  });

  it.each([
    [{ secure: false }, () => Promise.reject(domError('NotAllowedError')), 'Voice answers need a secure connection.', false],
    [{ worklet: false }, () => Promise.reject(domError('NotAllowedError')), 'This browser cannot process audio for voice answers.', false],
    [{}, () => Promise.reject(domError('NotFoundError')), 'No microphone was found.', true],
    [{}, () => Promise.reject(domError('NotReadableError')), 'The microphone could not be started.', true],
  ] as const)('explains a failure in plain words (%o)', async (over, getUserMedia, message, asked) => {
    const spy = stubBrowser(getUserMedia, over);
    const user = userEvent.setup();
    renderForm();
    await user.click(screen.getByTestId('answer-mode-voice'));
    await user.click(screen.getByTestId('mic-check'));
    await waitFor(() => expect(result()).toHaveAttribute('data-status', 'failed'));
    expect(result()).toHaveTextContent(message);
    expect(screen.getByTestId('use-typing')).toHaveTextContent('Type answers instead');
    // Nothing is asked of a browser that could not record anyway.
    expect(spy).toHaveBeenCalledTimes(asked ? 1 : 0);
  });

  it('remembers voice as the last choice (and still asks for a check)', () => {
    localStorage.setItem('interview.answerMode', 'voice');
    renderForm();
    expect(screen.getByTestId('answer-mode-voice')).toBeChecked();
    expect(screen.getByTestId('mic-check')).toHaveTextContent('Check microphone');
    expect(startButton()).toBeDisabled();
  });
});

describe('MicCheck', () => {
  const capable: MicEnvironment = {
    isSecureContext: true,
    mediaDevices: { getUserMedia: () => undefined },
    AudioContext: function AudioContext() {},
    AudioWorkletNode: function AudioWorkletNode() {},
  };

  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('shows a live level while it records, plays the clip back, and passes', async () => {
    const mic = new FakeMicrophone();
    const statuses: string[] = [];
    render(<MicCheck open={async () => mic} env={capable} onStatus={(s) => statuses.push(s)} onUseTyping={() => undefined} />);
    await act(async () => {
      screen.getByTestId('mic-check').click();
    });
    expect(screen.getByText(/Recording: say a sentence/)).toBeInTheDocument();
    const meter = screen.getByTestId('level-meter');
    await act(async () => {
      mic.speak(1000);
      vi.advanceTimersByTime(20);
    });
    expect(meter).toHaveAttribute('data-level', '-25');
    expect(meter).toHaveAttribute('data-voice', 'true');
    await act(async () => {
      vi.advanceTimersByTime(3000);
    });
    await vi.waitFor(() => expect(screen.getByTestId('mic-check-result')).toHaveAttribute('data-status', 'passed'));
    expect(screen.getByTestId('mic-check-result')).toHaveTextContent('Your microphone works');
    expect(mic.played).toHaveLength(1);
    expect(mic.closed).toBe(true);
    expect(statuses).toEqual(['running', 'passed']);
    expect(screen.getByTestId('mic-check')).toHaveTextContent('Check again');
  });
});

describe('NewInterview: from a link', () => {
  function renderAt(path: string) {
    return render(
      <QueryClientProvider client={makeQueryClient()}>
        <MemoryRouter initialEntries={[path]}>
          <NewInterview />
        </MemoryRouter>
      </QueryClientProvider>,
    );
  }

  it('starts on the track and level the address names (as the dashboard links to practise)', () => {
    renderAt('/new?track=frontend&level=senior&focus=clarity');
    expect(screen.getByRole('radio', { name: /^Frontend/ })).toBeChecked();
    expect(screen.getByRole('radio', { name: 'Senior' })).toBeChecked();
  });

  it('keeps the defaults for a track or level it does not know', () => {
    renderAt('/new?track=astrology&level=guru');
    expect(screen.getByRole('radio', { name: /^Backend/ })).toBeChecked();
    expect(screen.getByRole('radio', { name: 'Mid-level' })).toBeChecked();
  });

  it('names the hidden file pickers after the buttons that open them', () => {
    renderAt('/new');
    const pickers = document.querySelectorAll<HTMLInputElement>('input[type="file"]');
    expect(pickers).toHaveLength(2);
    expect(pickers[0]).toHaveAccessibleName('Upload .txt');
    expect(pickers[1]).toHaveAccessibleName('Upload PDF, Word or .txt');
  });
});
