import { Link } from 'react-router';
import { useMemo, useState } from 'react';
import type { Interview } from '../api/client';
import { usePaymentsConfig } from '../api/payments';
import { useInterviewDetails, useInterviewPage, useMe } from '../api/queries';
import { DeliveryTrendChart, ProgressChart } from '../components/charts';
import { InterviewRow, interviewHref } from '../components/InterviewList';
import { Alert, EmptyState, ErrorState, LoadingBlock, PageHeader, ScoreBadge } from '../components/ui';
import { deliveryTrend } from '../lib/delivery';
import { formatScore, levelLabel, plural, trackLabel } from '../lib/format';
import {
  criterionLabel,
  criterionTrend,
  practisedTracks,
  scoredInterviews,
  trackSeries,
  weakestCriteria,
  type CriterionTrend,
  type ProgressPoint,
  type WeakSpot,
} from '../lib/progress';

// The chart's criteria come with the list; the latest few details of the chosen track are read
// for the weakest criterion's suggestion and evidence.
const DETAIL_LIMIT = 12;
// A criterion averaging below this is worth practising.
const WEAK_BELOW = 3.5;

/**
 * Where to practise one criterion: a new interview on the same track and level. (`focus` names
 * the criterion for the form; an interview cannot be steered towards one criterion yet.)
 */
export function practiseHref(track: string, level: string, criterion: string): string {
  return `/new?${new URLSearchParams({ track, level, focus: criterion })}`;
}

const TREND_TEXT: Record<CriterionTrend['direction'], string> = {
  up: 'improving',
  down: 'slipping',
  flat: 'steady',
  single: 'one interview so far',
};

/** "2.0 → 2.8 over 3 interviews, improving". */
export function trendSentence(trend: CriterionTrend): string {
  if (trend.direction === 'single') return `${formatScore(trend.last)} in your one interview so far`;
  return `${formatScore(trend.first)} → ${formatScore(trend.last)} over ${plural(trend.values.length, 'interview')}, ${TREND_TEXT[trend.direction]}`;
}

/**
 * What to do at zero credits (or below, after a refund took back used ones). `canBuy` is
 * undefined until the server has said whether it sells credits.
 */
function NoCreditsNotice({ credits, canBuy }: { credits: number; canBuy: boolean | undefined }) {
  return (
    <Alert tone="warning" title={credits < 0 ? 'Your credit balance is below zero' : 'You have no interview credits left'}>
      <span data-testid="no-credits">
        Each interview uses one credit
        {credits < 0 ? `, and your balance is ${credits}: a refund took back credits that had already been used` : ''}.
        Your reports stay available in <Link to="/history">History</Link>.{' '}
        {canBuy === undefined ? null : canBuy ? (
          <>
            {/* A full page load: the server allows Razorpay's script only on documents loaded at /credits. */}
            <a href="/credits" data-testid="dashboard-buy-credits">
              Buy credits
            </a>{' '}
            to start another interview.
          </>
        ) : (
          'To start another interview, ask the administrator of this installation for more credits.'
        )}
      </span>
    </Alert>
  );
}

