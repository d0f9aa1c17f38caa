/**
 * The end of the interview: where the score and the report are. It takes the focus when it
 * appears (the controls it replaces are gone) and is scrolled into view.
 */
import { useEffect, useRef } from 'react';
import { Link } from 'react-router';
import type { InterviewState, LiveReport } from '../../hooks/interviewReducer';
import { formatScore } from '../../lib/format';
import { ScoreBadge } from '../ui';

export function FinishCard({
  interviewId,
  ended,
  report,
}: {
  interviewId: string;
  ended: InterviewState['ended'];
  report: LiveReport | null;
}) {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    const el = heading.current;
    if (!el) return;
    el.focus({ preventScroll: true });
    el.closest('section')?.scrollIntoView({ block: 'center' });
  }, []);
  const abandoned = ended?.status === 'abandoned';
  return (
    <section className="finish card" aria-labelledby="finish-title" data-testid="finish">
      <h2 id="finish-title" ref={heading} tabIndex={-1} className="finish__title">
        {abandoned ? 'This interview was closed' : 'Interview complete'}
      </h2>
      {report ? (
        <div className="finish__score">
          <ScoreBadge score={report.overall_score} size="lg" label="Overall score" />
          <p className="muted">
            Overall score {formatScore(report.overall_score)} out of 5. Your report has strengths, weaknesses and three next
            steps.
          </p>
        </div>
      ) : (
        <p className="muted">
          {abandoned
            ? 'It was closed after a long time without a connection.'
            : 'No answers were scored, so there is no report to show.'}
        </p>
      )}
      <div className="finish__actions">
        <Link className="btn btn--primary" to={`/interviews/${interviewId}/report`}>
          View report
        </Link>
        <Link className="btn btn--secondary" to="/new">
          Start another
        </Link>
      </div>
    </section>
  );
}
