import { useState, type FormEvent, type ReactNode } from 'react';
import { Link, useSearchParams } from 'react-router';
import { useAdminStats, type AdminStats } from '../../api/admin';
import {
  CompletionChart,
  ErrorsChart,
  InterviewsPerDayChart,
  LatencyChart,
  ScoresByTrackChart,
  UsagePerDayChart,
  UsersPerDayChart,
} from '../../components/admin/AdminCharts';
import { formatCount, formatUsd, TableScroll } from '../../components/admin/AdminUi';
import { RevenueBlock } from '../../components/admin/Revenue';
import { Alert, ErrorState, LoadingBlock, PageHeader } from '../../components/ui';

export const DEFAULT_DAYS = 30;
const MAX_DAYS = 366;
const PRESETS = [7, 30, 90];
const DAY_MS = 86_400_000;

/** A UTC day as the API takes it: "2026-01-05". */
export function isoDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** The last `days` UTC days, today included. */
export function lastDays(days: number, now = Date.now()): { from: string; to: string } {
  return { from: isoDay(now - (days - 1) * DAY_MS), to: isoDay(now) };
}

function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / DAY_MS) + 1;
}

/** Why a range cannot be asked for, or null when it can. */
export function rangeProblem(from: string, to: string): string | null {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(from) || !/^\d{4}-\d{2}-\d{2}$/.test(to)) return 'Choose both days.';
  const days = daysBetween(from, to);
  if (Number.isNaN(days)) return 'Choose both days.';
  if (days < 1) return 'The first day must be on or before the last.';
  if (days > MAX_DAYS) return `A range covers at most ${MAX_DAYS} days.`;
  return null;
}

function Stat({ label, value, hint, testId }: { label: string; value: string; hint?: string; testId: string }) {
  return (
    <div className="stat">
      <span className="stat__label">{label}</span>
      <span className="stat__value" data-testid={testId}>
        {value}
      </span>
      {hint && <span className="stat__hint">{hint}</span>}
    </div>
  );
}

function Totals({ stats }: { stats: AdminStats }) {
  const t = stats.totals;
  return (
    <section className="stats admin-stats" aria-label="Totals for the range" data-testid="metrics-totals">
      <Stat label="Started" value={formatCount(t.started)} hint={`${formatCount(t.created)} created`} testId="metrics-total-started" />
      <Stat label="Finished" value={formatCount(t.finished)} testId="metrics-total-finished" />
      <Stat label="Abandoned" value={formatCount(t.abandoned)} testId="metrics-total-abandoned" />
      <Stat
        label="Completion rate"
        value={t.completion_rate === null ? '–' : `${Math.round(t.completion_rate * 100)}%`}
        hint="finished of those that ended"
        testId="metrics-total-completion"
      />
      <Stat label="Offline fallbacks" value={formatCount(t.offline_fallbacks)} hint="switched after a model failed" testId="metrics-total-fallbacks" />
      <Stat label="Sign-ups" value={formatCount(t.signups)} testId="metrics-total-signups" />
      <Stat label="Active users" value={formatCount(t.active_users)} hint="created an interview" testId="metrics-total-active" />
      <Stat
        label="Tokens"
        value={formatCount(t.tokens_in + t.tokens_out)}
        hint={`${formatCount(t.tokens_in)} in · ${formatCount(t.tokens_out)} out`}
        testId="metrics-total-tokens"
      />
      <Stat label="Cost" value={formatUsd(t.cost_usd)} testId="metrics-total-cost" />
    </section>
  );
}

