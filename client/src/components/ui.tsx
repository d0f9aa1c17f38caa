import type { ReactNode } from 'react';
import { Link } from 'react-router';
import { errorMessage } from '../api/errors';
import { formatScore, scoreBand, statusLabel } from '../lib/format';

export function Spinner({ label = 'Loading' }: { label?: string }) {
  return (
    <span className="spinner" role="status">
      <span className="visually-hidden">{label}</span>
    </span>
  );
}

export function LoadingBlock({ label = 'Loading…', lines = 3 }: { label?: string; lines?: number }) {
  return (
    <div className="loading-block" role="status" aria-live="polite">
      <span className="visually-hidden">{label}</span>
      {Array.from({ length: lines }, (_, i) => (
        <div key={i} className="skeleton" style={{ width: `${92 - i * 14}%` }} aria-hidden="true" />
      ))}
    </div>
  );
}

export function ErrorState({
  title = 'Something went wrong',
  error,
  onRetry,
  children,
}: {
  title?: string;
  error?: unknown;
  onRetry?: () => void;
  children?: ReactNode;
}) {
  return (
    <div className="state state--error" role="alert">
      <div className="state__icon" aria-hidden="true">!</div>
      <h2 className="state__title">{title}</h2>
      {error !== undefined && <p className="state__text">{errorMessage(error)}</p>}
      {children}
      {onRetry && (
        <button type="button" className="btn btn--secondary" onClick={onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}

export function EmptyState({
  title,
  children,
  action,
  icon = '○',
}: {
  title: string;
  children?: ReactNode;
  action?: ReactNode;
  icon?: ReactNode;
}) {
  return (
    <div className="state state--empty">
      <div className="state__icon" aria-hidden="true">
        {icon}
      </div>
      <h2 className="state__title">{title}</h2>
      {children && <div className="state__text">{children}</div>}
      {action && <div className="state__action">{action}</div>}
    </div>
  );
}

export function Alert({
  tone = 'info',
  title,
  children,
  onDismiss,
  role,
}: {
  tone?: 'info' | 'warning' | 'danger' | 'success';
  title?: ReactNode;
  children?: ReactNode;
  onDismiss?: () => void;
  role?: 'alert' | 'status';
}) {
  return (
    <div className={`alert alert--${tone}`} role={role ?? (tone === 'danger' ? 'alert' : 'status')}>
      <div className="alert__body">
        {title && <strong className="alert__title">{title}</strong>}
        {children && <div className="alert__text">{children}</div>}
      </div>
      {onDismiss && (
        <button type="button" className="alert__close" onClick={onDismiss} aria-label="Dismiss">
          ×
        </button>
      )}
    </div>
  );
}

export function StatusPill({ status }: { status: string }) {
  return <span className={`pill pill--${status}`}>{statusLabel(status)}</span>;
}

export function ScoreBadge({
  score,
  size = 'md',
  label,
}: {
  score: number | null | undefined;
  size?: 'sm' | 'md' | 'lg';
  label?: string;
}) {
  if (score === null || score === undefined) {
    return (
      <span className={`score score--${size} score--none`} aria-label={label ? `${label}: no score` : 'No score'}>
        –
      </span>
    );
  }
  return (
    <span
      className={`score score--${size} score--${scoreBand(score)}`}
      aria-label={`${label ? `${label}: ` : ''}${formatScore(score)} out of 5`}
    >
      {formatScore(score)}
      {size === 'lg' && <span className="score__of">/5</span>}
    </span>
  );
}

/** A 1–5 value as five small bars. */
export function ScoreMeter({ value }: { value: number }) {
  return (
    <span className={`meter meter--${scoreBand(value)}`} aria-hidden="true">
      {[1, 2, 3, 4, 5].map((n) => (
        <span key={n} className={n <= Math.round(value) ? 'meter__bar meter__bar--on' : 'meter__bar'} />
      ))}
    </span>
  );
}

export function PageHeader({
  title,
  subtitle,
  actions,
  back,
}: {
  title: ReactNode;
  subtitle?: ReactNode;
  actions?: ReactNode;
  back?: { to: string; label: string };
}) {
  return (
    <header className="page-header">
      <div className="page-header__text">
        {back && (
          <Link className="back-link" to={back.to}>
            <span aria-hidden="true">←</span> {back.label}
          </Link>
        )}
        <h1 className="page-title">{title}</h1>
        {subtitle && <p className="page-subtitle">{subtitle}</p>}
      </div>
      {actions && <div className="page-header__actions">{actions}</div>}
    </header>
  );
}
