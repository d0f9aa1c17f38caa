import type { ConnectionState, CloseReason } from '../hooks/interviewReducer';
import { useRetryCountdown } from '../hooks/useCountdown';

const LABELS: Record<ConnectionState, string> = {
  connecting: 'Connecting…',
  connected: 'Connected',
  reconnecting: 'Reconnecting…',
  resumed: 'Resumed',
  closed: 'Disconnected',
};

/**
 * The connection at a glance, in the room bar. The countdown is the one the connection really
 * waits for (its scheduled attempt); on a narrow screen only the state shows, and the full story
 * is beside the answer box.
 */
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
  const seconds = useRetryCountdown(connection === 'reconnecting' ? retryAt : null);
  const waiting = connection === 'reconnecting' && seconds !== null && seconds > 0;
  let label = LABELS[connection];
  if (connection === 'closed' && closeReason === 'finished') label = 'Interview ended';
  // The same words while waiting and while trying, so the live region speaks once.
  if (connection === 'reconnecting') label = 'Reconnecting';
  return (
    <span className="conn" data-state={connection}>
      <span className={`conn__badge conn__badge--${connection}`} role="status" aria-live="polite" data-testid="connection-badge">
        <span className="conn__dot" aria-hidden="true" />
        <span className="conn__label">
          {label}
          {/* Not announced: a live region that changes every second would never stop talking. */}
          {connection === 'reconnecting' && (
            <span className="conn__in" aria-hidden="true">
              {waiting ? ` in ${seconds}s` : '…'}
            </span>
          )}
        </span>
      </span>
      {waiting && onRetry && seconds > 1 && (
        <button type="button" className="link-button conn__retry" onClick={onRetry}>
          Retry now
        </button>
      )}
    </span>
  );
}
