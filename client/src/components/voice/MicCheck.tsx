import { useCallback, useEffect, useRef, useState } from 'react';
import { openBrowserMicrophone, runMicCheck, TEST_CLIP_MS, type MicCheckStep } from '../../voice/micCheck';
import { MIC_PROBLEMS, type MicEnvironment, type MicProblem, type OpenMicrophone } from '../../voice/microphone';
import { LevelMeter } from './LevelMeter';

export type MicCheckStatus = 'idle' | 'running' | 'passed' | 'failed';

const STEP_TEXT: Record<MicCheckStep, string> = {
  asking: 'Allow the microphone when your browser asks…',
  recording: 'Recording: say a sentence, for example your name and the role you are practising for.',
  playing: 'Playing it back…',
};

/**
 * The microphone check on the new-interview form: asks for the microphone, shows its level,
 * records a 3-second clip and plays it back. Says plainly what went wrong, with a one-click way
 * to type instead.
 */
export function MicCheck({
  onStatus,
  onUseTyping,
  open = openBrowserMicrophone,
  env,
}: {
  onStatus: (status: MicCheckStatus) => void;
  onUseTyping: () => void;
  open?: OpenMicrophone;
  env?: MicEnvironment;
}) {
  const [status, setStatus] = useState<MicCheckStatus>('idle');
  const [step, setStep] = useState<MicCheckStep | null>(null);
  const [problem, setProblem] = useState<MicProblem | null>(null);
  const [secondsLeft, setSecondsLeft] = useState<number | null>(null);
  const levelListeners = useRef(new Set<(db: number) => void>());
  const mounted = useRef(true);
  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
    };
  }, []);

  const subscribeLevel = useCallback((listener: (db: number) => void) => {
    levelListeners.current.add(listener);
    return () => levelListeners.current.delete(listener);
  }, []);

  const report = (next: MicCheckStatus) => {
    // A check that outlives the panel (the candidate chose typing meanwhile) reports nothing.
    if (!mounted.current) return;
    setStatus(next);
    onStatus(next);
  };

  async function check() {
    report('running');
    setProblem(null);
    let timer: ReturnType<typeof setInterval> | null = null;
    const result = await runMicCheck({
      open,
      env,
      onLevel: (db) => levelListeners.current.forEach((l) => l(db)),
      onStep: (s) => {
        if (!mounted.current) return;
        setStep(s);
        if (s === 'recording') {
          const until = Date.now() + TEST_CLIP_MS;
          setSecondsLeft(TEST_CLIP_MS / 1000);
          timer = setInterval(() => setSecondsLeft(Math.max(0, Math.ceil((until - Date.now()) / 1000))), 250);
        } else if (timer) {
          clearInterval(timer);
          timer = null;
        }
      },
    });
    if (timer) clearInterval(timer);
    if (!mounted.current) return;
    setStep(null);
    setSecondsLeft(null);
    if (result.ok) {
      report('passed');
    } else {
      setProblem(result.problem);
      report('failed');
    }
  }

  const running = status === 'running';
  return (
    <section className="mic-check" aria-labelledby="mic-check-title" data-testid="mic-check-panel">
      <div className="mic-check__head">
        <div>
          <h3 id="mic-check-title" className="mic-check__title">
            Microphone check
          </h3>
          <p className="field__hint">
            We record {TEST_CLIP_MS / 1000} seconds and play them back, so you know you will be heard. The clip stays
            in your browser.
          </p>
        </div>
        <button
          type="button"
          className={status === 'passed' ? 'btn btn--secondary' : 'btn btn--primary'}
          onClick={() => void check()}
          disabled={running}
          data-testid="mic-check"
        >
          {running ? 'Checking…' : status === 'idle' ? 'Check microphone' : 'Check again'}
        </button>
      </div>

      {running && (
        <div className="mic-check__live" aria-live="polite">
          <p className="mic-check__step">
            {step ? STEP_TEXT[step] : 'Starting…'}
            {step === 'recording' && secondsLeft !== null && <span className="mic-check__secs"> {secondsLeft} s</span>}
          </p>
          {(step === 'recording' || step === 'playing') && <LevelMeter subscribe={subscribeLevel} size="lg" />}
        </div>
      )}

      <div role="status" aria-live="polite" data-testid="mic-check-result" data-status={status}>
        {status === 'passed' && (
          <p className="mic-check__result mic-check__result--ok">
            <span aria-hidden="true">✓</span> Your microphone works: we heard you. You can start the interview.
          </p>
        )}
        {status === 'failed' && problem && (
          <div className="mic-check__result mic-check__result--failed">
            <p>
              <strong>{MIC_PROBLEMS[problem].title}.</strong> {MIC_PROBLEMS[problem].text}
            </p>
            <button type="button" className="btn btn--secondary btn--sm" onClick={onUseTyping} data-testid="use-typing">
              Type answers instead
            </button>
          </div>
        )}
      </div>
    </section>
  );
}
