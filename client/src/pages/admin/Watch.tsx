/**
 * Watching one live interview: its own interview socket, opened with the administrator's token
 * (the server makes it read-only), shows the transcript word by word and the scores as they
 * arrive; the steering panel acts through the admin socket.
 */
import { useMemo, useRef } from 'react';
import { Link, Navigate, useLocation, useParams, useSearchParams } from 'react-router';
import { fetchUserInterview, useUserInterview } from '../../api/admin';
import { refreshSession } from '../../api/client';
import { tokens } from '../../auth/tokens';
import { interviewSocketUrl } from '../../config';
import { useAdminLive } from '../../components/admin/AdminLive';
import { SteeringPanel } from '../../components/admin/SteeringPanel';
import { ConnectionBadge } from '../../components/ConnectionBadge';
import { CriteriaList } from '../../components/Feedback';
import { Alert, EmptyState, LoadingBlock, PageHeader, ScoreBadge } from '../../components/ui';
import { latestSteer } from '../../hooks/adminReducer';
import type { TranscriptTurn } from '../../hooks/interviewReducer';
import { useCountdown } from '../../hooks/useCountdown';
import { useInterviewSocket } from '../../hooks/useInterviewSocket';
import { formatDuration, levelLabel, trackLabel } from '../../lib/format';
import { phaseLabel } from '../../lib/monitorView';

const OUTCOME_TEXT = { skipped: 'Skipped', timed_out: 'Time ran out' } as const;

/** "ended by an administrator" → "Ended by an administrator." */
function sentence(text: string): string {
  const trimmed = text.trim().replace(/\.$/, '');
  return `${trimmed.charAt(0).toUpperCase()}${trimmed.slice(1)}.`;
}

function WatchTurn({ turn, total }: { turn: TranscriptTurn; total: number }) {
  const label =
    turn.kind === 'follow_up' ? `Follow-up · question ${turn.questionNumber}` : `Question ${turn.questionNumber}${total ? ` of ${total}` : ''}`;
  return (
    <li className="turn" data-turn={turn.index} data-testid="watch-turn">
      <div className="bubble bubble--interviewer">
        <div className="bubble__meta">
          <span className="bubble__who">Interviewer</span>
          <span className="bubble__label">{label}</span>
        </div>
        <p className="bubble__text" data-testid="watch-question">
          {turn.question}
          {turn.streaming && <span className="cursor" aria-hidden="true" />}
        </p>
        {turn.interrupted && !turn.streaming && <p className="bubble__note">The candidate stopped the interviewer here.</p>}
      </div>
      {turn.answer !== null && (
        <div className="bubble bubble--candidate">
          <div className="bubble__meta">
            <span className="bubble__who">Candidate</span>
            {turn.answerSource === 'voice' && <span className="bubble__label">Spoken</span>}
          </div>
          <p className="bubble__text" data-testid="watch-answer">
            {turn.answer}
          </p>
        </div>
      )}
      {turn.answer === null && turn.outcome && turn.outcome !== 'answered' && (
        <p className="turn__outcome">{OUTCOME_TEXT[turn.outcome]}</p>
      )}
      {turn.scores && (
        <details className="feedback" data-testid="watch-score">
          <summary className="feedback__summary">
            <span className="feedback__title">Score</span>
            <ScoreBadge score={turn.average} size="sm" label="Answer score" />
            <span className="feedback__hint muted">{turn.scores.length} criteria</span>
          </summary>
          <CriteriaList scores={turn.scores} />
        </details>
      )}
      {turn.scoreFailed && !turn.scores && <p className="turn__outcome">This answer could not be scored.</p>}
    </li>
  );
}

