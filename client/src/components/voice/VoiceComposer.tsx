import { useEffect, useRef, useState, type KeyboardEvent, type Ref } from 'react';
import type { VoiceAnswers } from '../../hooks/useVoiceAnswers';
import { formatDuration } from '../../lib/format';
import type { VoiceSnapshot } from '../../voice/controller';
import { MIC_PROBLEMS } from '../../voice/microphone';
import { MAX_RECORDING_MS, SILENCE_CHOICES_MS } from '../../voice/settings';
import { Alert } from '../ui';
import { LevelMeter } from './LevelMeter';

/** A press at least this long is push-to-talk (release stops); a shorter one is a tap (toggles). */
const HOLD_MS = 350;

function isRecordButton(target: EventTarget | null): boolean {
  return target instanceof HTMLElement && target.dataset.testid === 'record-button';
}

/** Space records when focus is on nothing that takes keys (or on the record button). */
function spaceRecords(target: EventTarget | null): boolean {
  if (isRecordButton(target)) return true;
  if (!(target instanceof HTMLElement)) return true;
  if (target === document.body) return true;
  return !target.closest('input, textarea, select, button, a, summary, [contenteditable="true"], dialog');
}

type Look = 'off' | 'idle' | 'recording' | 'busy' | 'ready' | 'problem';

function describe(
  snap: VoiceSnapshot | null,
  options: { canAnswer: boolean; asking: boolean; speaking: boolean; handsFree: boolean; silenceMs: number },
): { text: string; look: Look } {
  if (!snap || snap.mic === 'off' || snap.mic === 'opening') return { text: 'Starting the microphone…', look: 'off' };
  if (snap.mic === 'failed') return { text: 'The microphone is not available.', look: 'problem' };
  if (snap.mic === 'suspended') return { text: 'The microphone is paused until you click.', look: 'off' };
  const stage = snap.upload?.stage;
  if (snap.recording) {
    const how = snap.reason === 'barge-in' || options.handsFree ? `stops after ${options.silenceMs / 1000} s of silence` : 'release to stop, or tap again';
    return { text: snap.heardSpeech ? `Recording… (${how})` : `Recording… speak when you are ready (${how})`, look: 'recording' };
  }
  if (snap.stopping || stage === 'finishing') return { text: 'Sending your recording…', look: 'busy' };
  if (stage === 'transcribing') return { text: 'Transcribing…', look: 'busy' };
  if (snap.upload?.problem && stage !== 'transcribed') return { text: 'The recording needs attention.', look: 'problem' };
  if (snap.draft && snap.draft.uploadId) return { text: 'Check the transcript, correct it if needed, and send it.', look: 'ready' };
  if (!options.canAnswer) return { text: 'Wait for the next question…', look: 'idle' };
  if (options.asking || options.speaking) {
    return {
      text: options.handsFree ? 'The interviewer is speaking. Start talking to answer now, or wait.' : 'The interviewer is speaking. Hold the button to answer now.',
      look: 'idle',
    };
  }
  return {
    text: options.handsFree ? 'Tap the microphone to answer.' : 'Hold the button (or Space) while you speak, or tap to start and stop.',
    look: 'idle',
  };
}

function AutoSubmit({ at, onCancel }: { at: number; onCancel: () => void }) {
  const [left, setLeft] = useState(() => Math.max(0, Math.ceil((at - Date.now()) / 1000)));
  useEffect(() => {
    const timer = setInterval(() => setLeft(Math.max(0, Math.ceil((at - Date.now()) / 1000))), 200);
    return () => clearInterval(timer);
  }, [at]);
  return (
    <div className="auto-submit" data-testid="auto-submit" role="status">
      <span className="auto-submit__ring" aria-hidden="true" />
      <span>
        Sending your answer in <strong>{left}</strong> s.<span className="wide-only"> Edit the text to stop it.</span>
      </span>
      <button type="button" className="btn btn--ghost btn--sm" onClick={onCancel} data-testid="auto-submit-cancel">
        Don’t send yet
      </button>
    </div>
  );
}

