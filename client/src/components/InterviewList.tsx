import { Link } from 'react-router';
import type { Interview } from '../api/client';
import { formatDate, levelLabel, plural, trackLabel } from '../lib/format';
import { ScoreBadge, StatusPill } from './ui';

export function interviewHref(interview: Pick<Interview, 'id' | 'status'>): string {
  return interview.status === 'finished' || interview.status === 'abandoned'
    ? `/interviews/${interview.id}/report`
    : `/interviews/${interview.id}`;
}

export function InterviewRow({ interview, onDelete }: { interview: Interview; onDelete?: (i: Interview) => void }) {
  const open = interview.status === 'live' || interview.status === 'created';
  return (
    <li className="irow">
      <Link className="irow__main" to={interviewHref(interview)}>
        <span className="irow__title">
          {trackLabel(interview.track)} <span className="irow__level">· {levelLabel(interview.level)}</span>
        </span>
        <span className="irow__meta">
          {formatDate(interview.created_at)} · {plural(interview.question_count, 'question')}
          {interview.topics.length > 0 && <> · {interview.topics.join(', ')}</>}
        </span>
      </Link>
      <div className="irow__side">
        <StatusPill status={interview.status} />
        <ScoreBadge score={interview.overall_score ?? null} size="sm" label="Overall score" />
        <Link className="btn btn--secondary btn--sm irow__action" to={interviewHref(interview)} tabIndex={-1} aria-hidden="true">
          {open ? 'Resume' : 'Report'}
        </Link>
        {onDelete && (
          <button type="button" className="icon-button" onClick={() => onDelete(interview)} aria-label={`Delete ${trackLabel(interview.track)} interview from ${formatDate(interview.created_at)}`}>
            <svg viewBox="0 0 24 24" width="16" height="16" fill="none" stroke="currentColor" strokeWidth="2" strokeLinecap="round" strokeLinejoin="round" aria-hidden="true">
              <path d="M4 7h16M10 11v6M14 11v6M6 7l1 12a2 2 0 0 0 2 2h6a2 2 0 0 0 2-2l1-12M9 7V4h6v3" />
            </svg>
          </button>
        )}
      </div>
    </li>
  );
}