export function Watch() {
  const { id = '' } = useParams();
  const [params] = useSearchParams();
  const location = useLocation();
  const admin = useAdminLive();
  const summary = admin.state.sessions[id];
  // The owner names the interview in the admin REST API (for a resync and its report).
  const ownerId = params.get('user') || summary?.owner_id || '';
  const owner = useRef(ownerId);
  owner.current = ownerId;
  const meta = useUserInterview(ownerId, id);

  const live = useInterviewSocket(
    id,
    {
      url: interviewSocketUrl(id),
      getToken: () => tokens.get()?.accessToken ?? null,
      refreshToken: refreshSession,
      loadInterview: (interviewId) =>
        owner.current
          ? fetchUserInterview(owner.current, interviewId)
          : Promise.reject(new Error("The interview's candidate is not known yet.")),
      // Nothing of a watched interview is kept in this browser.
      storage: null,
    },
    !!id,
  );
  const { state } = live;
  const limitS = meta.data?.answer_time_limit_s ?? null;
  const extension = state.extension?.turn === state.currentTurn ? state.extension : null;
  const countdown = useCountdown(live.deadlineMs, limitS === null ? null : limitS + (extension?.totalS ?? 0));
  const ended = live.phase === 'ended' || state.closeReason === 'finished';
  const openTurn = live.phase === 'listening' ? state.currentTurn : null;
  const result = useMemo(() => latestSteer(admin.state, id), [admin.state, id]);

  if (state.closeReason === 'auth' || admin.state.closeReason === 'auth') {
    return <Navigate to={`/login?next=${encodeURIComponent(location.pathname + location.search)}`} replace />;
  }

  const track = summary?.track ?? meta.data?.track;
  const level = summary?.level ?? meta.data?.level;
  const questionCount = live.questionCount || summary?.question_count || meta.data?.question_count || 0;
  const reportPath = ownerId ? `/admin/users/${ownerId}/interviews/${id}` : null;

  if (state.closeReason === 'not_found') {
    return (
      <div className="page admin-page">
        <EmptyState
          title="This interview is not live"
          action={
            <Link className="btn btn--primary" to="/admin">
              Back to live interviews
            </Link>
          }
        >
          It may have ended, or the id is wrong.
        </EmptyState>
      </div>
    );
  }

  return (
    <div className="page admin-page watch">
      <PageHeader
        back={{ to: '/admin', label: 'Live interviews' }}
        title={
          <>
            Watching <span className="watch__who">{summary?.candidate || 'a candidate'}</span>
          </>
        }
        subtitle={
          <span data-testid="watch-summary">
            {track ? trackLabel(track) : 'Interview'}
            {level ? ` · ${levelLabel(level)}` : ''}
            {live.questionNumber > 0 ? ` · Question ${live.questionNumber} of ${questionCount}` : ''}
            {live.phase ? ` · ${phaseLabel(live.phase)}` : ''}
          </span>
        }
        actions={
          <div className="watch__badges">
            <span className="tag" title="Watching cannot answer, skip or end on the candidate's behalf">
              Read-only
            </span>
            <ConnectionBadge
              connection={live.connection}
              closeReason={state.closeReason}
              retryAt={state.retryAt}
              onRetry={live.reconnectNow}
            />
          </div>
        }
      />

      {live.lastError && live.lastError.code !== 'read_only' && (
        <Alert tone={live.lastError.retryable ? 'warning' : 'danger'} onDismiss={live.dismissError}>
          {live.lastError.message}
        </Alert>
      )}

      <div className="watch__grid">
        <section className="watch__main" aria-label="Transcript">
          {countdown.remainingMs !== null && openTurn !== null && (
            <p className={`countdown watch__clock${countdown.warning ? ' countdown--warning' : ''}`} data-testid="watch-countdown">
              Answer time left {formatDuration(countdown.remainingMs / 1000)}
              {extension ? ` (+${extension.totalS} s given)` : ''}
            </p>
          )}
          {ended && (
            <div className="resume-banner" data-testid="watch-ended">
              <div>
                <strong>The interview has ended.</strong>{' '}
                {state.ended?.reason ? sentence(state.ended.reason) : 'The report covers what was answered.'}
              </div>
              {reportPath && (
                <Link className="btn btn--primary btn--sm" to={reportPath} data-testid="watch-report-link">
                  Open the report
                </Link>
              )}
            </div>
          )}
          {live.transcript.length === 0 && !ended && (
            <div className="transcript__empty">
              <LoadingBlock label="Waiting for the interviewer" lines={2} />
            </div>
          )}
          <ol className="turns" data-testid="watch-transcript" aria-live="off">
            {live.transcript.map((t) => (
              <WatchTurn key={t.index} turn={t} total={questionCount} />
            ))}
          </ol>
        </section>
        <aside className="watch__side">
          <SteeringPanel
            interviewId={id}
            openTurn={openTurn}
            ended={ended}
            connected={admin.state.connection === 'connected'}
            result={result}
            steer={admin.steer}
          />
          {summary && (
            <dl className="facts watch__facts" data-testid="watch-facts">
              <div>
                <dt>Candidate socket</dt>
                <dd>{summary.connected ? 'Connected' : 'Not connected'}</dd>
              </div>
              <div>
                <dt>Model</dt>
                <dd>{summary.model}</dd>
              </div>
              <div>
                <dt>Tokens</dt>
                <dd>
                  {summary.tokens_in.toLocaleString()} in / {summary.tokens_out.toLocaleString()} out
                </dd>
              </div>
            </dl>
          )}
        </aside>
      </div>
    </div>
  );
}
