import { useMemo } from 'react';
import { Link, Navigate, useSearchParams } from 'react-router';
import type { SessionSummary } from '../../api/adminProtocol';
import { PHASES } from '../../api/protocol';
import { useAdminLive } from '../../components/admin/AdminLive';
import { formatAgo, formatCount, formatUsd, SortHeader, TableScroll } from '../../components/admin/AdminUi';
import { ConnectionBadge } from '../../components/ConnectionBadge';
import { Alert, EmptyState, LoadingBlock, PageHeader } from '../../components/ui';
import { isStale, serverNow, type AdminLiveState } from '../../hooks/adminReducer';
import { levelLabel, plural, trackLabel, TRACKS } from '../../lib/format';
import {
  filterSessions,
  filtersFromParams,
  monitorCounts,
  nextSort,
  phaseLabel,
  shortProcess,
  sortFromParams,
  sortSessions,
  type MonitorFilters,
  type MonitorSortKey,
} from '../../lib/monitorView';

export function watchPath(summary: Pick<SessionSummary, 'interview_id' | 'owner_id'>): string {
  return `/admin/interviews/${summary.interview_id}/watch?user=${encodeURIComponent(summary.owner_id)}`;
}

function MonitorRow({ s, state }: { s: SessionSummary; state: AdminLiveState }) {
  const stale = isStale(s, state);
  const sinceEvent = serverNow(state) - s.last_event_ms;
  return (
    <tr
      data-testid="monitor-row"
      data-interview-id={s.interview_id}
      data-stale={stale || undefined}
      className={stale ? 'row--stale' : undefined}
    >
      <th scope="row" className="cell-main">
        <Link to={`/admin/users/${s.owner_id}`} className="cell-email" title={s.candidate || s.owner_id} data-testid="monitor-candidate">
          {s.candidate || 'unknown'}
        </Link>
        {stale && (
          <span className="tag tag--warning" title="Its process has not refreshed it for over 6 s">
            stale
          </span>
        )}
      </th>
      <td>{trackLabel(s.track)}</td>
      <td>{levelLabel(s.level)}</td>
      <td>
        <span className={`phase phase--${s.phase}`}>{phaseLabel(s.phase)}</span>
      </td>
      <td className="num">
        {s.question_number} of {s.question_count}
      </td>
      <td className="center">
        <span
          className={`dot ${s.connected ? 'dot--on' : 'dot--off'}`}
          role="img"
          aria-label={s.connected ? 'Candidate connected' : 'Candidate not connected'}
          title={s.connected ? 'Candidate connected' : 'Candidate not connected'}
          data-testid="monitor-connected"
          data-connected={s.connected}
        />
      </td>
      <td>
        <code className="mono" title={s.process}>
          {shortProcess(s.process)}
        </code>
      </td>
      <td className="num" title={`${s.tokens_in.toLocaleString()} in, ${s.tokens_out.toLocaleString()} out`}>
        {formatCount(s.tokens_in)} / {formatCount(s.tokens_out)}
      </td>
      <td className="num">{formatUsd(s.cost_usd)}</td>
      <td className="num">{s.last_ttft_ms === null ? '–' : `${s.last_ttft_ms.toLocaleString()} ms`}</td>
      <td className="num" data-testid="monitor-since">
        {formatAgo(sinceEvent)}
      </td>
      <td className="end">
        <Link className="btn btn--secondary btn--sm" to={watchPath(s)} data-testid="monitor-watch">
          Watch
        </Link>
      </td>
    </tr>
  );
}