function ModelsTable({ stats }: { stats: AdminStats }) {
  if (stats.models.length === 0) return <p className="muted card__body">No model calls in this range.</p>;
  return (
    <TableScroll label="Usage per model">
      <table className="table" data-testid="metrics-models">
        <thead>
          <tr>
            <th scope="col">Model</th>
            <th scope="col" className="num">Calls</th>
            <th scope="col" className="num">Errors</th>
            <th scope="col" className="num">Cancelled</th>
            <th scope="col">Errors by kind</th>
            <th scope="col" className="num">Tokens in / out</th>
            <th scope="col" className="num">Cost</th>
          </tr>
        </thead>
        <tbody>
          {stats.models.map((m) => (
            <tr key={`${m.provider}/${m.model}`}>
              <th scope="row" className="cell-main">
                {m.model} <span className="muted small">{m.provider}</span>
              </th>
              <td className="num">{m.calls.toLocaleString()}</td>
              <td className="num">
                {m.errors.toLocaleString()} <span className="muted small">({(m.error_rate * 100).toFixed(1)}%)</span>
              </td>
              <td className="num">{m.cancelled.toLocaleString()}</td>
              <td>
                {Object.entries(m.errors_by_code)
                  .map(([code, n]) => `${code} ${n}`)
                  .join(', ') || '–'}
              </td>
              <td className="num">
                {formatCount(m.tokens_in)} / {formatCount(m.tokens_out)}
              </td>
              <td className="num">{formatUsd(m.cost_usd)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </TableScroll>
  );
}

function TopUsersTable({ stats }: { stats: AdminStats }) {
  if (stats.top_users.length === 0) return <p className="muted card__body">Nobody's interviews cost anything in this range.</p>;
  return (
    <TableScroll label="Top users by cost">
      <table className="table" data-testid="metrics-top-users">
        <thead>
          <tr>
            <th scope="col">User</th>
            <th scope="col" className="num">Interviews</th>
            <th scope="col" className="num">Cost</th>
          </tr>
        </thead>
        <tbody>
          {stats.top_users.map((u) => (
            <tr key={u.user_id}>
              <th scope="row" className="cell-main">
                <Link to={`/admin/users/${u.user_id}`} className="cell-email">
                  {u.email}
                </Link>
              </th>
              <td className="num">{u.interviews}</td>
              <td className="num">{formatUsd(u.cost_usd)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </TableScroll>
  );
}

function Panel({ title, children, wide }: { title: string; children: ReactNode; wide?: boolean }) {
  return (
    <section className={`card metrics__panel${wide ? ' metrics__panel--wide' : ''}`}>
      <h2 className="card__title">{title}</h2>
      {children}
    </section>
  );
}

export function Metrics() {
  const [params, setParams] = useSearchParams();
  const fallback = lastDays(DEFAULT_DAYS);
  const from = params.get('from') ?? fallback.from;
  const to = params.get('to') ?? fallback.to;
  const [draft, setDraft] = useState({ from, to });
  const [draftFor, setDraftFor] = useState({ from, to });
  if (draftFor.from !== from || draftFor.to !== to) {
    // The URL moved (a preset, the back button): the inputs follow it.
    setDraftFor({ from, to });
    setDraft({ from, to });
  }
  const problem = rangeProblem(from, to);
  const query = useAdminStats(from, to);
  const draftProblem = rangeProblem(draft.from, draft.to);

  function apply(range: { from: string; to: string }) {
    const next = new URLSearchParams(params);
    next.set('from', range.from);
    next.set('to', range.to);
    setParams(next, { replace: true });
  }

  function submit(e: FormEvent) {
    e.preventDefault();
    if (!draftProblem) apply(draft);
  }

  const stats = query.data;
  return (
    <div className="page admin-page metrics">
      <PageHeader title="Metrics" subtitle="Interviews, scores, the models and what they cost, per UTC day." />

      <form className="filters metrics__range" onSubmit={submit} aria-label="Date range" data-testid="metrics-range">
        <div className="field field--inline">
          <label className="field__label" htmlFor="metrics-from">
            From
          </label>
          <input
            id="metrics-from"
            className="input"
            type="date"
            value={draft.from}
            max={draft.to || undefined}
            onChange={(e) => setDraft((d) => ({ ...d, from: e.target.value }))}
            data-testid="metrics-from"
          />
        </div>
        <div className="field field--inline">
          <label className="field__label" htmlFor="metrics-to">
            To
          </label>
          <input
            id="metrics-to"
            className="input"
            type="date"
            value={draft.to}
            min={draft.from || undefined}
            onChange={(e) => setDraft((d) => ({ ...d, to: e.target.value }))}
            data-testid="metrics-to"
          />
        </div>
        <button type="submit" className="btn btn--secondary" disabled={!!draftProblem} data-testid="metrics-apply">
          Show
        </button>
        <div className="segmented metrics__presets" role="group" aria-label="Quick ranges">
          {PRESETS.map((days) => {
            const range = lastDays(days);
            const on = range.from === from && range.to === to;
            return (
              <button
                key={days}
                type="button"
                className={`btn btn--sm ${on ? 'btn--primary' : 'btn--ghost'}`}
                aria-pressed={on}
                onClick={() => apply(range)}
                data-testid={`metrics-preset-${days}`}
              >
                {days} days
              </button>
            );
          })}
        </div>
        {draftProblem && draft.from && draft.to && <p className="field__error small">{draftProblem}</p>}
      </form>

      {problem ? (
        <Alert tone="warning">{problem}</Alert>
      ) : query.isPending ? (
        <LoadingBlock label="Loading the metrics" lines={8} />
      ) : query.isError ? (
        <ErrorState title="Could not load the metrics" error={query.error} onRetry={() => void query.refetch()} />
      ) : stats ? (
        <div className="metrics__body" aria-busy={query.isFetching} data-testid="metrics-body">
          <Totals stats={stats} />
          <div className="metrics__grid">
            <Panel title="Interviews" wide>
              <InterviewsPerDayChart days={stats.days} />
            </Panel>
            <Panel title="Completion">
              {stats.totals.finished + stats.totals.abandoned > 0 ? (
                <CompletionChart days={stats.days} />
              ) : (
                <p className="muted">No interview ended in this range.</p>
              )}
            </Panel>
            <Panel title="Average score by track">
              {stats.scores_by_track.length ? (
                <ScoresByTrackChart scores={stats.scores_by_track} />
              ) : (
                <p className="muted">No reports in this range.</p>
              )}
            </Panel>
            <Panel title="Latency">
              {stats.latency.length ? <LatencyChart latency={stats.latency} metric="latency" /> : <p className="muted">No successful calls in this range.</p>}
            </Panel>
            <Panel title="Time to first token">
              {stats.latency.some((l) => l.ttft_ms) ? (
                <LatencyChart latency={stats.latency} metric="ttft" />
              ) : (
                <p className="muted">No streamed calls in this range.</p>
              )}
            </Panel>
            <Panel title="Provider errors">
              {stats.models.some((m) => m.errors > 0) ? <ErrorsChart models={stats.models} /> : <p className="muted">No provider errors in this range.</p>}
            </Panel>
            <Panel title="Users">
              <UsersPerDayChart days={stats.days} />
            </Panel>
            <Panel title="Tokens and cost" wide>
              <UsagePerDayChart days={stats.days} />
            </Panel>
          </div>
          <section className="card card--flush" aria-labelledby="metrics-models-title">
            <h2 id="metrics-models-title" className="card__title card__head--padded">
              Per model
            </h2>
            <ModelsTable stats={stats} />
          </section>
          <section className="card card--flush" aria-labelledby="metrics-top-title">
            <h2 id="metrics-top-title" className="card__title card__head--padded">
              Top users by cost
            </h2>
            <TopUsersTable stats={stats} />
          </section>
        </div>
      ) : null}

      {!problem && <RevenueBlock from={from} to={to} />}
    </div>
  );
}
