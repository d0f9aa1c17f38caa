/** The time left for the answer, and, while offline, that it keeps running. */
import type { Countdown } from '../../hooks/useCountdown';
import { formatDuration } from '../../lib/format';

export function AnswerClock({ countdown, offline }: { countdown: Countdown; offline: boolean }) {
  if (countdown.remainingMs === null) return null;
  const left = formatDuration(countdown.remainingMs / 1000);
  return (
    <span className="answer-clock">
      {offline && (
        <span className="answer-clock__note" data-testid="clock-keeps-running">
          The clock keeps running<span className="wide-only"> while you are offline</span>
        </span>
      )}
      <span
        className={`countdown${countdown.warning ? ' countdown--warning' : ''}`}
        role="timer"
        aria-live={countdown.warning ? 'polite' : 'off'}
        aria-label={`Time left ${left}`}
        data-testid="countdown"
      >
        <svg viewBox="0 0 20 20" width="14" height="14" aria-hidden="true">
          <circle cx="10" cy="10" r="8" fill="none" stroke="currentColor" strokeWidth="2" opacity="0.25" />
          <circle
            cx="10"
            cy="10"
            r="8"
            fill="none"
            stroke="currentColor"
            strokeWidth="2"
            strokeDasharray={`${(countdown.fraction ?? 1) * 50.27} 50.27`}
            transform="rotate(-90 10 10)"
          />
        </svg>
        {left}
      </span>
    </span>
  );
}
