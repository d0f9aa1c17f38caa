import { useMemo } from 'react';
import { Link, useSearchParams } from 'react-router';
import { useAuditLog, type AuditEntry, type AuditFilters } from '../../api/admin';
import { Pager, TableScroll } from '../../components/admin/AdminUi';
import { EmptyState, ErrorState, LoadingBlock, PageHeader } from '../../components/ui';
import { formatDateTime } from '../../lib/format';

const PAGE = 50;

/** The actions the server records, by prefix (the filter matches actions starting with it). */
const ACTIONS: { value: string; label: string }[] = [
  { value: 'interview', label: 'Steering (all)' },
  { value: 'interview.note', label: 'Notes to the interviewer' },
  { value: 'interview.extend', label: 'More time' },
  { value: 'interview.end', label: 'Interviews ended' },
  { value: 'user', label: 'Accounts (role, access)' },
  { value: 'user.role', label: 'Role changes' },
  { value: 'user.disable', label: 'Accounts disabled' },
  { value: 'user.enable', label: 'Accounts enabled' },
  { value: 'credits', label: 'Credits' },
  { value: 'question', label: 'Question bank' },
];

const ACTION_TEXT: Record<string, string> = {
  'interview.note': 'Note to the interviewer',
  'interview.extend': 'More time',
  'interview.end': 'Ended the interview',
  'user.role': 'Changed role',
  'user.disable': 'Disabled account',
  'user.enable': 'Enabled account',
  'credits.grant': 'Granted credits',
  'credits.remove': 'Removed credits',
  'question.create': 'Created question',
  'question.update': 'Edited question',
  'question.retire': 'Retired question',
  'question.restore': 'Restored question',
  'question.import': 'Imported questions',
};

const TARGET_TYPES = ['interview', 'user', 'question'];

