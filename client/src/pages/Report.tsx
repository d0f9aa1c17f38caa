import type { ReactNode } from 'react';
import { Link, useParams } from 'react-router';
import type { InterviewDetail, SharedInterview } from '../api/client';
import { ApiError } from '../api/errors';
import { useInterview, useSharedInterview, useSharing } from '../api/queries';
import { useAuth } from '../auth/AuthContext';
import { usePageTitle } from '../components/PageTitle';
import { CriteriaChart, DeliveryChart } from '../components/charts';
import { groupTurns, QuestionCard } from '../components/report/QuestionBreakdown';
import { EmptyState, ErrorState, LoadingBlock, PageHeader, ScoreBadge, StatusPill } from '../components/ui';
import { fillersPerMinute, formatMs, PACE_TEXT, paceLabel, type DeliveryPoint } from '../lib/delivery';
import { formatDateTime, formatScore, levelLabel, plural, scoreBand, trackLabel } from '../lib/format';
import { downloadText, markdownFilename, providerLabel, reportToMarkdown } from '../lib/markdown';
import { criterionAverages } from '../lib/progress';

const BAND_TEXT = {
  strong: 'Strong',
  solid: 'Solid',
  developing: 'Developing',
  weak: 'Needs work',
} as const;

function ListSection({ title, items, ordered, tone }: { title: string; items: string[]; ordered?: boolean; tone: string }) {
  const List = ordered ? 'ol' : 'ul';
  return (
    <section className={`card insight insight--${tone}`} aria-labelledby={`${tone}-title`}>
      <h2 id={`${tone}-title`} className="card__title">
        {title}
      </h2>
      {items.length ? (
        <List className={ordered ? 'insight__list insight__list--ordered' : 'insight__list'}>
          {items.map((item, i) => (
            <li key={i}>{item}</li>
          ))}
        </List>
      ) : (
        <p className="muted">Nothing here for this interview.</p>
      )}
    </section>
  );
}

function SharePanel({ detail }: { detail: InterviewDetail }) {
  const { share, unshare } = useSharing(detail.id);
  const token = detail.share_token ?? null;
  const url = token ? `${window.location.origin}/shared/${token}` : null;
  const busy = share.isPending || unshare.isPending;
  const failed = share.error ?? unshare.error;
  return (
    <section className="card share no-print" aria-labelledby="share-title" data-testid="share">
      <h2 id="share-title" className="card__title">
        Share this report
      </h2>
      {url ? (
        <>
          <p className="muted small">
            Anyone with this link can read the transcript, scores and report (not your resume or the
            job description). Stop sharing to turn the link off for good.
          </p>
          <div className="share__row">
            <input className="input share__link" readOnly value={url} aria-label="Share link" onFocus={(e) => e.currentTarget.select()} />
            <button type="button" className="btn btn--secondary" onClick={() => void navigator.clipboard?.writeText(url)}>
              Copy link
            </button>
            <button type="button" className="btn btn--ghost" disabled={busy} onClick={() => unshare.mutate()}>
              Stop sharing
            </button>
          </div>
        </>
      ) : (
        <div className="share__row">
          <p className="muted small">Only you can see this report. Create a link to show it to a mentor or a friend.</p>
          <button type="button" className="btn btn--secondary" disabled={busy} onClick={() => share.mutate()}>
            Create share link
          </button>
        </div>
      )}
      {failed && <p className="field-error" role="alert">Could not change sharing. Try again.</p>}
    </section>
  );
}

type ReportTurn = (SharedInterview | InterviewDetail)['turns'][number];

/** The label of each turn ("Question 2", "Follow-up to question 2"), by index. */
function turnLabels(turns: ReportTurn[]): Map<number, { long: string; short: string }> {
  const labels = new Map<number, { long: string; short: string }>();
  let number = 0;
  for (const turn of turns) {
    if (turn.kind === 'question') number += 1;
    const n = Math.max(1, number);
    labels.set(
      turn.index,
      turn.kind === 'question'
        ? { long: `Question ${n}`, short: `Q${n}` }
        : { long: `Follow-up to question ${n}`, short: `Q${n} follow-up` },
    );
  }
  return labels;
}

/** Spoken answers with their delivery measured. */
function spokenTurns(turns: ReportTurn[]): (ReportTurn & { delivery: NonNullable<ReportTurn['delivery']> })[] {
  return turns.filter(
    (t): t is ReportTurn & { delivery: NonNullable<ReportTurn['delivery']> } =>
      t.answer_source === 'voice' && t.answer !== null && !!t.delivery,
  );
}

