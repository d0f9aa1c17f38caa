/**
 * The interview room: the live transcript, the answer box, and what the candidate needs while
 * answering (the question in view, the last answer's score, the clock, the connection, a pause).
 * The interview's state is the server's (`useInterviewSocket`); this page shows it.
 */
import { useEffect, useId, useLayoutEffect, useMemo, useRef, useState, type CSSProperties, type KeyboardEvent } from 'react';
import { Link, Navigate, useLocation, useParams } from 'react-router';
import { useQueryClient } from '@tanstack/react-query';
import { refreshSession } from '../api/client';
import { ApiError } from '../api/errors';
import { fetchInterview, keys, useInterview } from '../api/queries';
import { MAX_ANSWER_CHARS } from '../api/protocol';
import { tokens } from '../auth/tokens';
import { interviewSocketUrl } from '../config';
import { ConnectionBadge } from '../components/ConnectionBadge';
import { usePageTitle } from '../components/PageTitle';
import { AnswerClock } from '../components/room/AnswerClock';
import { ConnectionStatus } from '../components/room/ConnectionStatus';
import { FinishCard } from '../components/room/FinishCard';
import { LastAnswer } from '../components/room/LastAnswer';
import { PausedPanel, PauseRequest } from '../components/room/Pause';
import { QuestionPin } from '../components/room/QuestionPin';
import { TranscriptTurn, turnLabel } from '../components/room/TranscriptTurn';
import { Alert, EmptyState, ErrorState, LoadingBlock } from '../components/ui';
import { VoiceComposer } from '../components/voice/VoiceComposer';
import { pauseView, type AnswerExtension } from '../hooks/interviewReducer';
import { useAnswerDraft } from '../hooks/useAnswerDraft';
import { useCountdown } from '../hooks/useCountdown';
import { useInterviewSocket } from '../hooks/useInterviewSocket';
import { useKeyboardInset } from '../hooks/useKeyboardInset';
import { useQuestionInView } from '../hooks/useQuestionInView';
import { useVoiceAnswers } from '../hooks/useVoiceAnswers';
import { formatScore, levelLabel, trackLabel } from '../lib/format';
import { browserMicEnvironment, micSupportProblem } from '../voice/microphone';
import { loadInterviewMode, saveInterviewMode, type AnswerMode } from '../voice/settings';
import '../styles/room.css';

const isMac = typeof navigator !== 'undefined' && /Mac|iPhone|iPad/.test(navigator.platform || navigator.userAgent);

/**
 * True when moving the focus to the answer box takes nothing from the candidate: the focus is
 * nowhere in particular (the page, the main region) or already in the answer box, not in a field
 * they are typing in elsewhere or a dialog.
 */
function focusIsFree(active: Element | null): boolean {
  if (!active || active === document.body || active.id === 'main') return true;
  if (active.closest('.composer')) return true;
  // (A closed dialog holds no real focus: its autoFocus button may claim it in a test DOM.)
  const dialog = active.closest('dialog');
  if (dialog) return !dialog.open;
  return !active.matches('input, textarea, select, [contenteditable="true"]');
}

