/**
 * Pauses between questions: asking for one (it begins once the current question is done),
 * cancelling it, and the paused room. What shows is the server's word (`pause.requested`,
 * `interview.paused`, `interview.resumed`), or what this client just asked for.
 */
import { useEffect, useRef, type ReactNode } from 'react';
import type { PauseView } from '../../hooks/interviewReducer';

export function PauseRequest({
  view,
  disabled,
  describedBy,
  onPause,
  onCancel,
}: {
  view: 'none' | 'requested';
  disabled: boolean;
  describedBy?: string;
  onPause: () => void;
  onCancel: () => void;
}) {
  if (view === 'requested') {
    return (
      <div className="pause-request pause-request--on" data-testid="pause-requested">
        <p className="pause-request__text" role="status">
          Pause requested — the interview pauses after this question.
        </p>
        <button
          type="button"
          className="link-button small"
          onClick={onCancel}
          disabled={disabled}
          aria-describedby={describedBy}
          data-testid="pause-cancel"
        >
          Cancel<span className="visually-hidden"> the pause</span>
        </button>
      </div>
    );
  }
  return (
    <div className="pause-request">
      <button
        type="button"
        className="link-button small"
        onClick={onPause}
        disabled={disabled}
        aria-label="Pause after this question"
        aria-describedby={describedBy}
        data-testid="pause-button"
      >
        Pause<span className="wide-only"> after this question</span>
      </button>
    </div>
  );
}

export function PausedPanel({
  view,
  disabled,
  describedBy,
  onResume,
  children,
}: {
  view: Extract<PauseView, 'paused' | 'resuming'>;
  disabled: boolean;
  describedBy?: string;
  onResume: () => void;
  /** The connection's status, when it needs telling. */
  children?: ReactNode;
}) {
  const resume = useRef<HTMLButtonElement>(null);
  // The one thing to do here: the keyboard starts on it.
  useEffect(() => {
    resume.current?.focus({ preventScroll: true });
  }, []);
  return (
    <section className="paused" aria-labelledby="paused-title" data-testid="paused">
      <div className="paused__body">
        <h2 id="paused-title" className="paused__title">
          Paused.
        </h2>
        <p className="paused__text">Take your time; no clock is running. The next question is asked when you resume.</p>
      </div>
      <button
        ref={resume}
        type="button"
        className="btn btn--primary"
        onClick={onResume}
        disabled={disabled || view === 'resuming'}
        aria-describedby={describedBy}
        data-testid="resume-button"
      >
        {view === 'resuming' ? 'Resuming…' : 'Resume'}
      </button>
      {children}
    </section>
  );
}
