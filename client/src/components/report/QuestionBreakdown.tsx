import type { InterviewDetail, SharedInterview } from '../../api/client';
import { criterionLabel } from '../../lib/progress';
import { formatScore } from '../../lib/format';
import { AnswerWithEvidence, CriteriaList } from '../Feedback';
import { ScoreBadge } from '../ui';
import { DeliveryStats } from '../voice/DeliveryStats';

export type ReportTurn = (SharedInterview | InterviewDetail)['turns'][number];
export type QuestionPart = NonNullable<InterviewDetail['report']>['questions'][number];
type Drill = QuestionPart['drills'][number];

const OUTCOME_TEXT: Record<string, string> = {
  skipped: 'Skipped',
  timed_out: 'Time ran out',
};

/** A main question with the follow-ups asked on it (none listed for one never asked). */
export interface QuestionGroup {
  number: number;
  main: ReportTurn | null;
  followUps: ReportTurn[];
}

/** Turns grouped by main question, in order; a follow-up belongs to the question before it. */
export function groupTurns(turns: ReportTurn[]): QuestionGroup[] {
  const groups: QuestionGroup[] = [];
  for (const turn of [...turns].sort((a, b) => a.index - b.index)) {
    if (turn.kind === 'question' || groups.length === 0) {
      groups.push({ number: groups.length + 1, main: turn.kind === 'question' ? turn : null, followUps: [] });
    }
    if (turn.kind !== 'question') groups[groups.length - 1].followUps.push(turn);
  }
  return groups;
}

export function drillFocusLabel(focus: string): string {
  if (focus === 'point') return 'Missed point';
  if (focus === 'unanswered') return 'Unanswered';
  return criterionLabel(focus);
}

function turnAverage(turn: ReportTurn): number | null {
  return turn.scores.length ? turn.scores.reduce((a, s) => a + s.value, 0) / turn.scores.length : null;
}

function TurnBody({ turn, label, admin }: { turn: ReportTurn; label: string; admin: boolean }) {
  const avg = turnAverage(turn);
  return (
    <>
      <div className="qa__head">
        <span className="eyebrow">
          {label}
          {turn.answer && turn.answer_source === 'voice' && <span className="qa__spoken"> · spoken</span>}
        </span>
        {avg !== null && <ScoreBadge score={avg} size="sm" label="Answer score" />}
      </div>
      <p className="qa__question">{turn.question}</p>
      {turn.answer ? (
        <div className="qa__answer">
          <h4 className="qa__label">{admin ? "The candidate's answer" : 'Your answer'}</h4>
          <AnswerWithEvidence answer={turn.answer} scores={turn.scores} />
          {turn.scores.length > 0 && (
            <p className="qa__legend muted small">
              <mark className="evidence evidence--legend">Highlighted</mark> text is what the scorer quoted as evidence.
            </p>
          )}
        </div>
      ) : (
        <p className="turn__outcome">{turn.outcome ? (OUTCOME_TEXT[turn.outcome] ?? 'Not answered') : 'Not answered'}</p>
      )}
      {turn.answer && turn.answer_source === 'voice' && turn.delivery && (
        <DeliveryStats delivery={turn.delivery} title={admin ? 'How it was said' : 'How you said it'} />
      )}
      {turn.scores.length > 0 && <CriteriaList scores={turn.scores} />}
      {turn.outcome === 'answered' && turn.scores.length === 0 && (
        <p className="muted small">This answer could not be scored.</p>
      )}
    </>
  );
}

function StrongAnswer({ part }: { part: QuestionPart }) {
  const missed = new Set(part.missed_points);
  const id = `q${part.number}-strong`;
  return (
    <section className="qgroup__panel qgroup__panel--strong" aria-labelledby={id} data-testid="strong-answer">
      <h4 id={id} className="qgroup__panel-title">
        What a strong answer covers
      </h4>
      <ul className="strong-answer">
        {part.strong_answer.map((point, i) => (
          <li key={i} className={missed.has(point) ? 'strong-answer__point strong-answer__point--missed' : 'strong-answer__point'}>
            {point}
            {missed.has(point) && <span className="strong-answer__missed"> (you missed this)</span>}
          </li>
        ))}
      </ul>
      {part.pitfalls.length > 0 && (
        <>
          <h5 className="qgroup__panel-subtitle">Common mistakes</h5>
          <ul className="strong-answer strong-answer--pitfalls">
            {part.pitfalls.map((pitfall, i) => (
              <li key={i}>{pitfall}</li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}

function Drills({ number, drills }: { number: number; drills: Drill[] }) {
  const id = `q${number}-drills`;
  return (
    <section className="qgroup__panel qgroup__panel--drills" aria-labelledby={id} data-testid="drills">
      <h4 id={id} className="qgroup__panel-title">
        {drills.length === 1 ? 'Drill' : 'Drills'} to practise
      </h4>
      <ol className="drills">
        {drills.map((drill, i) => (
          <li key={i} className="drill">
            <span className="drill__focus">{drillFocusLabel(drill.focus)}:</span> {drill.text}
          </li>
        ))}
      </ol>
    </section>
  );
}

function followUpsText(count: number): string {
  return count === 0 ? 'no follow-ups' : `${count} ${count === 1 ? 'follow-up' : 'follow-ups'}`;
}

/** One main question: its score, its answer, its follow-ups folded under it, what a strong
 * answer covers and the drills (those two only once the report exists). */
export function QuestionCard({ group, part, admin = false }: { group: QuestionGroup; part?: QuestionPart; admin?: boolean }) {
  const titleId = `q${group.number}-title`;
  return (
    <li className="card qgroup" data-testid="report-question" aria-labelledby={titleId}>
      <div className="qgroup__head">
        <h3 id={titleId} className="qgroup__title">
          Question {group.number}
        </h3>
        <span className="qgroup__meta muted small">
          {followUpsText(group.followUps.length)}
          {part && part.score !== null && ` · counts ${formatScore(part.score)} in the overall score`}
        </span>
        {part && <ScoreBadge score={part.score} label={`Question ${group.number} score`} />}
      </div>
      {group.main && (
        <div className="qa" data-testid="report-turn">
          <TurnBody turn={group.main} label="Main question" admin={admin} />
        </div>
      )}
      {group.followUps.length > 0 && (
        <ol className="qgroup__follow-ups" aria-label={`Follow-ups to question ${group.number}`}>
          {group.followUps.map((turn, i) => (
            <li key={turn.index} className="qa qa--follow-up" data-testid="report-turn">
              <TurnBody turn={turn} label={`Follow-up ${i + 1} to question ${group.number}`} admin={admin} />
            </li>
          ))}
        </ol>
      )}
      {part && part.strong_answer.length > 0 && <StrongAnswer part={part} />}
      {part && part.drills.length > 0 && <Drills number={group.number} drills={part.drills} />}
    </li>
  );
}
