/** Small pieces the admin screens share: a scrolling table box, sortable headers, a pager. */
import type { ReactNode } from 'react';
import { plural } from '../../lib/format';

/**
 * A table that scrolls sideways in its own box: on a phone the page keeps its width. The box is
 * focusable (and labelled) so a keyboard can scroll it too.
 */
export function TableScroll({ label, children, testId }: { label: string; children: ReactNode; testId?: string }) {
  return (
    <div className="table-scroll" role="region" aria-label={label} tabIndex={0} data-testid={testId}>
      {children}
    </div>
  );
}

export function SortHeader<K extends string>({
  label,
  column,
  sortKey,
  dir,
  onSort,
  align,
}: {
  label: ReactNode;
  column: K;
  sortKey: K;
  dir: 'asc' | 'desc';
  onSort: (column: K) => void;
  align?: 'end';
}) {
  const active = column === sortKey;
  return (
    <th
      scope="col"
      aria-sort={active ? (dir === 'asc' ? 'ascending' : 'descending') : undefined}
      className={align === 'end' ? 'num' : undefined}
    >
      <button
        type="button"
        className={`sort${active ? ' sort--active' : ''}`}
        onClick={() => onSort(column)}
        data-testid={`sort-${column}`}
      >
        {label}
        <span className="sort__arrow" aria-hidden="true">
          {active ? (dir === 'asc' ? '▲' : '▼') : '↕'}
        </span>
      </button>
    </th>
  );
}

/** "21–40 of 113" with previous and next. */
export function Pager({
  offset,
  limit,
  total,
  onOffset,
  noun,
  nounPlural,
}: {
  offset: number;
  limit: number;
  total: number;
  onOffset: (offset: number) => void;
  noun: string;
  nounPlural?: string;
}) {
  if (total === 0) return null;
  const first = offset + 1;
  const last = Math.min(total, offset + limit);
  return (
    <div className="pager">
      <p className="pager__status muted small" data-testid="pager-status" role="status">
        {total <= limit ? plural(total, noun, nounPlural) : `${first}–${last} of ${total}`}
      </p>
      {total > limit && (
        <div className="button-row">
          <button
            type="button"
            className="btn btn--secondary btn--sm"
            disabled={offset === 0}
            onClick={() => onOffset(Math.max(0, offset - limit))}
            data-testid="pager-prev"
          >
            Previous
          </button>
          <button
            type="button"
            className="btn btn--secondary btn--sm"
            disabled={last >= total}
            onClick={() => onOffset(offset + limit)}
            data-testid="pager-next"
          >
            Next
          </button>
        </div>
      )}
    </div>
  );
}

/** The outcome of an action, beside the control that made it. */
export function ActionResult({
  state,
  children,
  testId,
}: {
  state: 'ok' | 'error' | 'pending';
  children: ReactNode;
  testId?: string;
}) {
  return (
    <p
      className={`action-result action-result--${state}`}
      role={state === 'error' ? 'alert' : 'status'}
      data-testid={testId}
      data-state={state}
    >
      {children}
    </p>
  );
}

export function formatUsd(value: number): string {
  if (value === 0) return '$0';
  if (value < 0.01) return `$${value.toFixed(4)}`;
  return `$${value.toFixed(2)}`;
}

const compact = new Intl.NumberFormat('en', { notation: 'compact', maximumFractionDigits: 1 });

export function formatCount(value: number): string {
  return value < 10_000 ? value.toLocaleString('en') : compact.format(value);
}

/** Seconds (or minutes) since, for a ticking "last event" cell. */
export function formatAgo(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}
