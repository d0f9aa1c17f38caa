/** One turn of the live transcript: the interviewer's words, the answer (or what became of it), the feedback. */
import { useState } from 'react';
import type { TranscriptTurn as Turn } from '../../hooks/interviewReducer';
import type { UnsentAnswer } from '../../hooks/answerDraft';
import { deliverySummary } from '../../lib/delivery';
import { CriteriaList } from '../Feedback';
import { ScoreBadge } from '../ui';

const OUTCOME_TEXT = { skipped: 'Skipped', timed_out: 'Time ran out' } as const;

export function turnLabel(turn: Pick<Turn, 'kind' | 'questionNumber'>, total: number): string {
  return turn.kind === 'follow_up'
    ? `Follow-up · question ${turn.questionNumber}`
    : `Question ${turn.questionNumber}${total ? ` of ${total}` : ''}`;
}

export function TranscriptTurn({
  turn,
  latest,
  total,
  feedbackOpen,
  unsent,
}: {
  turn: Turn;
  /** The newest turn: its words are announced as they stream. */
  latest: boolean;
  total: number;
  /** Open the feedback when it first shows (the newest scored answer's). */
  feedbackOpen: boolean;
  unsent: UnsentAnswer | null;
}) {
  return (
    <li className="turn" data-turn={turn.index} data-testid="turn">
      <div className="bubble bubble--interviewer">
        <div className="bubble__meta">
          <span className="bubble__who">Interviewer</span>
          <span className="bubble__label">{turnLabel(turn, total)}</span>
        </div>
        <p
          className="bubble__text"
          data-testid="turn-question"
          aria-live={latest ? 'polite' : undefined}
          aria-busy={latest ? turn.streaming : undefined}
        >
          {turn.question ||
            (turn.streaming ? null : (
              <span className="muted">
                The words of this question were lost in a reconnect. Answer what you remember of it, or skip it.
              </span>
            ))}
          {turn.streaming && <span className="cursor" aria-hidden="true" />}
        </p>
        {turn.interrupted && !turn.streaming && <p className="bubble__note">You stopped the interviewer here.</p>}
        {turn.targets.length > 0 && (
          <p className="bubble__note" data-testid="turn-targets">
            Chosen for your job description and résumé: {turn.targets.join(', ')}
          </p>
        )}
      </div>

      {turn.answer !== null && (
        <div className="bubble bubble--candidate">
          <div className="bubble__meta">
            <span className="bubble__who">You</span>
            {turn.answerSource === 'voice' && <span className="bubble__label">Spoken</span>}
          </div>
          <p className="bubble__text" data-testid="turn-answer">
            {turn.answer}
          </p>
        </div>
      )}
      {turn.answer === null && unsent && <UnsentDraft unsent={unsent} />}
      {turn.answer === null && turn.outcome && turn.outcome !== 'answered' && (
        <p className="turn__outcome" data-testid="turn-outcome">
          {OUTCOME_TEXT[turn.outcome]}
        </p>
      )}

      {turn.clarification && (
        <p className="turn__outcome" data-testid="turn-clarification">
          A clarifying question: not scored. The interviewer answers it, and the question stays open.
        </p>
      )}
      {turn.scores && <FeedbackDetails turn={turn} initiallyOpen={feedbackOpen} />}
      {turn.scoreFailed && !turn.scores && (
        <p className="turn__outcome">This answer could not be scored; it is saved in your transcript.</p>
      )}
    </li>
  );
}

/**
 * The answer's feedback. Open when it arrives, and then as the candidate leaves it: the next
 * question starting does not fold it away.
 */
function FeedbackDetails({ turn, initiallyOpen }: { turn: Turn; initiallyOpen: boolean }) {
  const [open, setOpen] = useState(initiallyOpen);
  if (!turn.scores) return null;
  return (
    <details
      className="feedback"
      open={open}
      onToggle={(e) => setOpen(e.currentTarget.open)}
      data-testid="turn-feedback"
    >
      <summary className="feedback__summary">
        <span className="feedback__title">Feedback</span>
        <ScoreBadge score={turn.average} size="sm" label="Answer score" />
        <span className="feedback__hint muted">{turn.scores.length} criteria</span>
      </summary>
      {turn.delivery && turn.answerSource === 'voice' && (
        <p className="feedback__delivery" data-testid="turn-delivery">
          <span className="feedback__delivery-label">Delivery</span> {deliverySummary(turn.delivery)}
        </p>
      )}
      <CriteriaList scores={turn.scores} />
    </details>
  );
}

/** What the candidate had written when time ran out: never sent, kept to read. */
function UnsentDraft({ unsent }: { unsent: UnsentAnswer }) {
  return (
    <details className="unsent" data-testid="unsent-draft">
      <summary className="unsent__summary">
        <span className="unsent__title">Not sent — time ran out</span>
        <span className="unsent__preview" aria-hidden="true">
          {unsent.text}
        </span>
      </summary>
      <p className="unsent__text">{unsent.text}</p>
      <p className="unsent__note">
        {unsent.source === 'voice' ? 'Your spoken answer' : 'Your draft'} was not sent and is not scored.
      </p>
    </details>
  );
}
