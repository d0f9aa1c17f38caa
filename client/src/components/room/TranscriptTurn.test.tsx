import { render, screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import type { TranscriptTurn as Turn } from '../../hooks/interviewReducer';
import { TranscriptTurn } from './TranscriptTurn';

const turn: Turn = {
  index: 0,
  kind: 'question',
  questionNumber: 1,
  question: 'How would you keep a Kafka consumer from processing a message twice?',
  streaming: false,
  interrupted: false,
  answer: null,
  answerSource: null,
  outcome: null,
  scores: null,
  average: null,
  rubricVersion: null,
  scoreFailed: false,
  clarification: false,
  delivery: null,
  take: 1,
  targets: ['kafka', 'idempotency'],
};

function show(t: Turn) {
  render(
    <ol>
      <TranscriptTurn turn={t} latest total={3} feedbackOpen={false} unsent={null} />
    </ol>,
  );
}

describe('TranscriptTurn', () => {
  it('says which parts of the job description a question was chosen for', () => {
    show(turn);
    expect(screen.getByTestId('turn-targets')).toHaveTextContent(
      'Chosen for your job description and résumé: kafka, idempotency',
    );
  });

  it('says nothing of the sort without targets', () => {
    show({ ...turn, targets: [] });
    expect(screen.queryByTestId('turn-targets')).toBeNull();
  });

  it('shows a clarifying question as not scored, and not as a failed score', () => {
    show({ ...turn, answer: 'Do you mean at-least-once delivery?', outcome: 'answered', clarification: true });
    expect(screen.getByTestId('turn-clarification')).toHaveTextContent('A clarifying question: not scored.');
    expect(screen.queryByText(/could not be scored/)).toBeNull();
  });
});
