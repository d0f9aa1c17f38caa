import { useEffect, useId, useLayoutEffect, useMemo, useRef, useState, type KeyboardEvent } from 'react';
import { Link, Navigate, useLocation, useParams } from 'react-router';
import { useQueryClient } from '@tanstack/react-query';
import { refreshSession } from '../api/client';
import { ApiError } from '../api/errors';
import { fetchInterview, keys, useInterview } from '../api/queries';
import { MAX_ANSWER_CHARS } from '../api/protocol';
import { tokens } from '../auth/tokens';
import { interviewSocketUrl } from '../config';
import { ConnectionBadge } from '../components/ConnectionBadge';
import { CriteriaList } from '../components/Feedback';
import { Alert, EmptyState, ErrorState, LoadingBlock, ScoreBadge } from '../components/ui';
import { VoiceComposer } from '../components/voice/VoiceComposer';
import type { AnswerExtension, TranscriptTurn } from '../hooks/interviewReducer';
import { useCountdown } from '../hooks/useCountdown';
import { useInterviewSocket } from '../hooks/useInterviewSocket';
import { useVoiceAnswers } from '../hooks/useVoiceAnswers';
import { deliverySummary } from '../lib/delivery';
import { formatDuration, formatScore, levelLabel, trackLabel } from '../lib/format';
import { browserMicEnvironment, micSupportProblem } from '../voice/microphone';
import { loadInterviewMode, saveInterviewMode, type AnswerMode } from '../voice/settings';

const OUTCOME_TEXT = { skipped: 'Skipped', timed_out: 'Time ran out' } as const;

function draftKey(id: string) {
  return `interview.draft.${id}`;
}

function useDraft(id: string): [string, (value: string) => void] {
  const [draft, setDraft] = useState(() => {
    try {
      return sessionStorage.getItem(draftKey(id)) ?? '';
    } catch {
      return '';
    }
  });
  const update = (value: string) => {
    setDraft(value);
    try {
      if (value) sessionStorage.setItem(draftKey(id), value);
      else sessionStorage.removeItem(draftKey(id));
    } catch {
      // storage unavailable: the draft lives in memory only
    }
  };
  return [draft, update];
}

const isMac = typeof navigator !== 'undefined' && /Mac|iPhone|iPad/.test(navigator.platform || navigator.userAgent);

function Turn({ turn, latest, total }: { turn: TranscriptTurn; latest: boolean; total: number }) {
  const label =
    turn.kind === 'follow_up' ? `Follow-up · question ${turn.questionNumber}` : `Question ${turn.questionNumber}${total ? ` of ${total}` : ''}`;
  return (
    <li className="turn" data-turn={turn.index} data-testid="turn">
      <div className="bubble bubble--interviewer">
        <div className="bubble__meta">
          <span className="bubble__who">Interviewer</span>
          <span className="bubble__label">{label}</span>
        </div>
        <p
          className="bubble__text"
          data-testid="turn-question"
          aria-live={latest ? 'polite' : undefined}
          aria-busy={latest ? turn.streaming : undefined}
        >
          {turn.question ||
            (turn.streaming ? null : (
              <span className="muted">
                The words of this question were lost in a reconnect. Answer what you remember of it, or skip it.
              </span>
            ))}
          {turn.streaming && <span className="cursor" aria-hidden="true" />}
        </p>
        {turn.interrupted && !turn.streaming && <p className="bubble__note">You stopped the interviewer here.</p>}
      </div>

      {turn.answer !== null && (
        <div className="bubble bubble--candidate">
          <div className="bubble__meta">
            <span className="bubble__who">You</span>
            {turn.answerSource === 'voice' && <span className="bubble__label">Spoken</span>}
          </div>
          <p className="bubble__text" data-testid="turn-answer">
            {turn.answer}
          </p>
        </div>
      )}
      {turn.answer === null && turn.outcome && turn.outcome !== 'answered' && (
        <p className="turn__outcome" data-testid="turn-outcome">
          {OUTCOME_TEXT[turn.outcome]}
        </p>
      )}

      {turn.scores && (
        <details className="feedback" open={latest} data-testid="turn-feedback">
          <summary className="feedback__summary">
            <span className="feedback__title">Feedback</span>
            <ScoreBadge score={turn.average} size="sm" label="Answer score" />
            <span className="feedback__hint muted">{turn.scores.length} criteria</span>
          </summary>
          {turn.delivery && turn.answerSource === 'voice' && (
            <p className="feedback__delivery" data-testid="turn-delivery">
              <span className="feedback__delivery-label">Delivery</span> {deliverySummary(turn.delivery)}
            </p>
          )}
          <CriteriaList scores={turn.scores} />
        </details>
      )}
      {turn.scoreFailed && !turn.scores && (
        <p className="turn__outcome">This answer could not be scored; it is saved in your transcript.</p>
      )}
    </li>
  );
}

