/**
 * Steering one live interview from the admin socket: a hidden note to the interviewer, more time
 * for the open answer, or ending it. Each command's answer (steer.ack, or the error that refused
 * it) is shown under the panel's controls.
 */
import { useEffect, useId, useRef, useState } from 'react';
import { MAX_NOTE_CHARS, type SteerAction, type SteerFrame } from '../../api/adminProtocol';
import type { SteerResult } from '../../hooks/adminReducer';

const ACTION_TEXT: Record<SteerAction, string> = {
  'steer.note': 'Note',
  'steer.extend': 'More time',
  'steer.end': 'End',
};

const EXTENSIONS = [60, 120] as const;

export interface SteeringPanelProps {
  interviewId: string;
  /** The turn whose answer is open (the candidate is answering it), or null. */
  openTurn: number | null;
  /** The interview has ended: nothing can be steered any more. */
  ended: boolean;
  /** The admin socket is connected. */
  connected: boolean;
  /** The newest command about this interview and what became of it. */
  result: SteerResult | null;
  /** Sends the command: the id of its result, or null when it could not be sent. */
  steer: (frame: SteerFrame) => number | null;
}

function StatusLine({ result, unsent }: { result: SteerResult | null; unsent: string | null }) {
  if (unsent) {
    return (
      <p className="steer-status steer-status--refused" role="alert" data-testid="steer-status" data-state="unsent">
        {unsent}
      </p>
    );
  }
  if (!result) {
    return (
      <p className="steer-status steer-status--idle muted small" role="status" data-testid="steer-status" data-state="idle">
        Every action here is recorded in the audit log.
      </p>
    );
  }
  const what = ACTION_TEXT[result.action];
  let text: string;
  switch (result.status) {
    case 'pending':
      text = `${what}: sent, waiting for the interview to take it…`;
      break;
    case 'acked':
      text = `${what}: ${result.message || 'done.'}`;
      break;
    case 'refused':
      text = `${what} refused: ${result.message}${result.code ? ` (${result.code})` : ''}`;
      break;
    default:
      text = `${what}: ${result.message}`;
  }
  return (
    <p
      className={`steer-status steer-status--${result.status}`}
      role={result.status === 'refused' ? 'alert' : 'status'}
      aria-live="polite"
      data-testid="steer-status"
      data-state={result.status}
    >
      {text}
    </p>
  );
}

export function SteeringPanel({ interviewId, openTurn, ended, connected, result, steer }: SteeringPanelProps) {
  const noteId = useId();
  const [note, setNote] = useState('');
  const [unsent, setUnsent] = useState<string | null>(null);
  const [confirmEnd, setConfirmEnd] = useState(false);
  const dialogRef = useRef<HTMLDialogElement>(null);
  // The note waits in the box until the interview has taken it: a refused note can be resent.
  const sentNote = useRef<number | null>(null);

  useEffect(() => {
    if (result && result.id === sentNote.current && result.status === 'acked') {
      sentNote.current = null;
      setNote('');
    }
  }, [result]);

  useEffect(() => {
    const dialog = dialogRef.current;
    if (!dialog) return;
    if (confirmEnd && !dialog.open) dialog.showModal?.();
    if (!confirmEnd && dialog.open) dialog.close();
  }, [confirmEnd]);

  function send(frame: SteerFrame): number | null {
    const id = steer(frame);
    setUnsent(id === null ? 'Not connected to the live monitor right now: nothing was sent. Try again in a moment.' : null);
    return id;
  }

  const trimmed = note.trim();
  const tooLong = trimmed.length > MAX_NOTE_CHARS;
  const disabled = ended || !connected;

  return (
    <section className="card steer" aria-labelledby={`${noteId}-title`} data-testid="steer-panel">
      <h2 id={`${noteId}-title`} className="card__title">
        Steer this interview
      </h2>
      {ended && <p className="muted small">The interview has ended.</p>}

      <form
        className="steer__block"
        onSubmit={(e) => {
          e.preventDefault();
          if (!trimmed || tooLong || disabled) return;
          sentNote.current = send({ type: 'steer.note', interview_id: interviewId, text: trimmed });
        }}
      >
        <label className="field__label" htmlFor={noteId}>
          Note to the interviewer
        </label>
        <textarea
          id={noteId}
          className="textarea steer__note"
          rows={3}
          value={note}
          maxLength={MAX_NOTE_CHARS * 2}
          onChange={(e) => setNote(e.target.value)}
          placeholder="e.g. Ask a follow-up about how they would test this."
          aria-describedby={`${noteId}-hint`}
          aria-invalid={tooLong || undefined}
          disabled={ended}
          data-testid="steer-note-input"
        />
        <div className="steer__row">
          <p id={`${noteId}-hint`} className="field__hint">
            {tooLong ? (
              <span className="field__error">
                {trimmed.length} / {MAX_NOTE_CHARS} characters: shorten the note.
              </span>
            ) : (
              <>
                The candidate never sees this. It shapes the next turn. <span className="steer__count">{trimmed.length} / {MAX_NOTE_CHARS}</span>
              </>
            )}
          </p>
          <button
            type="submit"
            className="btn btn--primary btn--sm"
            disabled={disabled || !trimmed || tooLong}
            data-testid="steer-note-send"
          >
            Send note
          </button>
        </div>
      </form>

      <div className="steer__block">
        <span className="field__label">More time for the answer</span>
        <div className="button-row">
          {EXTENSIONS.map((seconds) => (
            <button
              key={seconds}
              type="button"
              className="btn btn--secondary btn--sm"
              disabled={disabled || openTurn === null}
              onClick={() =>
                openTurn !== null && send({ type: 'steer.extend', interview_id: interviewId, turn: openTurn, seconds })
              }
              data-testid={`steer-extend-${seconds}`}
            >
              +{seconds} s
            </button>
          ))}
        </div>
        <p className="field__hint">
          {openTurn === null ? 'Only while the candidate is answering.' : 'The candidate sees their clock move.'}
        </p>
      </div>

      <div className="steer__block">
        <span className="field__label">End the interview</span>
        <div>
          <button
            type="button"
            className="btn btn--danger btn--sm"
            disabled={disabled}
            onClick={() => setConfirmEnd(true)}
            data-testid="steer-end"
          >
            End interview…
          </button>
        </div>
      </div>

      <StatusLine result={result} unsent={unsent} />

      <dialog
        ref={dialogRef}
        className="dialog"
        aria-labelledby={`${noteId}-end-title`}
        onClose={() => setConfirmEnd(false)}
        onCancel={() => setConfirmEnd(false)}
        data-testid="steer-end-dialog"
      >
        <h2 id={`${noteId}-end-title`} className="dialog__title">
          End this interview now?
        </h2>
        <p className="dialog__text">
          The candidate's open question is recorded as skipped, and their report is written from the answers given so far. This
          cannot be undone.
        </p>
        <div className="dialog__actions">
          <button type="button" className="btn btn--secondary" onClick={() => setConfirmEnd(false)} autoFocus>
            Keep it running
          </button>
          <button
            type="button"
            className="btn btn--danger"
            onClick={() => {
              send({ type: 'steer.end', interview_id: interviewId });
              setConfirmEnd(false);
            }}
            data-testid="steer-end-confirm"
          >
            End the interview
          </button>
        </div>
      </dialog>
    </section>
  );
}