function DeliverySection({ detail, turns }: { detail: SharedInterview | InterviewDetail; turns: ReportTurn[] }) {
  const spoken = spokenTurns(turns);
  if (spoken.length === 0) return null;
  const labels = turnLabels(turns);
  const points: DeliveryPoint[] = spoken.map((t) => ({
    id: String(t.index),
    label: labels.get(t.index)?.short ?? `#${t.index + 1}`,
    wordsPerMinute: t.delivery.words_per_minute,
    fillersPerMinute: fillersPerMinute(t.delivery),
  }));
  const summary = detail.delivery ?? null;
  const pace = summary ? paceLabel(summary.words_per_minute) : null;
  return (
    <section className="card delivery-card" aria-labelledby="delivery-title" data-testid="delivery-section">
      <div className="card__head">
        <h2 id="delivery-title" className="card__title">
          How you spoke
        </h2>
        <span className="muted small">{plural(spoken.length, 'spoken answer')}</span>
      </div>
      {summary && pace && (
        <dl className="stats-inline">
          <div>
            <dt>Pace</dt>
            <dd>
              {Math.round(summary.words_per_minute)} words/min <span className="muted">({PACE_TEXT[pace]})</span>
            </dd>
          </div>
          <div>
            <dt>Fillers</dt>
            <dd>
              {summary.filler_words} <span className="muted">({summary.fillers_per_minute.toFixed(1)} a minute)</span>
            </dd>
          </div>
          <div>
            <dt>Long pauses</dt>
            <dd>{summary.long_pauses}</dd>
          </div>
          <div>
            <dt>Speaking time</dt>
            <dd>{formatMs(summary.speaking_ms)}</dd>
          </div>
        </dl>
      )}
      <DeliveryChart points={points} caption="Words and fillers per minute, answer by answer" />
      <p className="muted small">
        Conversational English runs at about 120–160 words a minute. Fillers (“um”, “you know”) and long pauses are counted
        from the transcript, which may miss some.
      </p>
    </section>
  );
}

type ReportBody = NonNullable<InterviewDetail['report']>;

/** How the overall score was made: one line per main question, its follow-ups folded in. */
function ScoreMaking({ report }: { report: ReportBody }) {
  const questions = report.questions ?? [];
  if (!questions.length) return null;
  const answered = questions.filter((q) => q.answered > 0).length;
  const followUps = questions.reduce((n, q) => n + q.follow_ups, 0);
  const summary =
    `${answered} of ${questions.length} main ${questions.length === 1 ? 'question' : 'questions'} answered` +
    (followUps ? `, with ${followUps} ${followUps === 1 ? 'follow-up' : 'follow-ups'}` : '');
  return (
    <details className="score-making" data-testid="score-making">
      <summary>
        How this score is made: <span data-testid="score-making-summary">{summary}</span>
      </summary>
      <p className="muted small">{report.overall_rule}</p>
      <ol className="score-making__list">
        {questions.map((q) => (
          <li key={q.number}>
            <span>
              Question {q.number}
              {q.follow_ups ? ` (+${q.follow_ups} ${q.follow_ups === 1 ? 'follow-up' : 'follow-ups'})` : ''}
            </span>
            <span className="score-making__value">
              {q.score === null
                ? 'not scored'
                : q.answered === 0
                  ? `${formatScore(q.score)} · not answered`
                  : formatScore(q.score)}
            </span>
          </li>
        ))}
      </ol>
    </details>
  );
}

function pauseText(pauses: number, seconds: number): string {
  const minutes = Math.round(seconds / 60);
  const length = minutes >= 1 ? `${minutes} min` : `${seconds} s`;
  return `${pauses} ${pauses === 1 ? 'pause' : 'pauses'} between questions (${length}); no answer clock ran while paused`;
}

/** How the admin console shows someone else's report: its own way back, nothing to share. */
export interface AdminReportContext {
  back: { to: string; label: string };
  /** Where to watch it while it is still live. */
  watch: string | null;
}

