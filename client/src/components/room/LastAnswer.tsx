/**
 * The payoff of the last answer, kept in view while the next question streams: its score and
 * criteria on one line, expandable to the full feedback.
 */
import { useId, useState } from 'react';
import type { TranscriptTurn } from '../../hooks/interviewReducer';
import { formatScore } from '../../lib/format';
import { criteriaInline, CriteriaList } from '../Feedback';
import { ScoreBadge } from '../ui';

export function LastAnswer({ turn }: { turn: TranscriptTurn }) {
  const [open, setOpen] = useState(false);
  const panel = useId();
  if (!turn.scores) return null;
  return (
    <section className={`last-answer${open ? ' last-answer--open' : ''}`} aria-label="Feedback on your last answer" data-testid="last-feedback">
      <div className="last-answer__row">
        <span className="last-answer__label">Last answer</span>
        <span className="last-answer__score" data-testid="last-feedback-score">
          <ScoreBadge score={turn.average} size="sm" label="Last answer score" />
          <span className="muted" aria-hidden="true">
            /5
          </span>
        </span>
        <span className="last-answer__criteria" aria-hidden={open || undefined}>
          {criteriaInline(turn.scores)}
        </span>
        <button
          type="button"
          className="link-button small last-answer__toggle"
          aria-expanded={open}
          aria-controls={panel}
          onClick={() => setOpen(!open)}
          data-testid="last-feedback-toggle"
        >
          {open ? 'Hide' : 'Details'}
          <span className="visually-hidden"> of the feedback on your last answer ({formatScore(turn.average)} out of 5)</span>
        </button>
      </div>
      <div id={panel} className="last-answer__panel" hidden={!open}>
        {open && <CriteriaList scores={turn.scores} />}
      </div>
    </section>
  );
}