export function Dashboard() {
  const me = useMe();
  const payments = usePaymentsConfig();
  const page = useInterviewPage(20);
  const items = useMemo(() => page.data?.items ?? [], [page.data]);
  const finished = useMemo(() => scoredInterviews(items), [items]);
  const tracks = useMemo(() => practisedTracks(items), [items]);
  const [chosenTrack, setChosenTrack] = useState<string | null>(null);
  const track = tracks.find((t) => t.track === chosenTrack)?.track ?? tracks[0]?.track ?? null;
  const trackFinished = useMemo(() => finished.filter((i) => i.track === track), [finished, track]);
  const details = useInterviewDetails(trackFinished.slice(0, DETAIL_LIMIT).map((i) => i.id));
  const points = useMemo(() => (track ? trackSeries(items, details.data, track) : []), [items, details.data, track]);
  const inProgress = items.find((i) => i.status === 'live' || i.status === 'created');
  const spoken = useMemo(() => deliveryTrend(items), [items]);

  const recentScores = finished.slice(0, 5).map((i) => i.overall_score as number);
  const recentAvg = recentScores.length ? recentScores.reduce((a, b) => a + b, 0) / recentScores.length : null;
  const credits = me.data?.credits;
  const outOfCredits = credits !== undefined && credits <= 0;
  // Unknown while loading; a server that cannot say is taken not to sell.
  const canBuy = payments.data ? payments.data.enabled : payments.isError ? false : undefined;
  const startAction = outOfCredits ? (
    canBuy ? (
      <a href="/credits" className="btn btn--primary">
        Buy credits
      </a>
    ) : null
  ) : (
    <Link to="/new" className="btn btn--primary">
      Start an interview
    </Link>
  );

  return (
    <div className="page">
      <PageHeader title="Dashboard" subtitle="Practise, read the feedback, practise again." actions={startAction} />

      {outOfCredits && <NoCreditsNotice credits={credits} canBuy={canBuy} />}

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
          <EmptyState icon="✦" title="Your first mock interview is a few clicks away" action={startAction}>
            <p>
              Pick a track and level, paste a job description if you have one, and answer one question at a time. Every
              answer is scored with quotes from what you wrote, and you get a report with next steps at the end.
            </p>
            {credits !== undefined && <p className="muted">You have {plural(credits, 'credit')}.</p>}
          </EmptyState>
        </div>
      ) : (
        <div className={`dash-grid${spoken.length ? ' dash-grid--delivery' : ''}`}>
          <section className="card dash-grid__chart" aria-labelledby="progress-title" data-testid="dashboard-progress">
            <div className="card__head">
              <h2 id="progress-title" className="card__title">
                Progress
              </h2>
              {points.length > 0 && track && (
                <span className="muted small">
                  {plural(points.length, `${trackLabel(track)} interview`)}
                </span>
              )}
            </div>
            {tracks.length > 1 && track && (
              <TrackPicker tracks={tracks} value={track} onChange={setChosenTrack} />
            )}
            {points.length === 0 || !track ? (
              <EmptyState title="No scores yet" icon="◔">
                Finish an interview to see your overall score and each criterion over time.
              </EmptyState>
            ) : (
              <>
                <ProgressChart
                  key={track}
                  points={points}
                  caption={`${trackLabel(track)}: overall score per interview, oldest first`}
                />
                {points.length === 1 && (
                  <p className="muted small chart-note">
                    One {trackLabel(track)} interview so far: finish another to see a trend.
                  </p>
                )}
              </>
            )}
          </section>

          <section className="card dash-grid__weak" aria-labelledby="weak-title" data-testid="dashboard-weakest">
            <div className="card__head">
              <h2 id="weak-title" className="card__title">
                What to practise{track ? <span className="weak__track"> · {trackLabel(track)}</span> : null}
              </h2>
            </div>
            {details.isPending && trackFinished.length > 0 ? (
              <LoadingBlock label="Loading criteria" />
            ) : track && points.length > 0 ? (
              <WeakestCriterion
                points={points}
                weak={weakestCriteria(details.data, 3, Infinity)}
                latest={trackFinished[0]}
                canPractise={!outOfCredits}
              />
            ) : (
              <p className="muted">Your weakest criterion shows up here once you have finished an interview.</p>
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

/** Which track the progress and the advice are about: one radio button per track practised. */
function TrackPicker({
  tracks,
  value,
  onChange,
}: {
  tracks: { track: string; count: number }[];
  value: string;
  onChange: (track: string) => void;
}) {
  return (
    <fieldset className="track-picker">
      <legend className="visually-hidden">Track</legend>
      <div className="segmented">
        {tracks.map((t) => (
          <label key={t.track} className="segmented__option">
            <input
              type="radio"
              name="progress-track"
              value={t.track}
              checked={value === t.track}
              onChange={() => onChange(t.track)}
            />
            <span>
              {trackLabel(t.track)} <span className="track-picker__count">{t.count}</span>
            </span>
          </label>
        ))}
      </div>
    </fieldset>
  );
}

/**
 * The weakest criterion of the track, with how it moved and a link to practise it; the
 * others below the bar after it.
 */
function WeakestCriterion({
  points,
  weak,
  latest,
  canPractise,
}: {
  points: ProgressPoint[];
  weak: WeakSpot[];
  latest: Interview | undefined;
  canPractise: boolean;
}) {
  const [weakest, ...others] = weak;
  const trend = weakest ? criterionTrend(points, weakest.criterion) : null;
  if (!weakest || !trend) {
    return <p className="muted">No answers were scored yet in this track.</p>;
  }
  const name = criterionLabel(weakest.criterion);
  const below = weakest.average < WEAK_BELOW;
  const alsoWeak = others.filter((o) => o.average < WEAK_BELOW);
  return (
    <div className="weakest" data-testid="weakest-criterion">
      <p className="weakest__lead">{below ? 'Your weakest criterion' : 'Your lowest criterion (none is below 3.5)'}</p>
      <div className="weak__head">
        <span className="weakest__name">{name}</span>
        <ScoreBadge score={weakest.average} size="sm" label={`${name} average`} />
      </div>
      <p className={`weakest__trend weakest__trend--${trend.direction}`} data-testid="weakest-trend">
        <TrendArrow direction={trend.direction} /> {trendSentence(trend)}
      </p>
      {weakest.suggestion && <p className="weak__tip">{weakest.suggestion}</p>}
      <p className="weak__meta">Average of {plural(weakest.count, 'answer')}</p>
      {canPractise && latest && (
        <Link
          to={practiseHref(latest.track, latest.level, weakest.criterion)}
          className="btn btn--secondary btn--sm weakest__practise"
          data-testid="practise-weakest"
        >
          Practise {name.toLowerCase()}: new {trackLabel(latest.track)} interview
        </Link>
      )}
      {alsoWeak.length > 0 && (
        <p className="weak__meta">
          Also below {WEAK_BELOW}: {alsoWeak.map((o) => `${criterionLabel(o.criterion)} ${formatScore(o.average)}`).join(', ')}
        </p>
      )}
    </div>
  );
}

function TrendArrow({ direction }: { direction: CriterionTrend['direction'] }) {
  const arrow = { up: '↗', down: '↘', flat: '→', single: '•' }[direction];
  return <span aria-hidden="true">{arrow}</span>;
}
