import { useEffect, useState } from 'react';
import type { ConnectionState, CloseReason } from '../hooks/interviewReducer';

const LABELS: Record<ConnectionState, string> = {
  connecting: 'Connecting…',
  connected: 'Connected',
  reconnecting: 'Reconnecting…',
  resumed: 'Resumed',
  closed: 'Disconnected',
};

export function ConnectionBadge({
  connection,
  closeReason,
  retryAt,
  onRetry,
}: {
  connection: ConnectionState;
  closeReason: CloseReason | null;
  retryAt: number | null;
  onRetry?: () => void;
}) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!retryAt) return;
    const t = setInterval(() => setNow(Date.now()), 500);
    return () => clearInterval(t);
  }, [retryAt]);
  const seconds = retryAt ? Math.max(0, Math.ceil((retryAt - now) / 1000)) : 0;
  let label = LABELS[connection];
  if (connection === 'closed' && closeReason === 'finished') label = 'Interview ended';
  if (connection === 'reconnecting' && retryAt && seconds > 0) label = `Reconnecting in ${seconds}s`;
  return (
    <span className="conn" data-state={connection}>
      <span className={`conn__badge conn__badge--${connection}`} role="status" aria-live="polite">
        <span className="conn__dot" aria-hidden="true" />
        <span className="conn__label">{label}</span>
      </span>
      {connection === 'reconnecting' && onRetry && retryAt && seconds > 1 && (
        <button type="button" className="link-button conn__retry" onClick={onRetry}>
          Retry now
        </button>
      )}
    </span>
  );
}
