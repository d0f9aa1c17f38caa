import type { CriterionScore } from '../api/protocol';
import { highlightEvidence } from '../lib/highlight';
import { criterionLabel } from '../lib/progress';
import { ScoreMeter } from './ui';

/** The answer with every evidence quote the scorer used marked in place. */
export function AnswerWithEvidence({ answer, scores }: { answer: string; scores: CriterionScore[] }) {
  const segments = highlightEvidence(
    answer,
    scores.map((s) => ({ criterion: s.criterion, evidence: s.evidence })),
  );
  return (
    <p className="answer-text">
      {segments.map((segment, i) =>
        segment.criteria.length ? (
          <mark key={i} className="evidence" title={`Evidence for ${segment.criteria.map(criterionLabel).join(', ')}`}>
            {segment.text}
            <span className="visually-hidden"> (evidence for {segment.criteria.map(criterionLabel).join(', ')})</span>
          </mark>
        ) : (
          <span key={i}>{segment.text}</span>
        ),
      )}
    </p>
  );
}

export function CriteriaList({ scores, showEvidence = true }: { scores: CriterionScore[]; showEvidence?: boolean }) {
  return (
    <ul className="criteria">
      {scores.map((s) => (
        <li key={s.criterion} className="criterion">
          <div className="criterion__head">
            <span className="criterion__name">{criterionLabel(s.criterion)}</span>
            <span className="criterion__score">
              <ScoreMeter value={s.value} />
              <span className="criterion__value">
                {s.value}
                <span className="muted">/5</span>
              </span>
            </span>
          </div>
          {showEvidence && s.evidence && (
            <blockquote className="criterion__evidence">
              <span className="visually-hidden">Evidence: </span>“{s.evidence}”
            </blockquote>
          )}
          {s.suggestion && (
            <p className="criterion__tip">
              <span className="criterion__tip-label">Try:</span> {s.suggestion}
            </p>
          )}
        </li>
      ))}
    </ul>
  );
}

/** The scores on one line, for a compact summary: "Coverage 4 · Structure 3". */
export function criteriaInline(scores: CriterionScore[]): string {
  return scores.map((s) => `${criterionLabel(s.criterion)} ${s.value}`).join(' · ');
}
