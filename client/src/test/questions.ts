import type { QuestionPart } from '../components/report/QuestionBreakdown';

/** A report's main question as the server sends it; override what the test is about. */
export function questionScore(over: Partial<QuestionPart> & { number: number }): QuestionPart {
  return {
    question: `Question ${over.number}?`,
    outcome: 'answered',
    follow_ups: 0,
    answered: 1,
    unanswered: 0,
    score: 3.5,
    follow_up_turns: [],
    strong_answer: [],
    pitfalls: [],
    missed_points: [],
    drills: [],
    ...over,
  };
}