/** "Backend mid-level · 3.4/5": what a report is about, for its title. */
export function reportTitle(detail: SharedInterview | InterviewDetail): string {
  const what = `${trackLabel(detail.track)} ${levelLabel(detail.level).toLowerCase()}`;
  const score = detail.report?.overall_score ?? null;
  if (score !== null) return `${what} · ${formatScore(score)}/5`;
  if (detail.status !== 'finished' && detail.status !== 'abandoned') return `${what} · in progress`;
  return `${what} · no score`;
}

/** On a shared report: whose app this is, and the way to try it. */
function SharedCallToAction({ signedIn, place }: { signedIn: boolean; place: 'top' | 'bottom' }) {
  const action = signedIn ? (
    <Link to="/new" className="btn btn--primary shared-cta__action">
      Practise your own interview
    </Link>
  ) : (
    <Link to="/signup" className="btn btn--primary shared-cta__action">
      Practise your own interview — start free
    </Link>
  );
  return (
    <aside
      className={`shared-cta shared-cta--${place} no-print`}
      aria-label={place === 'top' ? 'About this report' : 'Try Mock Interview'}
      data-testid={place === 'top' ? 'shared-note' : 'shared-cta-bottom'}
    >
      <div className="shared-cta__body">
        <p className="shared-cta__title">
          {place === 'top' ? 'A practice interview report, shared read-only.' : 'Get a report like this for your next interview'}
        </p>
        <p className="shared-cta__text">
          Made with Mock Interview: answer real interview questions by typing or speaking, and get every answer scored
          with quotes and next steps.
        </p>
      </div>
      {action}
    </aside>
  );
}

export function ReportView({
  detail,
  shared = false,
  admin,
  callToAction,
}: {
  detail: SharedInterview | InterviewDetail;
  shared?: boolean;
  admin?: AdminReportContext;
  /** Shown below the header and again at the end (the shared report's way to try the app). */
  callToAction?: (place: 'top' | 'bottom') => ReactNode;
}) {
  const report = detail.report ?? null;
  const averages = criterionAverages(detail.turns);
  const provider = report?.provider ?? detail.provider;
  const offline = provider === 'offline';
  const turns = [...detail.turns].sort((a, b) => a.index - b.index);

  return (
    <div className="page report">
      <PageHeader
        back={admin ? admin.back : shared ? undefined : { to: '/history', label: 'History' }}
        title={`${trackLabel(detail.track)} interview`}
        subtitle={
          <>
            {levelLabel(detail.level)} · {plural(detail.question_count, 'question')} ·{' '}
            {formatDateTime(detail.finished_at ?? detail.started_at ?? detail.created_at)}
          </>
        }
        actions={
          <div className="button-row no-print">
            <button
              type="button"
              className="btn btn--secondary"
              onClick={() => downloadText(markdownFilename(detail), reportToMarkdown(detail))}
            >
              Download Markdown
            </button>
            <button type="button" className="btn btn--secondary" onClick={() => window.print()}>
              Print / PDF
            </button>
          </div>
        }
      />

      {callToAction?.('top')}
      {shared && !callToAction && (
        <p className="muted small" data-testid="shared-note">
          A practice interview report, shared read-only.
        </p>
      )}
      {!shared && !admin && 'share_token' in detail && <SharePanel detail={detail} />}

      {!shared && detail.status !== 'finished' && detail.status !== 'abandoned' && (
        <div className="resume-banner no-print">
          <div>
            <strong>This interview is still in progress.</strong> The report is written when it ends.
          </div>
          {admin ? (
            admin.watch && (
              <Link className="btn btn--primary btn--sm" to={admin.watch}>
                Watch it live
              </Link>
            )
          ) : (
            <Link className="btn btn--primary btn--sm" to={`/interviews/${detail.id}`}>
              Go to interview
            </Link>
          )}
        </div>
      )}

      <section className="card report-hero" aria-labelledby="overall-title">
        <div className="report-hero__score">
          <h2 id="overall-title" className="eyebrow">
            Overall score
          </h2>
          {report ? (
            <>
              <ScoreBadge score={report.overall_score} size="lg" label="Overall score" />
              <p className={`band band--${scoreBand(report.overall_score)}`} data-testid="overall-score">
                {BAND_TEXT[scoreBand(report.overall_score)]} · {formatScore(report.overall_score)} out of 5
              </p>
              <ScoreMaking report={report} />
            </>
          ) : (
            <>
              <ScoreBadge score={null} size="lg" />
              <p className="muted">No answers were scored, so there is no overall score.</p>
            </>
          )}
          <dl className="facts">
            <div>
              <dt>Status</dt>
              <dd>
                <StatusPill status={detail.status} />
              </dd>
            </div>
            <div>
              <dt>Interviewer</dt>
              <dd data-testid="provider">{offline ? 'Offline interviewer' : providerLabel(provider)}</dd>
            </div>
            {report && (
              <div>
                <dt>Rubric</dt>
                <dd>{report.rubric_version}</dd>
              </div>
            )}
            {detail.pauses > 0 && (
              <div>
                <dt>Pauses</dt>
                <dd data-testid="pauses">{pauseText(detail.pauses, detail.paused_s)}</dd>
              </div>
            )}
          </dl>
          {offline && (
            <p className="report-hero__note">
              Scored by the offline interviewer: a curated question bank and a rule-based rubric, no AI model.
            </p>
          )}
        </div>
        <div className="report-hero__chart">
          <h2 className="eyebrow">By criterion</h2>
          {averages.length ? (
            <CriteriaChart averages={averages} />
          ) : (
            <p className="muted">No scored answers.</p>
          )}
        </div>
      </section>

      {report && (
        <div className="insights">
          <ListSection title="Strengths" items={report.strengths} tone="strengths" />
          <ListSection title="Weaknesses" items={report.weaknesses} tone="weaknesses" />
          <ListSection title="Next steps" items={report.next_steps} ordered tone="next" />
        </div>
      )}

      <DeliverySection detail={detail} turns={turns} />

      <section aria-labelledby="breakdown-title" className="breakdown">
        <h2 id="breakdown-title" className="section-title">
          Question by question
        </h2>
        {turns.length === 0 ? (
          <p className="muted">No questions were asked.</p>
        ) : (
          <ol className="qa-list">
            {groupTurns(turns).map((group) => (
              <QuestionCard
                key={group.number}
                group={group}
                part={report?.questions.find((q) => q.number === group.number)}
                admin={!!admin}
              />
            ))}
          </ol>
        )}
      </section>

      {callToAction?.('bottom')}
    </div>
  );
}

