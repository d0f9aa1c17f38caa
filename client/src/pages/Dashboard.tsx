import { Link } from 'react-router';
import { useMemo } from 'react';
import { useInterviewDetails, useInterviewPage, useMe } from '../api/queries';
import { DeliveryTrendChart, ProgressChart } from '../components/charts';
import { InterviewRow, interviewHref } from '../components/InterviewList';
import { EmptyState, ErrorState, LoadingBlock, PageHeader, ScoreBadge } from '../components/ui';
import { deliveryTrend } from '../lib/delivery';
import { formatScore, levelLabel, plural, trackLabel } from '../lib/format';
import { criterionLabel, progressSeries, weakestCriteria } from '../lib/progress';

const DETAIL_LIMIT = 12;

export function Dashboard() {
  const me = useMe();
  const page = useInterviewPage(20);
  const items = useMemo(() => page.data?.items ?? [], [page.data]);
  const finished = useMemo(
    () => items.filter((i) => i.status === 'finished' && i.overall_score != null),
    [items],
  );
  const details = useInterviewDetails(finished.slice(0, DETAIL_LIMIT).map((i) => i.id));
  const points = useMemo(() => progressSeries(details.data), [details.data]);
  const weak = useMemo(() => weakestCriteria(details.data), [details.data]);
  const inProgress = items.find((i) => i.status === 'live' || i.status === 'created');
  const spoken = useMemo(() => deliveryTrend(items), [items]);

  const recentScores = finished.slice(0, 5).map((i) => i.overall_score as number);
  const recentAvg = recentScores.length ? recentScores.reduce((a, b) => a + b, 0) / recentScores.length : null;
  const credits = me.data?.credits;

  return (
    <div className="page">
      <PageHeader
        title="Dashboard"
        subtitle="Practise, read the feedback, practise again."
        actions={
          <Link to="/new" className="btn btn--primary">
            Start an interview
          </Link>
        }
      />

      {inProgress && (
        <div className="resume-banner">
          <div>
            <strong>Interview in progress.</strong> {trackLabel(inProgress.track)} · {levelLabel(inProgress.level)},{' '}
            {plural(inProgress.question_count, 'question')}.
          </div>
          <Link className="btn btn--primary btn--sm" to={interviewHref(inProgress)}>
            Resume
          </Link>
        </div>
      )}

      <section className="stats" aria-label="Summary">
        <div className="stat">
          <span className="stat__label">Credits</span>
          <span className="stat__value">{credits ?? '–'}</span>
          <span className="stat__hint">Each interview uses 1 credit</span>
        </div>
        <div className="stat">
          <span className="stat__label">Finished</span>
          <span className="stat__value">{page.data ? finished.length : '–'}</span>
          <span className="stat__hint">{page.data ? `${page.data.total} started in all` : ' '}</span>
        </div>
        <div className="stat">
          <span className="stat__label">Recent average</span>
          <span className="stat__value">{recentAvg === null ? '–' : formatScore(recentAvg)}</span>
          <span className="stat__hint">
            {recentScores.length ? `Last ${plural(recentScores.length, 'interview')}, out of 5` : 'No scores yet'}
          </span>
        </div>
      </section>

      {page.isPending ? (
        <div className="card">
          <LoadingBlock label="Loading your interviews" lines={4} />
        </div>
      ) : page.isError ? (
        <div className="card">
          <ErrorState title="Could not load your interviews" error={page.error} onRetry={() => void page.refetch()} />
        </div>
      ) : items.length === 0 ? (
        <div className="card">
          <EmptyState
            icon="✦"
            title="Your first mock interview is a few clicks away"
            action={
              <Link to="/new" className="btn btn--primary">
                Start an interview
              </Link>
            }
          >
            <p>
              Pick a track and level, paste a job description if you have one, and answer one question at a time. Every
              answer is scored with quotes from what you wrote, and you get a report with next steps at the end.
            </p>
            {credits !== undefined && <p className="muted">You have {plural(credits, 'credit')}.</p>}
          </EmptyState>
        </div>
      ) : (
        <div className={`dash-grid${spoken.length ? ' dash-grid--delivery' : ''}`}>
          <section className="card dash-grid__chart" aria-labelledby="progress-title">
            <div className="card__head">
              <h2 id="progress-title" className="card__title">
                Progress
              </h2>
              {points.length > 0 && <span className="muted small">{plural(points.length, 'finished interview')}</span>}
            </div>
            {details.isPending && finished.length > 0 ? (
              <LoadingBlock label="Loading scores" />
            ) : points.length === 0 ? (
              <EmptyState title="No scores yet" icon="◔">
                Finish an interview to see your overall score and each criterion over time.
              </EmptyState>
            ) : (
              <>
                <ProgressChart points={points} />
                {points.length === 1 && (
                  <p className="muted small chart-note">One interview so far: finish another to see a trend.</p>
                )}
              </>
            )}
          </section>

          <section className="card dash-grid__weak" aria-labelledby="weak-title">
            <div className="card__head">
              <h2 id="weak-title" className="card__title">
                What to practise
              </h2>
            </div>
            {details.isPending && finished.length > 0 ? (
              <LoadingBlock label="Loading criteria" />
            ) : weak.length === 0 ? (
              <p className="muted">
                {points.length
                  ? 'No criterion averages below 3.5. Try a higher level or a new track to stretch yourself.'
                  : 'Your weakest criteria show up here once you have finished an interview.'}
              </p>
            ) : (
              <ol className="weak-list">
                {weak.map((w) => (
                  <li key={w.criterion} className="weak">
                    <div className="weak__head">
                      <span className="weak__name">{criterionLabel(w.criterion)}</span>
                      <ScoreBadge score={w.average} size="sm" label={`${criterionLabel(w.criterion)} average`} />
                    </div>
                    {w.suggestion && <p className="weak__tip">{w.suggestion}</p>}
                    <p className="weak__meta">Average of {plural(w.count, 'answer')}</p>
                  </li>
                ))}
              </ol>
            )}
          </section>

          {spoken.length > 0 && (
            <section className="card dash-grid__delivery" aria-labelledby="delivery-title" data-testid="dashboard-delivery">
              <div className="card__head">
                <h2 id="delivery-title" className="card__title">
                  How you speak
                </h2>
                <span className="muted small">{plural(spoken.length, 'voice interview')}</span>
              </div>
              <DeliveryTrendChart points={spoken} />
              {spoken.length === 1 && (
                <p className="muted small chart-note">One voice interview so far: answer another by voice to see a trend.</p>
              )}
            </section>
          )}

          <section className="card dash-grid__recent" aria-labelledby="recent-title">
            <div className="card__head">
              <h2 id="recent-title" className="card__title">
                Recent interviews
              </h2>
              <Link to="/history" className="small">
                View all
              </Link>
            </div>
            <ul className="irows">
              {items.slice(0, 5).map((i) => (
                <InterviewRow key={i.id} interview={i} />
              ))}
            </ul>
          </section>
        </div>
      )}
    </div>
  );
}