/** The voice half of the answer box: the record control, its state, and the transcript to check. */
export function VoiceComposer({
  voice,
  inputId,
  canAnswer,
  connected,
  asking,
  recordRef,
  onSwitchToTyping,
  onSubmitShortcut,
}: {
  voice: VoiceAnswers;
  inputId: string;
  canAnswer: boolean;
  connected: boolean;
  asking: boolean;
  recordRef?: Ref<HTMLButtonElement>;
  onSwitchToTyping: () => void;
  onSubmitShortcut: () => void;
}) {
  const { controller, snapshot: snap, settings, updateSettings, interviewer } = voice;
  const press = useRef<{ at: number } | null>(null);
  const options = useRef<HTMLDetailsElement>(null);
  const spaceDown = useRef(false);
  const recording = !!snap?.recording;
  const stage = snap?.upload?.stage;
  const busy = !!snap && (snap.recording || snap.stopping || stage === 'finishing' || stage === 'transcribing');
  const micReady = snap?.mic === 'on';
  const canRecord = micReady && canAnswer && connected && !(snap?.stopping || stage === 'finishing' || stage === 'transcribing');

  // Press and release, from the pointer or the Space bar.
  const pressRef = useRef<() => void>(() => undefined);
  const releaseRef = useRef<() => void>(() => undefined);
  pressRef.current = () => {
    if (!controller) return;
    if (controller.getSnapshot().recording) {
      press.current = null;
      void controller.stopRecording();
      return;
    }
    if (!canRecord) return;
    press.current = voice.startAnswer() ? { at: performance.now() } : null;
  };
  releaseRef.current = () => {
    const started = press.current;
    press.current = null;
    if (started && performance.now() - started.at >= HOLD_MS) void controller?.stopRecording();
  };

  // The options pop-over closes on a click elsewhere or Escape, like a menu.
  useEffect(() => {
    const close = (e: Event) => {
      const details = options.current;
      if (!details?.open) return;
      if (e instanceof globalThis.KeyboardEvent ? e.key === 'Escape' : !details.contains(e.target as Node)) details.open = false;
    };
    document.addEventListener('pointerdown', close);
    document.addEventListener('keydown', close);
    return () => {
      document.removeEventListener('pointerdown', close);
      document.removeEventListener('keydown', close);
    };
  }, []);

  useEffect(() => {
    const isSpace = (e: globalThis.KeyboardEvent) => e.code === 'Space' || e.key === ' ';
    const onKeyDown = (e: globalThis.KeyboardEvent) => {
      if (!isSpace(e) || e.ctrlKey || e.metaKey || e.altKey || !spaceRecords(e.target)) return;
      e.preventDefault();
      if (e.repeat || spaceDown.current) return;
      spaceDown.current = true;
      pressRef.current();
    };
    const onKeyUp = (e: globalThis.KeyboardEvent) => {
      if (!isSpace(e) || !spaceDown.current) return;
      e.preventDefault();
      spaceDown.current = false;
      releaseRef.current();
    };
    window.addEventListener('keydown', onKeyDown);
    window.addEventListener('keyup', onKeyUp);
    return () => {
      window.removeEventListener('keydown', onKeyDown);
      window.removeEventListener('keyup', onKeyUp);
    };
  }, []);

  const status = describe(snap, {
    canAnswer,
    asking,
    speaking: interviewer.speaking,
    handsFree: settings.handsFree,
    silenceMs: settings.silenceMs,
  });
  const draft = snap?.draft ?? null;
  const problem = snap?.upload?.problem && stage !== 'transcribed' ? snap.upload.problem : null;
  const micProblem = snap?.mic === 'failed' && snap.micProblem ? MIC_PROBLEMS[snap.micProblem] : null;

  function onTranscriptKey(event: KeyboardEvent<HTMLTextAreaElement>) {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      onSubmitShortcut();
    }
  }

  return (
    <div className="voice" data-testid="voice-composer" data-state={status.look}>
      {micProblem && (
        <Alert tone="warning" title={micProblem.title}>
          <p>{micProblem.text}</p>
          <div className="button-row">
            <button type="button" className="btn btn--secondary btn--sm" onClick={() => void controller?.openMic()}>
              Try the microphone again
            </button>
            <button type="button" className="btn btn--ghost btn--sm" onClick={onSwitchToTyping}>
              Type instead
            </button>
          </div>
        </Alert>
      )}
      {snap?.mic === 'suspended' && (
        <div className="voice__resume">
          <span>Your browser paused the microphone and the interviewer’s voice until you click.</span>
          <button type="button" className="btn btn--primary btn--sm" onClick={() => void controller?.resumeMic()} data-testid="mic-resume">
            Turn on voice
          </button>
        </div>
      )}

      <div className="voice__panel">
        <button
          ref={recordRef}
          type="button"
          className={`record${recording ? ' record--on' : ''}`}
          data-testid="record-button"
          aria-label={recording ? 'Stop recording' : 'Record your answer'}
          aria-pressed={recording}
          aria-describedby={`${inputId}-voice-state`}
          disabled={!recording && !canRecord}
          onPointerDown={(e) => {
            if (e.button !== 0) return;
            e.preventDefault();
            e.currentTarget.setPointerCapture?.(e.pointerId);
            pressRef.current();
          }}
          onPointerUp={() => releaseRef.current()}
          onPointerCancel={() => releaseRef.current()}
          onContextMenu={(e) => e.preventDefault()}
          onClick={(e) => {
            // Enter (a click with no pointer) toggles; pointer presses are handled above.
            if (e.detail === 0) {
              pressRef.current();
              press.current = null;
            }
          }}
        >
          <MicGlyph />
          {recording && <span className="record__pulse" aria-hidden="true" />}
        </button>
        <div className="voice__status">
          <p id={`${inputId}-voice-state`} className="voice__state" role="status" data-testid="voice-state">
            {status.look === 'busy' && <span className="dots" aria-hidden="true" />}
            {status.text}
          </p>
          <div className="voice__meter-row">
            {controller && snap && snap.mic === 'on' && <LevelMeter subscribe={controller.subscribeLevel} />}
            {(recording || busy || (snap?.elapsedMs ?? 0) > 0) && (
              <span className="voice__time" data-testid="record-time" aria-label="Recorded time">
                {formatDuration((snap?.elapsedMs ?? 0) / 1000)} <span className="muted">/ {formatDuration(MAX_RECORDING_MS / 1000)}</span>
              </span>
            )}
          </div>
        </div>
      </div>

      {(problem || snap?.notice) && (
        <div className="voice__problem" role="alert" data-testid="voice-problem">
          <p>{problem ? problem.message : snap?.notice}</p>
          {problem && (
            <div className="button-row">
              {(problem.remedy === 'retry-start' || problem.remedy === 'retry-transcription') && (
                <button type="button" className="btn btn--secondary btn--sm" onClick={() => controller?.retry()} data-testid="voice-retry">
                  Try again
                </button>
              )}
              {problem.remedy === 'record-again' && canRecord && (
                <button type="button" className="btn btn--secondary btn--sm" onClick={() => controller?.recordAgain()} data-testid="record-again">
                  Record again
                </button>
              )}
              <button type="button" className="btn btn--ghost btn--sm" onClick={onSwitchToTyping}>
                Type instead
              </button>
            </div>
          )}
        </div>
      )}

      <div className="voice__transcript">
        <div className="voice__transcript-head">
          <span className="voice__transcript-label">Transcript</span>
          {draft?.rough && (
            <span className="voice__rough" data-testid="transcript-rough">
              The transcript may need a correction
            </span>
          )}
          {draft?.uploadId && !busy && canRecord && (
            <button type="button" className="link-button small" onClick={() => controller?.recordAgain()} data-testid="record-again">
              Record again
            </button>
          )}
        </div>
        <textarea
          id={inputId}
          className="textarea composer__input voice__text"
          rows={3}
          value={draft?.text ?? ''}
          readOnly={busy}
          onChange={(e) => controller?.setDraftText(e.target.value)}
          onKeyDown={onTranscriptKey}
          placeholder={
            canAnswer
              ? 'Your words appear here to check.'
              : 'Wait for the next question…'
          }
          aria-describedby={`${inputId}-voice-state`}
          data-testid="transcript-input"
        />
        {draft && snap?.autoSubmitAt && <AutoSubmit at={snap.autoSubmitAt} onCancel={() => controller?.cancelAutoSubmit()} />}
      </div>

      <div className="voice__toolbar">
        <button
          type="button"
          role="switch"
          aria-checked={settings.handsFree}
          className="toggle"
          onClick={() => updateSettings({ handsFree: !settings.handsFree })}
          data-testid="hands-free-switch"
        >
          <span className="toggle__track" aria-hidden="true">
            <span className="toggle__thumb" />
          </span>
          Hands-free
        </button>
        {settings.handsFree ? (
          <label className="voice__silence">
            <span className="wide-only">stops after</span>
            <select
              className="select select--sm"
              value={settings.silenceMs}
              onChange={(e) => updateSettings({ silenceMs: Number(e.target.value) })}
              aria-label="Silence that ends a recording"
              data-testid="silence-select"
            >
              {SILENCE_CHOICES_MS.map((ms) => (
                <option key={ms} value={ms}>
                  {ms / 1000} s of silence
                </option>
              ))}
            </select>
          </label>
        ) : (
          <span className="voice__hint">Push to talk: hold the button or Space</span>
        )}
        <details className="voice__more" ref={options}>
          <summary>
            <span className="wide-only">Voice options</span>
            <span className="narrow-only">More</span>
          </summary>
          <div className="voice__more-body">
            <label className="switch">
              <input
                type="checkbox"
                checked={settings.bargeIn}
                onChange={(e) => updateSettings({ bargeIn: e.target.checked })}
                data-testid="barge-in-switch"
              />
              <span>Interrupt the interviewer by speaking</span>
            </label>
            {interviewer.available && (
              <label className="voice__picker">
                <span>Interviewer voice</span>
                <select
                  className="select select--sm"
                  value={settings.voiceUri ?? ''}
                  onChange={(e) => updateSettings({ voiceUri: e.target.value || null })}
                  data-testid="voice-picker"
                >
                  <option value="">Browser default</option>
                  {interviewer.voices.map((v) => (
                    <option key={v.voiceURI} value={v.voiceURI}>
                      {v.name} ({v.lang})
                    </option>
                  ))}
                </select>
              </label>
            )}
            {interviewer.supported && !interviewer.available && (
              <p className="muted small">This browser has no voices to read questions aloud; they appear as text.</p>
            )}
          </div>
        </details>
      </div>
    </div>
  );
}

function MicGlyph() {
  return (
    <svg className="record__icon" viewBox="0 0 24 24" width="26" height="26" fill="none" stroke="currentColor" strokeWidth="2" strokeLinecap="round" aria-hidden="true">
      <rect x="8.5" y="3" width="7" height="12" rx="3.5" />
      <path d="M5 11.5a7 7 0 0 0 14 0M12 18.5V21" />
    </svg>
  );
}
