/**
 * The connection, told where the candidate is looking (beside the answer box): when the next
 * attempt to reconnect really is, that typing goes on, and why sending waits.
 */
import { useEffect, useRef, useState } from 'react';
import type { CloseReason, ConnectionState } from '../../hooks/interviewReducer';
import { useRetryCountdown } from '../../hooks/useCountdown';

/** How long "Reconnected" stays after the connection is back. */
const BACK_NOTE_MS = 4_000;

export function ConnectionStatus({
  id,
  connection,
  closeReason,
  retryAt,
  attempt,
  onRetry,
}: {
  /** For aria-describedby on the controls that wait for the connection. */
  id: string;
  connection: ConnectionState;
  closeReason: CloseReason | null;
  retryAt: number | null;
  attempt: number;
  onRetry: () => void;
}) {
  const seconds = useRetryCountdown(connection === 'reconnecting' ? retryAt : null);
  const online = connection === 'connected' || connection === 'resumed';
  const lost = connection === 'reconnecting' || (connection === 'closed' && closeReason !== 'finished');
  const back = useBackNote(lost, online);

  if (!lost) {
    return (
      <>
        <p className="visually-hidden" role="status">
          {back ? 'Reconnected. Send works again.' : ''}
        </p>
        {back && (
          <p className="conn-status conn-status--back" id={id} data-testid="connection-status">
            Reconnected: send works again.
          </p>
        )}
      </>
    );
  }
  if (connection === 'closed') {
    return (
      <div className="conn-status conn-status--down" id={id} data-testid="connection-status" role="alert">
        <p className="conn-status__line">
          <strong className="conn-status__title">Disconnected.</strong>{' '}
          <span className="conn-status__text">Reload the page to continue; your draft is kept.</span>
        </p>
      </div>
    );
  }
  const waiting = seconds !== null && seconds > 0;
  return (
    <div className="conn-status conn-status--lost" id={id} data-testid="connection-status">
      <p className="visually-hidden" role="status">
        Connection lost. Reconnecting by itself; you can keep typing.
      </p>
      <p className="conn-status__line">
        <span className="conn-status__dot" aria-hidden="true" />
        <strong className="conn-status__title">
          Connection lost.{' '}
          <span data-testid="reconnect-countdown" data-retry-at={retryAt ?? ''} data-seconds={seconds ?? ''}>
            {waiting ? `Reconnecting in ${seconds} s` : 'Reconnecting now…'}
          </span>
          {waiting ? '.' : ''}
        </strong>{' '}
        <span className="conn-status__text">
          You can keep typing; Send works again once reconnected.
          {attempt >= 3 && (
            <span className="conn-status__extra"> Check your network: nothing is lost, and the interview continues where it left off.</span>
          )}
        </span>
        {waiting && (
          <button type="button" className="link-button small conn-status__retry" onClick={onRetry}>
            Try now
          </button>
        )}
      </p>
    </div>
  );
}

/** True for a few seconds after a lost connection came back (not on the first connect). */
function useBackNote(lost: boolean, online: boolean): boolean {
  const wasLost = useRef(false);
  const [back, setBack] = useState(false);
  useEffect(() => {
    if (lost) {
      wasLost.current = true;
      setBack(false);
      return;
    }
    if (!online || !wasLost.current) return;
    wasLost.current = false;
    setBack(true);
    const timer = setTimeout(() => setBack(false), BACK_NOTE_MS);
    return () => clearTimeout(timer);
  }, [lost, online]);
  return back;
}
