import { useMemo, useRef, useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import type { Interview } from '../api/client';
import { errorMessage } from '../api/errors';
import { useAllInterviews, useDeleteInterview } from '../api/queries';
import { InterviewRow } from '../components/InterviewList';
import { Alert, EmptyState, ErrorState, LoadingBlock, PageHeader } from '../components/ui';
import { formatDate, plural, STATUSES, trackLabel, TRACKS } from '../lib/format';

const PAGE = 20;

export function History() {
  const query = useAllInterviews();
  const remove = useDeleteInterview();
  const [params, setParams] = useSearchParams();
  const track = params.get('track') ?? '';
  const status = params.get('status') ?? '';
  const [shown, setShown] = useState(PAGE);
  const [toDelete, setToDelete] = useState<Interview | null>(null);
  const dialogRef = useRef<HTMLDialogElement>(null);

  const filtered = useMemo(
    () => (query.data ?? []).filter((i) => (!track || i.track === track) && (!status || i.status === status)),
    [query.data, track, status],
  );

  function setFilter(name: 'track' | 'status', value: string) {
    const next = new URLSearchParams(params);
    if (value) next.set(name, value);
    else next.delete(name);
    setParams(next, { replace: true });
    setShown(PAGE);
  }

  function askDelete(interview: Interview) {
    setToDelete(interview);
    requestAnimationFrame(() => dialogRef.current?.showModal?.());
  }

  function closeDialog() {
    dialogRef.current?.close();
    setToDelete(null);
  }

  const filtering = !!track || !!status;

  return (
    <div className="page">
      <PageHeader
        title="History"
        subtitle="Every interview you have started, newest first."
        actions={
          <Link to="/new" className="btn btn--primary">
            Start an interview
          </Link>
        }
      />

      <div className="filters" role="search" aria-label="Filter interviews">
        <div className="field field--inline">
          <label className="field__label" htmlFor="filter-track">
            Track
          </label>
          <select id="filter-track" className="select" value={track} onChange={(e) => setFilter('track', e.target.value)}>
            <option value="">All tracks</option>
            {TRACKS.map((t) => (
              <option key={t.value} value={t.value}>
                {t.label}
              </option>
            ))}
          </select>
        </div>
        <div className="field field--inline">
          <label className="field__label" htmlFor="filter-status">
            Status
          </label>
          <select id="filter-status" className="select" value={status} onChange={(e) => setFilter('status', e.target.value)}>
            <option value="">All statuses</option>
            {STATUSES.map((s) => (
              <option key={s.value} value={s.value}>
                {s.label}
              </option>
            ))}
          </select>
        </div>
        {filtering && (
          <button type="button" className="btn btn--ghost btn--sm filters__clear" onClick={() => setParams(new URLSearchParams(), { replace: true })}>
            Clear filters
          </button>
        )}
        {query.data && (
          <p className="filters__count muted small" role="status">
            {filtering ? `${filtered.length} of ${plural(query.data.length, 'interview')}` : plural(query.data.length, 'interview')}
          </p>
        )}
      </div>

      {remove.isError && (
        <Alert tone="danger" onDismiss={() => remove.reset()}>
          Could not delete the interview: {errorMessage(remove.error)}
        </Alert>
      )}

      <div className="card">
        {query.isPending ? (
          <LoadingBlock label="Loading interviews" lines={5} />
        ) : query.isError ? (
          <ErrorState title="Could not load your interviews" error={query.error} onRetry={() => void query.refetch()} />
        ) : query.data.length === 0 ? (
          <EmptyState
            title="No interviews yet"
            action={
              <Link to="/new" className="btn btn--primary">
                Start your first interview
              </Link>
            }
          >
            Your interviews and their reports will be listed here.
          </EmptyState>
        ) : filtered.length === 0 ? (
          <EmptyState
            title="No interviews match these filters"
            action={
              <button type="button" className="btn btn--secondary" onClick={() => setParams(new URLSearchParams(), { replace: true })}>
                Clear filters
              </button>
            }
          />
        ) : (
          <>
            <ul className="irows" data-testid="history-list">
              {filtered.slice(0, shown).map((i) => (
                <InterviewRow key={i.id} interview={i} onDelete={askDelete} />
              ))}
            </ul>
            {filtered.length > shown && (
              <div className="list-more">
                <button type="button" className="btn btn--secondary" onClick={() => setShown((n) => n + PAGE)}>
                  Show {Math.min(PAGE, filtered.length - shown)} more
                </button>
              </div>
            )}
          </>
        )}
      </div>

      <dialog ref={dialogRef} className="dialog" aria-labelledby="delete-title" onClose={() => setToDelete(null)}>
        <h2 id="delete-title" className="dialog__title">
          Delete this interview?
        </h2>
        <p className="dialog__text">
          {toDelete && (
            <>
              {trackLabel(toDelete.track)} interview from {formatDate(toDelete.created_at)}.{' '}
            </>
          )}
          Its transcript and report are removed for good. The credit is not returned.
        </p>
        <div className="dialog__actions">
          <button type="button" className="btn btn--secondary" onClick={closeDialog} autoFocus>
            Cancel
          </button>
          <button
            type="button"
            className="btn btn--danger"
            disabled={remove.isPending}
            onClick={() => {
              if (toDelete) remove.mutate(toDelete.id, { onSettled: closeDialog });
            }}
          >
            {remove.isPending ? 'Deleting…' : 'Delete'}
          </button>
        </div>
      </dialog>
    </div>
  );
}