function describeValue(value: unknown): string {
  if (value === null || value === undefined) return '–';
  if (Array.isArray(value)) return value.length ? value.map(describeValue).join(', ') : 'none';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** The entry's detail as short lines ("text: …", "delta: 5"). */
export function detailLines(entry: Pick<AuditEntry, 'action' | 'detail'>): { key: string; value: string }[] {
  return Object.entries(entry.detail)
    .filter(([key]) => key !== 'admin_id' && key !== 'external_ref')
    .map(([key, value]) => ({ key: key.replace(/_/g, ' '), value: describeValue(value) }));
}

function Target({ entry, onFilter }: { entry: AuditEntry; onFilter: () => void }) {
  const short = entry.target_id.length > 12 ? `${entry.target_id.slice(0, 8)}…` : entry.target_id;
  return (
    <span className="audit-target">
      <span className="muted">{entry.target_type}</span>{' '}
      {entry.target_type === 'user' ? (
        <Link to={`/admin/users/${entry.target_id}`} title={entry.target_id}>
          <code className="mono">{short}</code>
        </Link>
      ) : (
        <code className="mono" title={entry.target_id}>
          {short}
        </code>
      )}
      <button
        type="button"
        className="link-button small audit-target__filter"
        onClick={onFilter}
        aria-label={`Only entries about ${entry.target_type} ${entry.target_id}`}
        title="Only entries about this"
      >
        filter
      </button>
    </span>
  );
}

export function Audit() {
  const [params, setParams] = useSearchParams();
  const filters: AuditFilters = useMemo(
    () => ({
      action: params.get('action') ?? '',
      targetType: params.get('target_type') ?? '',
      targetId: params.get('target_id') ?? '',
      adminId: params.get('admin_id') ?? '',
    }),
    [params],
  );
  const offset = Math.max(0, Number(params.get('offset')) || 0);
  const query = useAuditLog(filters, PAGE, offset);

  function update(changes: Record<string, string>) {
    const next = new URLSearchParams(params);
    for (const [key, value] of Object.entries(changes)) {
      if (value) next.set(key, value);
      else next.delete(key);
    }
    if (!('offset' in changes)) next.delete('offset');
    setParams(next, { replace: !('offset' in changes) });
  }

  const filtering = !!(filters.action || filters.targetType || filters.targetId || filters.adminId);

  return (
    <div className="page admin-page">
      <PageHeader title="Audit log" subtitle="What administrators did, newest first." />

      <div className="filters" role="search" aria-label="Filter the audit log">
        <div className="field field--inline">
          <label className="field__label" htmlFor="audit-action">
            Action
          </label>
          <select
            id="audit-action"
            className="select"
            value={filters.action}
            onChange={(e) => update({ action: e.target.value })}
            data-testid="audit-filter-action"
          >
            <option value="">All actions</option>
            {ACTIONS.map((a) => (
              <option key={a.value} value={a.value}>
                {a.label}
              </option>
            ))}
            {filters.action && !ACTIONS.some((a) => a.value === filters.action) && (
              <option value={filters.action}>{filters.action}</option>
            )}
          </select>
        </div>
        <div className="field field--inline">
          <label className="field__label" htmlFor="audit-target-type">
            Target
          </label>
          <select
            id="audit-target-type"
            className="select"
            value={filters.targetType}
            onChange={(e) => update({ target_type: e.target.value })}
            data-testid="audit-filter-target-type"
          >
            <option value="">Any target</option>
            {TARGET_TYPES.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        </div>
        <div className="field field--inline filters__grow">
          <label className="field__label" htmlFor="audit-target-id">
            Target id
          </label>
          <input
            id="audit-target-id"
            className="input"
            type="search"
            placeholder="Exact id"
            value={filters.targetId}
            onChange={(e) => update({ target_id: e.target.value.trim() })}
            data-testid="audit-filter-target-id"
          />
        </div>
        {filtering && (
          <button
            type="button"
            className="btn btn--ghost btn--sm filters__clear"
            onClick={() => setParams(new URLSearchParams(), { replace: true })}
            data-testid="audit-clear"
          >
            Clear filters
          </button>
        )}
      </div>
      {filters.adminId && (
        <p className="muted small">
          Only what one administrator did.{' '}
          <button type="button" className="link-button" onClick={() => update({ admin_id: '' })}>
            Show everyone's
          </button>
        </p>
      )}

      <div className="card card--flush">
        {query.isPending ? (
          <LoadingBlock label="Loading the audit log" lines={6} />
        ) : query.isError ? (
          <ErrorState title="Could not load the audit log" error={query.error} onRetry={() => void query.refetch()} />
        ) : query.data.items.length === 0 ? (
          <EmptyState title={filtering ? 'Nothing matches these filters' : 'Nothing recorded yet'}>
            Every change an administrator makes is listed here.
          </EmptyState>
        ) : (
          <TableScroll label="Audit log">
            <table className="table table--top" data-testid="audit-table" aria-busy={query.isFetching}>
              <thead>
                <tr>
                  <th scope="col">Time</th>
                  <th scope="col">Administrator</th>
                  <th scope="col">Action</th>
                  <th scope="col">Target</th>
                  <th scope="col">Detail</th>
                </tr>
              </thead>
              <tbody>
                {query.data.items.map((entry) => (
                  <tr key={entry.id} data-testid="audit-row" data-action={entry.action} data-target-id={entry.target_id}>
                    <td className="nowrap">
                      <time dateTime={entry.created_at}>{formatDateTime(entry.created_at)}</time>
                    </td>
                    <td>
                      {entry.admin_id ? (
                        <button
                          type="button"
                          className="link-button cell-email"
                          onClick={() => update({ admin_id: entry.admin_id ?? '' })}
                          title="Only what this administrator did"
                          data-testid="audit-admin"
                        >
                          {entry.admin_email ?? entry.admin_id}
                        </button>
                      ) : (
                        <span className="muted">deleted account</span>
                      )}
                    </td>
                    <td>
                      <span className="tag" title={entry.action} data-testid="audit-action">
                        {ACTION_TEXT[entry.action] ?? entry.action}
                      </span>
                    </td>
                    <td>
                      <Target entry={entry} onFilter={() => update({ target_type: entry.target_type, target_id: entry.target_id })} />
                    </td>
                    <td className="audit-detail" data-testid="audit-detail">
                      {detailLines(entry).map((line) => (
                        <div key={line.key} className="audit-detail__line">
                          <span className="muted">{line.key}:</span> <span className="audit-detail__value">{line.value}</span>
                        </div>
                      ))}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableScroll>
        )}
      </div>
      {query.data && (
        <Pager offset={offset} limit={PAGE} total={query.data.total} onOffset={(o) => update({ offset: o ? String(o) : '' })} noun="entry" nounPlural="entries" />
      )}
    </div>
  );
}