export function Report() {
  const { id = '' } = useParams();
  const query = useInterview(id);
  const missing = query.error instanceof ApiError && (query.error.status === 404 || query.error.status === 422);
  usePageTitle(
    query.isPending
      ? 'Loading report…'
      : query.isError
        ? missing
          ? 'Report not found'
          : 'Report unavailable'
        : `Report: ${reportTitle(query.data)}`,
  );
  if (query.isPending) {
    return (
      <div className="page">
        <LoadingBlock label="Loading the report" lines={6} />
      </div>
    );
  }
  if (query.isError) {
    return (
      <div className="page">
        {missing ? (
          <EmptyState title="Report not found" action={<Link className="btn btn--primary" to="/history">Go to history</Link>}>
            This interview may have been deleted.
          </EmptyState>
        ) : (
          <ErrorState title="Could not load the report" error={query.error} onRetry={() => void query.refetch()} />
        )}
      </div>
    );
  }
  return <ReportView detail={query.data} />;
}

export function SharedReport() {
  const { token = '' } = useParams();
  const query = useSharedInterview(token);
  const { signedIn } = useAuth();
  const gone = query.error instanceof ApiError && (query.error.status === 404 || query.error.status === 422);
  usePageTitle(
    query.isPending
      ? 'Loading shared report…'
      : query.isError
        ? gone
          ? 'Report not shared'
          : 'Shared report unavailable'
        : `Shared report: ${reportTitle(query.data)}`,
  );
  if (query.isPending) {
    return (
      <div className="page">
        <LoadingBlock label="Loading the shared report" lines={6} />
      </div>
    );
  }
  if (query.isError) {
    return (
      <div className="page">
        {gone ? (
          <EmptyState
            title="This report is not shared"
            action={
              <Link className="btn btn--primary" to={signedIn ? '/new' : '/signup'}>
                {signedIn ? 'Practise your own interview' : 'Practise your own interview — start free'}
              </Link>
            }
          >
            The link is wrong, or its owner stopped sharing it.
          </EmptyState>
        ) : (
          <ErrorState title="Could not load the report" error={query.error} onRetry={() => void query.refetch()} />
        )}
      </div>
    );
  }
  return (
    <ReportView
      detail={query.data}
      shared
      callToAction={(place) => <SharedCallToAction signedIn={signedIn} place={place} />}
    />
  );
}