export function InterviewRoom() {
  const { id = '' } = useParams();
  const location = useLocation();
  const queryClient = useQueryClient();
  const meta = useInterview(id);
  const initiallyOver = useRef<boolean | null>(null);
  if (initiallyOver.current === null && meta.data) {
    initiallyOver.current = meta.data.status === 'finished' || meta.data.status === 'abandoned';
  }
  const enabled = !!meta.data && initiallyOver.current === false;
  const live = useInterviewSocket(
    id,
    {
      url: interviewSocketUrl(id),
      getToken: () => tokens.get()?.accessToken ?? null,
      refreshToken: refreshSession,
      loadInterview: fetchInterview,
    },
    enabled,
  );
  const { state } = live;
  const [draft, setDraft] = useDraft(id);
  const [mode, setModeState] = useState<AnswerMode>(() => loadInterviewMode(id, location.state));
  const setMode = (next: AnswerMode) => {
    setModeState(next);
    saveInterviewMode(id, next);
  };
  const voiceSupported = useMemo(() => micSupportProblem(browserMicEnvironment()) === null, []);
  const recordRef = useRef<HTMLButtonElement>(null);
  const [confirmEnd, setConfirmEnd] = useState(false);
  const textareaRef = useRef<HTMLTextAreaElement>(null);
  const dialogRef = useRef<HTMLDialogElement>(null);
  const answerId = useId();
  const limitS = meta.data?.answer_time_limit_s ?? null;
  // An administrator may give the open answer more time: the clock may then run past the limit.
  const extension = state.extension?.turn === state.currentTurn ? state.extension : null;
  const countdown = useCountdown(live.deadlineMs, limitS === null ? null : limitS + (extension?.totalS ?? 0));
  const extendedNotice = useExtendedNotice(state.extension, live.socket?.restoredSeq ?? null);

  const turns = live.transcript;
  const openTurn = useMemo(
    () =>
      state.currentTurn === null ? undefined : turns.find((t) => t.index === state.currentTurn),
    [turns, state.currentTurn],
  );
  const streaming = !!openTurn?.streaming && live.phase === 'asking';
  const lastScored = useMemo(() => [...turns].reverse().find((t) => t.scores), [turns]);
  const canAnswer = (live.phase === 'asking' || live.phase === 'listening') && !!openTurn && openTurn.outcome === null;
  const connected = live.connection === 'connected' || live.connection === 'resumed';
  const pending = state.pending;
  const ended = live.phase === 'ended' || state.closeReason === 'finished';
  const voice = useVoiceAnswers({
    interviewId: id,
    socket: live.socket,
    mode,
    over: ended || !enabled,
    phase: live.phase,
    currentTurn: state.currentTurn,
    turns,
    interrupt: live.interrupt,
    answer: live.answer,
  });
  const voiceMode = mode === 'voice';
  const voiceSnap = voice.snapshot;
  const voiceText = voiceSnap?.draft?.text ?? '';
  const voiceStage = voiceSnap?.upload?.stage;
  const voiceBusy =
    !!voiceSnap && (voiceSnap.recording || voiceSnap.stopping || voiceStage === 'finishing' || voiceStage === 'transcribing');

  // Clear the draft once the server has the answer.
  const acceptedTurn = useRef<number | null>(null);
  useEffect(() => {
    if (pending?.kind === 'answer') acceptedTurn.current = pending.turn;
  }, [pending]);
  useEffect(() => {
    const t = acceptedTurn.current;
    if (t === null) return;
    const turn = turns.find((x) => x.index === t);
    if (turn?.outcome) {
      acceptedTurn.current = null;
      setDraft('');
    }
  }, [turns]);

  // Refresh lists (dashboard, history, credits) when the interview ends.
  useEffect(() => {
    if (!ended) return;
    void queryClient.invalidateQueries({ queryKey: keys.interviews });
  }, [ended, queryClient]);

  // Keep the newest words in view while the user is following along at the bottom.
  const stickToBottom = useRef(true);
  useEffect(() => {
    const onScroll = () => {
      const gap = document.documentElement.scrollHeight - window.scrollY - window.innerHeight;
      stickToBottom.current = gap < 160;
    };
    window.addEventListener('scroll', onScroll, { passive: true });
    return () => window.removeEventListener('scroll', onScroll);
  }, []);
  const lastText = turns.length ? turns[turns.length - 1].question.length : 0;
  useLayoutEffect(() => {
    // To the very bottom: the sticky answer box then sits below the newest words, not over them.
    if (stickToBottom.current) window.scrollTo({ top: document.documentElement.scrollHeight });
  }, [turns.length, lastText, live.phase]);

  // When a question has been asked, put the cursor in the answer box (unless the user is elsewhere).
  // (By voice: on the record button, where Space records.)
  const listeningTurn = live.phase === 'listening' ? state.currentTurn : null;
  useEffect(() => {
    if (listeningTurn === null) return;
    const active = document.activeElement;
    if (!active || active === document.body || active.closest('.composer')) {
      if (mode === 'voice') {
        // Not while a recording or its transcript is in hand: the candidate may be editing it.
        if (!active?.closest('.voice__transcript')) recordRef.current?.focus({ preventScroll: true });
      } else {
        textareaRef.current?.focus({ preventScroll: true });
      }
    }
  }, [listeningTurn, mode]);

  useEffect(() => {
    const dialog = dialogRef.current;
    if (!dialog) return;
    if (confirmEnd && !dialog.open) dialog.showModal?.();
    if (!confirmEnd && dialog.open) dialog.close();
  }, [confirmEnd]);

  if (!id) return <Navigate to="/" replace />;
  if (meta.isPending) {
    return (
      <div className="page page--room">
        <LoadingBlock label="Loading the interview" lines={5} />
      </div>
    );
  }
  if (meta.isError) {
    const notFound = meta.error instanceof ApiError && (meta.error.status === 404 || meta.error.status === 422);
    return (
      <div className="page page--room">
        {notFound ? (
          <EmptyState title="Interview not found" action={<Link className="btn btn--primary" to="/">Back to dashboard</Link>}>
            It may have been deleted, or it belongs to another account.
          </EmptyState>
        ) : (
          <ErrorState title="Could not load the interview" error={meta.error} onRetry={() => void meta.refetch()} />
        )}
      </div>
    );
  }
  const interview = meta.data;
  if (initiallyOver.current) return <Navigate to={`/interviews/${id}/report`} replace />;
  if (state.closeReason === 'auth') {
    return <Navigate to={`/login?next=${encodeURIComponent(location.pathname)}`} replace />;
  }
  if (state.closeReason === 'not_found') {
    return (
      <div className="page page--room">
        <EmptyState title="Interview not found" action={<Link className="btn btn--primary" to="/">Back to dashboard</Link>}>
          The server does not know this interview any more.
        </EmptyState>
      </div>
    );
  }

  function submit() {
    if (!canAnswer || pending) return;
    if (voiceMode) {
      if (!voiceText.trim() || voiceBusy || voiceText.length > MAX_ANSWER_CHARS) return;
      voice.controller?.submit();
      return;
    }
    if (!draft.trim()) return;
    live.answer(draft);
  }

  function switchToTyping() {
    // The transcript so far goes with the candidate into the text box.
    if (voiceText.trim() && !draft.trim()) setDraft(voiceText);
    setMode('typed');
    requestAnimationFrame(() => textareaRef.current?.focus({ preventScroll: true }));
  }

  function onKeyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      submit();
    }
  }

  const questionCount = live.questionCount || interview.question_count;
  const questionNumber = Math.max(live.questionNumber, ended ? questionCount : 0);
  const progress = questionCount ? Math.min(1, (questionNumber - (ended ? 0 : 0.5)) / questionCount) : 0;
  const offline = live.offline || live.state.provider === 'offline';
  const answerText = voiceMode ? voiceText : draft;
  const tooLong = answerText.length > MAX_ANSWER_CHARS;
  const status =
    live.phase === 'asking'
      ? 'The interviewer is asking…'
      : live.phase === 'listening'
        ? 'Your turn to answer'
        : live.phase === 'scoring'
          ? 'Scoring your answer…'
          : live.phase === 'reporting'
            ? 'Writing your report…'
            : live.phase === 'waiting'
              ? 'Starting…'
              : '';

  return (
    <div className="page page--room">
      <div className="room-bar">
        <div className="room-bar__info">
          <span className="room-bar__title">
            {trackLabel(interview.track)} · {levelLabel(interview.level)}
          </span>
          <span className="room-bar__progress-label" data-testid="question-progress">
            {ended ? 'Interview complete' : questionNumber > 0 ? `Question ${questionNumber} of ${questionCount}` : 'Getting ready'}
          </span>
          <span className="progress" aria-hidden="true">
            <span className="progress__fill" style={{ width: `${Math.max(0.04, progress) * 100}%` }} />
          </span>
        </div>
        <div className="room-bar__actions">
          <ConnectionBadge
            connection={live.connection}
            closeReason={state.closeReason}
            retryAt={state.retryAt}
            onRetry={live.reconnectNow}
          />
          {!ended && voiceMode && voice.interviewer.supported && (
            <button
              type="button"
              className={`icon-button voice-mute${voice.settings.muted ? ' voice-mute--off' : ''}`}
              aria-pressed={!voice.settings.muted}
              aria-label="Interviewer voice"
              title={voice.settings.muted ? 'The interviewer is muted' : 'The interviewer reads questions aloud'}
              onClick={() => voice.updateSettings({ muted: !voice.settings.muted })}
              data-testid="mute-toggle"
            >
              <SpeakerIcon muted={voice.settings.muted} />
            </button>
          )}
          {!ended && (
            <button
              type="button"
              className="btn btn--ghost btn--sm"
              onClick={() => setConfirmEnd(true)}
              disabled={!connected}
              aria-label="End interview"
            >
              <span>
                End<span className="wide-only"> interview</span>
              </span>
            </button>
          )}
        </div>
      </div>

      {offline && (
        <Alert tone="info" title="Offline interviewer">
          Questions come from a curated bank and answers are scored by a rule-based rubric, not an AI model. It works without
          any API key; scores are a guide.
        </Alert>
      )}
      {live.lastError && live.lastError.code !== 'provider_failed' && (
        <Alert tone={live.lastError.retryable ? 'warning' : 'danger'} onDismiss={live.dismissError}>
          {live.lastError.message}
        </Alert>
      )}
      {live.lastError?.code === 'provider_failed' && !ended && (
        <Alert tone="warning" onDismiss={live.dismissError}>
          {live.lastError.message}
        </Alert>
      )}
      {live.connection === 'reconnecting' && state.attempt >= 3 && (
        <Alert tone="warning" title="Still trying to reconnect">
          Check your network. Nothing is lost: the interview continues where it left off when the connection is back.
        </Alert>
      )}

      <section className="transcript" aria-label="Transcript">
        {turns.length === 0 && !ended && (
          <div className="transcript__empty">
            <LoadingBlock label="Waiting for the first question" lines={2} />
            <p className="muted small">The interviewer is getting ready…</p>
          </div>
        )}
        <ol className="turns" data-testid="transcript">
          {turns.map((t) => (
            <Turn key={t.index} turn={t} latest={t.index === turns[turns.length - 1].index} total={questionCount} />
          ))}
        </ol>
        {!ended && status && turns.length > 0 && (
          <p className="phase-note" role="status">
            {live.phase === 'scoring' || live.phase === 'reporting' ? <span className="dots" aria-hidden="true" /> : null}
            {status}
          </p>
        )}
        <p className="visually-hidden" role="status" aria-live="polite">
          {lastScored ? `Feedback ready: your answer scored ${formatScore(lastScored.average)} out of 5.` : ''}
        </p>
      </section>

      {ended ? (
        <section className="finish card" aria-labelledby="finish-title" data-testid="finish">
          <h2 id="finish-title" className="finish__title">
            {state.ended?.status === 'abandoned' ? 'This interview was closed' : 'Interview complete'}
          </h2>
          {live.report ? (
            <div className="finish__score">
              <ScoreBadge score={live.report.overall_score} size="lg" label="Overall score" />
              <p className="muted">
                Overall score {formatScore(live.report.overall_score)} out of 5. Your report has strengths, weaknesses and three
                next steps.
              </p>
            </div>
          ) : (
            <p className="muted">
              {state.ended?.status === 'abandoned'
                ? 'It was closed after a long time without a connection.'
                : 'No answers were scored, so there is no report to show.'}
            </p>
          )}
          <div className="finish__actions">
            <Link className="btn btn--primary" to={`/interviews/${id}/report`}>
              View report
            </Link>
            <Link className="btn btn--secondary" to="/new">
              Start another
            </Link>
          </div>
        </section>
      ) : (
        <form
          className={`composer${voiceMode ? ' composer--voice' : ''}`}
          onSubmit={(e) => {
            e.preventDefault();
            submit();
          }}
          aria-label="Your answer"
        >
          <div className="composer__top">
            <div className="composer__title">
              <label htmlFor={answerId} className="composer__label">
                Your answer
              </label>
              {voiceMode ? (
                <button type="button" className="link-button small" onClick={switchToTyping} data-testid="switch-to-typing">
                  Type instead
                </button>
              ) : (
                voiceSupported && (
                  <button type="button" className="link-button small" onClick={() => setMode('voice')} data-testid="switch-to-voice">
                    Answer by voice
                  </button>
                )
              )}
            </div>
            {extendedNotice && canAnswer && extendedNotice.turn === state.currentTurn && (
              <span className="extended-note" role="status" data-testid="answer-extended">
                You have {extendedNotice.lastS} more seconds
              </span>
            )}
            {countdown.remainingMs !== null && canAnswer && (
              <span
                className={`countdown${countdown.warning ? ' countdown--warning' : ''}`}
                role="timer"
                aria-live={countdown.warning ? 'polite' : 'off'}
                aria-label={`Time left ${formatDuration(countdown.remainingMs / 1000)}`}
                data-testid="countdown"
              >
                <svg viewBox="0 0 20 20" width="14" height="14" aria-hidden="true">
                  <circle cx="10" cy="10" r="8" fill="none" stroke="currentColor" strokeWidth="2" opacity="0.25" />
                  <circle
                    cx="10"
                    cy="10"
                    r="8"
                    fill="none"
                    stroke="currentColor"
                    strokeWidth="2"
                    strokeDasharray={`${(countdown.fraction ?? 1) * 50.27} 50.27`}
                    transform="rotate(-90 10 10)"
                  />
                </svg>
                {formatDuration(countdown.remainingMs / 1000)}
              </span>
            )}
          </div>
          {voiceMode ? (
            <VoiceComposer
              voice={voice}
              inputId={answerId}
              canAnswer={canAnswer}
              connected={connected}
              asking={streaming}
              recordRef={recordRef}
              onSwitchToTyping={switchToTyping}
              onSubmitShortcut={submit}
            />
          ) : (
            <textarea
              id={answerId}
              ref={textareaRef}
              className="textarea composer__input"
              rows={4}
              value={draft}
              onChange={(e) => setDraft(e.target.value)}
              onKeyDown={onKeyDown}
              placeholder={canAnswer ? 'Type your answer. Think out loud: structure, trade-offs, a concrete example.' : 'Wait for the next question…'}
              aria-describedby={`${answerId}-hint`}
              aria-invalid={tooLong || undefined}
              data-testid="answer-input"
            />
          )}
          <div className="composer__bottom">
            <p id={`${answerId}-hint`} className="composer__hint">
              {tooLong ? (
                <span className="field__error">
                  {answerText.length.toLocaleString()} / {MAX_ANSWER_CHARS.toLocaleString()} characters: shorten your answer.
                </span>
              ) : (
                <>
                  <kbd>{isMac ? '⌘' : 'Ctrl'}</kbd>+<kbd>Enter</kbd> to send
                  {streaming && !voiceMode ? ' · sending now stops the interviewer' : ''}
                </>
              )}
            </p>
            <div className="composer__buttons">
              {streaming && (
                <button type="button" className="btn btn--ghost btn--sm" onClick={() => live.interrupt()} disabled={!connected}>
                  Interrupt
                </button>
              )}
              <button
                type="button"
                className="btn btn--ghost btn--sm"
                onClick={() => live.skipQuestion()}
                disabled={!canAnswer || !connected || !!pending}
              >
                Skip question
              </button>
              <button
                type="submit"
                className="btn btn--primary"
                disabled={!canAnswer || !connected || !answerText.trim() || !!pending || tooLong || (voiceMode && voiceBusy)}
                data-testid="send-answer"
              >
                {pending?.kind === 'answer' ? 'Sending…' : 'Send answer'}
              </button>
            </div>
          </div>
        </form>
      )}

      <dialog
        ref={dialogRef}
        className="dialog"
        aria-labelledby="end-title"
        onClose={() => setConfirmEnd(false)}
        onCancel={() => setConfirmEnd(false)}
      >
        <h2 id="end-title" className="dialog__title">
          End the interview now?
        </h2>
        <p className="dialog__text">
          The open question is recorded as skipped, and your report is written from the answers you have given so far.
        </p>
        <div className="dialog__actions">
          <button type="button" className="btn btn--secondary" onClick={() => setConfirmEnd(false)} autoFocus>
            Keep going
          </button>
          <button
            type="button"
            className="btn btn--danger"
            onClick={() => {
              live.end();
              setConfirmEnd(false);
            }}
          >
            End and get report
          </button>
        </div>
      </dialog>
    </div>
  );
}