export function Monitor() {
  const { state, reconnectNow } = useAdminLive();
  const [params, setParams] = useSearchParams();
  const filters = useMemo(() => filtersFromParams(params), [params]);
  const sort = useMemo(() => sortFromParams(params), [params]);

  const all = useMemo(() => Object.values(state.sessions), [state.sessions]);
  const counts = useMemo(() => monitorCounts(all), [all]);
  const rows = useMemo(() => sortSessions(filterSessions(all, filters), sort), [all, filters, sort]);
  const tracks = useMemo(() => {
    const known = new Set<string>(TRACKS.map((t) => t.value));
    all.forEach((s) => known.add(s.track));
    return [...known];
  }, [all]);

  function update(changes: Partial<Record<'phase' | 'track' | 'connected' | 'q' | 'sort' | 'dir', string>>) {
    const next = new URLSearchParams(params);
    for (const [key, value] of Object.entries(changes)) {
      if (value) next.set(key, value);
      else next.delete(key);
    }
    setParams(next, { replace: true });
  }

  function setFilter(name: keyof MonitorFilters, value: string) {
    update({ [name === 'search' ? 'q' : name]: value });
  }

  function onSort(key: MonitorSortKey) {
    const next = nextSort(sort, key);
    update({ sort: next.key, dir: next.dir });
  }

  if (state.closeReason === 'auth') {
    return <Navigate to={`/login?next=${encodeURIComponent('/admin')}`} replace />;
  }

  const filtering = !!(filters.phase || filters.track || filters.connected || filters.search);
  const header = (label: string, column: MonitorSortKey, align?: 'end') => (
    <SortHeader label={label} column={column} sortKey={sort.key} dir={sort.dir} onSort={onSort} align={align} />
  );

  return (
    <div className="page admin-page">
      <PageHeader
        title="Live interviews"
        subtitle="Every interview in progress, on every server process. Updated as it happens."
        actions={
          <ConnectionBadge
            connection={state.connection}
            closeReason={null}
            retryAt={state.retryAt}
            onRetry={reconnectNow}
          />
        }
      />

      {state.closeReason === 'forbidden' && (
        <Alert tone="danger" title="The live monitor refused this account">
          It is no longer an administrator. Sign in again with an administrator account.
        </Alert>
      )}
      {state.connection === 'reconnecting' && state.attempt >= 3 && (
        <Alert tone="warning" title="Still trying to reconnect">
          The table shows what was known before the connection dropped; rows fade as they go stale.
        </Alert>
      )}

      <section className="stats admin-counts" aria-label="Counts">
        <div className="stat">
          <span className="stat__label">Live</span>
          <span className="stat__value" data-testid="monitor-count-live">
            {counts.live}
          </span>
        </div>
        <div className="stat">
          <span className="stat__label">Candidate connected</span>
          <span className="stat__value" data-testid="monitor-count-connected">
            {counts.connected}
          </span>
        </div>
        <div className="stat stat--phases">
          <span className="stat__label">By phase</span>
          <ul className="phase-counts">
            {PHASES.filter((p) => p !== 'ended').map((p) => (
              <li key={p}>
                <button
                  type="button"
                  className={`phase phase--${p} phase-count${filters.phase === p ? ' phase-count--on' : ''}`}
                  aria-pressed={filters.phase === p}
                  onClick={() => setFilter('phase', filters.phase === p ? '' : p)}
                  data-testid={`monitor-count-${p}`}
                >
                  {phaseLabel(p)} <strong>{counts.byPhase[p]}</strong>
                </button>
              </li>
            ))}
          </ul>
        </div>
      </section>

      <div className="filters" role="search" aria-label="Filter live interviews">
        <div className="field field--inline filters__grow">
          <label className="field__label" htmlFor="monitor-search">
            Candidate
          </label>
          <input
            id="monitor-search"
            className="input"
            type="search"
            placeholder="Email contains…"
            value={filters.search}
            onChange={(e) => setFilter('search', e.target.value)}
            data-testid="monitor-search"
          />
        </div>
        <div className="field field--inline">
          <label className="field__label" htmlFor="monitor-phase">
            Phase
          </label>
          <select
            id="monitor-phase"
            className="select"
            value={filters.phase}
            onChange={(e) => setFilter('phase', e.target.value)}
            data-testid="monitor-filter-phase"
          >
            <option value="">All phases</option>
            {PHASES.map((p) => (
              <option key={p} value={p}>
                {phaseLabel(p)}
              </option>
            ))}
          </select>
        </div>
        <div className="field field--inline">
          <label className="field__label" htmlFor="monitor-track">
            Track
          </label>
          <select
            id="monitor-track"
            className="select"
            value={filters.track}
            onChange={(e) => setFilter('track', e.target.value)}
            data-testid="monitor-filter-track"
          >
            <option value="">All tracks</option>
            {tracks.map((t) => (
              <option key={t} value={t}>
                {trackLabel(t)}
              </option>
            ))}
          </select>
        </div>
        <div className="field field--inline">
          <label className="field__label" htmlFor="monitor-connected">
            Connection
          </label>
          <select
            id="monitor-connected"
            className="select"
            value={filters.connected}
            onChange={(e) => setFilter('connected', e.target.value)}
            data-testid="monitor-filter-connected"
          >
            <option value="">Connected or not</option>
            <option value="yes">Connected</option>
            <option value="no">Not connected</option>
          </select>
        </div>
        {filtering && (
          <button
            type="button"
            className="btn btn--ghost btn--sm filters__clear"
            onClick={() => update({ phase: '', track: '', connected: '', q: '' })}
          >
            Clear filters
          </button>
        )}
        <p className="filters__count muted small" role="status" data-testid="monitor-shown">
          {filtering ? `${rows.length} of ${plural(all.length, 'interview')}` : plural(all.length, 'interview')}
        </p>
      </div>

      <div className="card card--flush">
        {!state.synced && all.length === 0 ? (
          <LoadingBlock label="Connecting to the live monitor" lines={4} />
        ) : all.length === 0 ? (
          <EmptyState title="No live interviews right now" icon="◌">
            Interviews appear here the moment a candidate starts one.
          </EmptyState>
        ) : (
          <TableScroll label="Live interviews" testId="monitor-scroll">
            <table className="table" data-testid="monitor-table">
              <thead>
                <tr>
                  {header('Candidate', 'candidate')}
                  {header('Track', 'track')}
                  {header('Level', 'level')}
                  {header('Phase', 'phase')}
                  {header('Question', 'question', 'end')}
                  {header('Conn.', 'connected')}
                  {header('Process', 'process')}
                  {header('Tokens in / out', 'tokens', 'end')}
                  {header('Cost', 'cost', 'end')}
                  {header('Last TTFT', 'ttft', 'end')}
                  {header('Last event', 'last_event', 'end')}
                  <th scope="col" className="end">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {rows.map((s) => (
                  <MonitorRow key={s.interview_id} s={s} state={state} />
                ))}
                {rows.length === 0 && (
                  <tr>
                    <td colSpan={12} className="table__empty">
                      No live interview matches these filters.
                    </td>
                  </tr>
                )}
              </tbody>
            </table>
          </TableScroll>
        )}
      </div>
    </div>
  );
}