/** The document's title for the room as it is now. */
function roomTitle(o: { ended: boolean; reconnecting: boolean; paused: boolean; questionNumber: number; questionCount: number }): string {
  if (o.ended) return 'Finished · Interview';
  if (o.reconnecting) return 'Reconnecting… · Interview';
  if (o.paused) return 'Paused · Interview';
  if (o.questionNumber > 0 && o.questionCount > 0) return `Question ${o.questionNumber} of ${o.questionCount} · Interview`;
  return 'Interview';
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
  const roomBarRef = useRef<HTMLDivElement>(null);
  const dockRef = useRef<HTMLFormElement>(null);
  const answerId = useId();
  const statusId = `${answerId}-connection`;
  const limitS = meta.data?.answer_time_limit_s ?? null;
  // An administrator may give the open answer more time: the clock may then run past the limit.
  const extension = state.extension?.turn === state.currentTurn ? state.extension : null;
  const countdown = useCountdown(live.deadlineMs, limitS === null ? null : limitS + (extension?.totalS ?? 0));
  const extendedNotice = useExtendedNotice(state.extension, live.socket?.restoredSeq ?? null);

  const turns = live.transcript;
  const openTurn = useMemo(
    () => (state.currentTurn === null ? undefined : turns.find((t) => t.index === state.currentTurn)),
    [turns, state.currentTurn],
  );
  const streaming = !!openTurn?.streaming && live.phase === 'asking';
  const lastScored = useMemo(() => [...turns].reverse().find((t) => t.scores), [turns]);
  const lastAnswered = useMemo(() => [...turns].reverse().find((t) => t.outcome === 'answered'), [turns]);
  const canAnswer = (live.phase === 'asking' || live.phase === 'listening') && !!openTurn && openTurn.outcome === null;
  const connected = live.connection === 'connected' || live.connection === 'resumed';
  const lost = live.connection === 'reconnecting' || (live.connection === 'closed' && state.closeReason !== 'finished');
  const pending = state.pending;
  const ended = live.phase === 'ended' || state.closeReason === 'finished';
  const pause = pauseView(state);
  const paused = pause === 'paused' || pause === 'resuming';
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

  const draft = useAnswerDraft(id, {
    turns,
    openTurn: canAnswer ? (state.currentTurn ?? null) : null,
    transcript: voiceSnap?.draft ? { turn: voiceSnap.draft.turn, text: voiceSnap.draft.text } : null,
  });
  const unsentByTurn = useMemo(() => new Map(draft.unsent.map((u) => [u.turn, u])), [draft.unsent]);

  const questionCount = live.questionCount || meta.data?.question_count || 0;
  const questionNumber = Math.max(live.questionNumber, ended ? questionCount : 0);
  usePageTitle(meta.data ? roomTitle({ ended, reconnecting: lost, paused, questionNumber, questionCount }) : null);

  // Remember the answer being sent: the draft is cleared once the server has it.
  useEffect(() => {
    if (pending?.kind === 'answer') draft.sent(pending.turn);
  }, [pending, draft.sent]);

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
    if (stickToBottom.current && !ended) window.scrollTo({ top: document.documentElement.scrollHeight });
  }, [turns.length, lastText, live.phase, ended]);

  // When a question has been asked, put the cursor in the answer box (first question included),
  // unless the candidate is busy elsewhere. By voice: on the record button, where Space records.
  const listeningTurn = live.phase === 'listening' ? state.currentTurn : null;
  useEffect(() => {
    if (listeningTurn === null) return;
    const active = document.activeElement;
    if (!focusIsFree(active)) return;
    if (mode === 'voice') {
      // Not while a recording or its transcript is in hand: the candidate may be editing it.
      if (!active?.closest('.voice__transcript')) recordRef.current?.focus({ preventScroll: true });
    } else {
      textareaRef.current?.focus({ preventScroll: true });
    }
  }, [listeningTurn, mode]);

  // Leaving a pause, the Resume button goes: the focus goes back to the answer box, not the page.
  const wasPaused = useRef(paused);
  useEffect(() => {
    if (wasPaused.current && !paused && focusIsFree(document.activeElement)) {
      (mode === 'voice' ? recordRef.current : textareaRef.current)?.focus({ preventScroll: true });
    }
    wasPaused.current = paused;
  }, [paused, mode]);

  useEffect(() => {
    const dialog = dialogRef.current;
    if (!dialog) return;
    if (confirmEnd && !dialog.open) dialog.showModal?.();
    if (!confirmEnd && dialog.open) dialog.close();
  }, [confirmEnd]);

  // The question being answered: is its place in the transcript readable, or must it be pinned?
  const pinIndex = canAnswer && openTurn?.question ? openTurn.index : null;
  const questionInView = useQuestionInView(
    () => (pinIndex === null ? null : document.querySelector(`[data-turn="${pinIndex}"] .bubble--interviewer`)),
    () => roomBarRef.current,
    () => dockRef.current,
    `${pinIndex}:${openTurn?.question.length ?? 0}:${live.phase}:${ended}`,
  );
  const [foldedPin, setFoldedPin] = useState<number | null>(null);
  const keyboard = useKeyboardInset();

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
    // Nothing is queued: while offline the status beside the box says sending waits.
    if (!canAnswer || pending || !connected) return;
    if (voiceMode) {
      if (!voiceText.trim() || voiceBusy || voiceText.length > MAX_ANSWER_CHARS) return;
      voice.controller?.submit();
      return;
    }
    if (!draft.text.trim()) return;
    live.answer(draft.text);
  }

  function switchToTyping() {
    // The transcript so far goes with the candidate into the text box.
    if (voiceText.trim() && !draft.text.trim()) draft.setText(voiceText);
    setMode('typed');
    requestAnimationFrame(() => textareaRef.current?.focus({ preventScroll: true }));
  }

  function onKeyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      submit();
    }
  }

  const progress = questionCount ? Math.min(1, (questionNumber - (ended ? 0 : 0.5)) / questionCount) : 0;
  const offline = live.offline || live.state.provider === 'offline';
  const answerText = voiceMode ? voiceText : draft.text;
  const tooLong = answerText.length > MAX_ANSWER_CHARS;
  const waitsForConnection = lost ? statusId : undefined;
  const status =
    live.phase === 'asking'
      ? 'The interviewer is asking…'
      : live.phase === 'listening'
        ? 'Your turn to answer'
        : live.phase === 'scoring'
          ? 'Scoring your answer…'
          : live.phase === 'paused'
            ? '' // the paused panel says it
            : live.phase === 'reporting'
              ? 'Writing your report…'
              : live.phase === 'waiting'
                ? 'Starting…'
                : '';
  // The last answer's payoff stays in view until the next answer is being scored.
  const showLast = !ended && !!lastScored && lastScored.index === lastAnswered?.index;
  const canPause =
    !ended && live.phase !== null && live.phase !== 'reporting' && live.phase !== 'ended' && !paused && questionCount > 0;
  const pinned = pinIndex !== null && !questionInView && openTurn;
  const connectionStatus = (
    <ConnectionStatus
      id={statusId}
      connection={live.connection}
      closeReason={state.closeReason}
      retryAt={state.retryAt}
      attempt={state.attempt}
      onRetry={live.reconnectNow}
    />
  );

  return (
    <div
      className={`page page--room${keyboard ? ' page--room-keyboard' : ''}`}
      style={keyboard ? ({ '--room-keyboard': `${keyboard}px` } as CSSProperties) : undefined}
    >
      <div className="room-bar" ref={roomBarRef}>
        <div className="room-bar__main">
          <div className="room-bar__info">
            <h1 className="room-bar__title">
              {trackLabel(interview.track)} · {levelLabel(interview.level)}
              <span className="visually-hidden"> interview</span>
            </h1>
            <span className="room-bar__progress-label" data-testid="question-progress">
              {ended ? 'Interview complete' : questionNumber > 0 ? `Question ${questionNumber} of ${questionCount}` : 'Getting ready'}
            </span>
            <span className="progress" aria-hidden="true">
              <span className="progress__fill" style={{ width: `${Math.max(0.04, progress) * 100}%` }} />
            </span>
          </div>
          <div className="room-bar__actions">
            {/* "Try now" is beside the answer box, with the rest of the story. */}
            <ConnectionBadge connection={live.connection} closeReason={state.closeReason} retryAt={state.retryAt} />
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
                aria-describedby={waitsForConnection}
                title={connected ? undefined : 'Ending waits for the connection'}
              >
                <span>
                  End<span className="wide-only"> interview</span>
                </span>
              </button>
            )}
          </div>
        </div>
        {showLast && lastScored && <LastAnswer key={lastScored.index} turn={lastScored} />}
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

      <section className="transcript" aria-label="Transcript">
        {turns.length === 0 && !ended && (
          <div className="transcript__empty">
            <LoadingBlock label="Waiting for the first question" lines={2} />
            <p className="muted small">The interviewer is getting ready…</p>
          </div>
        )}
        <ol className="turns" data-testid="transcript">
          {turns.map((t) => (
            <TranscriptTurn
              key={t.index}
              turn={t}
              latest={t.index === turns[turns.length - 1].index}
              total={questionCount}
              feedbackOpen={t.index === lastScored?.index}
              unsent={unsentByTurn.get(t.index) ?? null}
            />
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
        <FinishCard interviewId={id} ended={state.ended} report={live.report} />
      ) : paused ? (
        <PausedPanel
          view={pause === 'resuming' ? 'resuming' : 'paused'}
          disabled={!connected}
          describedBy={waitsForConnection}
          onResume={() => live.resume()}
        >
          {connectionStatus}
        </PausedPanel>
      ) : (
        <form
          ref={dockRef}
          className={`composer${voiceMode ? ' composer--voice' : ''}`}
          onSubmit={(e) => {
            e.preventDefault();
            submit();
          }}
          aria-label="Your answer"
        >
          {pinned && (
            <QuestionPin
              label={turnLabel(openTurn, questionCount)}
              text={openTurn.question}
              collapsed={foldedPin === openTurn.index}
              onCollapse={() => setFoldedPin(openTurn.index)}
              onExpand={() => setFoldedPin(null)}
            />
          )}
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
            {canAnswer && <AnswerClock countdown={countdown} offline={lost} />}
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
              value={draft.text}
              onChange={(e) => draft.setText(e.target.value)}
              onKeyDown={onKeyDown}
              placeholder={canAnswer ? 'Type your answer. Think out loud: structure, trade-offs, a concrete example.' : 'Wait for the next question…'}
              aria-describedby={`${answerId}-hint${lost ? ` ${statusId}` : ''}`}
              aria-invalid={tooLong || undefined}
              data-testid="answer-input"
            />
          )}
          {connectionStatus}
          <div className="composer__bottom">
            <div className="composer__tools">
              {canPause && (
                <PauseRequest
                  view={pause === 'requested' ? 'requested' : 'none'}
                  disabled={!connected}
                  describedBy={waitsForConnection}
                  onPause={() => live.pause()}
                  onCancel={() => live.resume()}
                />
              )}
              {voice.canHearAgain && (
                <button
                  type="button"
                  className="link-button small"
                  onClick={() => voice.hearAgain()}
                  aria-label="Hear the question again"
                  data-testid="hear-again"
                >
                  Hear<span className="wide-only"> the question</span> again
                </button>
              )}
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
            </div>
            <div className="composer__buttons">
              {streaming && (
                <button
                  type="button"
                  className="btn btn--ghost btn--sm"
                  onClick={() => live.interrupt()}
                  disabled={!connected}
                  aria-describedby={waitsForConnection}
                >
                  Interrupt
                </button>
              )}
              <button
                type="button"
                className="btn btn--ghost btn--sm"
                onClick={() => live.skipQuestion()}
                disabled={!canAnswer || !connected || !!pending}
                aria-describedby={waitsForConnection}
              >
                Skip question
              </button>
              <button
                type="submit"
                className="btn btn--primary"
                disabled={!canAnswer || !connected || !answerText.trim() || !!pending || tooLong || (voiceMode && voiceBusy)}
                aria-describedby={waitsForConnection}
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