const EXTENDED_NOTICE_MS = 8_000;

/**
 * The latest grant of more time, for a few seconds after it arrives (null otherwise). A grant
 * restored with the transcript after a reload (`restoredSeq`) was announced before.
 */
function useExtendedNotice(extension: AnswerExtension | null, restoredSeq: number | null): AnswerExtension | null {
  const announced = useRef(0);
  const [notice, setNotice] = useState<AnswerExtension | null>(null);
  useEffect(() => {
    if (!extension || restoredSeq === null) return;
    if (extension.seq <= Math.max(announced.current, restoredSeq)) return;
    announced.current = extension.seq;
    setNotice(extension);
  }, [extension, restoredSeq]);
  useEffect(() => {
    if (!notice) return;
    const timer = setTimeout(() => setNotice(null), EXTENDED_NOTICE_MS);
    return () => clearTimeout(timer);
  }, [notice]);
  return notice;
}

function SpeakerIcon({ muted }: { muted: boolean }) {
  return (
    <svg viewBox="0 0 20 20" width="18" height="18" fill="none" stroke="currentColor" strokeWidth="1.8" strokeLinecap="round" strokeLinejoin="round" aria-hidden="true">
      <path d="M3.5 8v4h3l4 3.5v-11L6.5 8h-3z" fill="currentColor" fillOpacity="0.12" />
      {muted ? <path d="M13.5 8l4 4M17.5 8l-4 4" /> : <path d="M13.5 7.5a3.5 3.5 0 0 1 0 5M15.5 5.5a6.4 6.4 0 0 1 0 9" />}
    </svg>
  );
}
