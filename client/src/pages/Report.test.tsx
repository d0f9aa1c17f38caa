import { QueryClientProvider } from '@tanstack/react-query';
import axe from 'axe-core';
import { questionScore } from '../test/questions';
import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { MemoryRouter } from 'react-router';
import { describe, expect, it, vi } from 'vitest';
import { makeQueryClient } from '../App';
import { criteria, delivery, detail } from '../test/frames';
import { ReportView } from './Report';

const finished = detail({
  status: 'finished',
  finished_at: '2026-01-05T10:10:00Z',
  report: {
    overall_score: 3.5,
    overall_rule: "The mean of the questions' scores.",
    questions: [questionScore({ number: 1, follow_ups: 0, answered: 1, unanswered: 0, score: 3.5 })],
    strengths: ['Concrete numbers.'],
    weaknesses: ['Missed idempotency.'],
    next_steps: ['Practise queues.', 'Use first/then/finally.', 'Add a baseline.'],
    rubric_version: 'r1',
    provider: 'offline',
    created_at: '2026-01-05T10:10:00Z',
  },
});

function renderReport(d = finished) {
  return render(
    <QueryClientProvider client={makeQueryClient()}>
      <MemoryRouter>
        <ReportView detail={d} />
      </MemoryRouter>
    </QueryClientProvider>,
  );
}

describe('ReportView', () => {
  it('shows the overall score, the lists and the offline interviewer', () => {
    renderReport();
    expect(screen.getByRole('heading', { level: 1, name: 'Backend interview' })).toBeInTheDocument();
    expect(screen.getByTestId('overall-score')).toHaveTextContent('3.5 out of 5');
    expect(screen.getByTestId('provider')).toHaveTextContent('Offline interviewer');
    expect(screen.getByText(/Scored by the offline interviewer/)).toBeInTheDocument();
    const next = screen.getByRole('heading', { name: 'Next steps' }).closest('section')!;
    expect(within(next).getAllByRole('listitem').map((li) => li.textContent)).toEqual([
      'Practise queues.',
      'Use first/then/finally.',
      'Add a baseline.',
    ]);
    expect(screen.getByText('Concrete numbers.')).toBeInTheDocument();
    expect(screen.getByText('Missed idempotency.')).toBeInTheDocument();
  });

  it('highlights each evidence quote inside the answer', () => {
    const { container } = renderReport();
    const answer = container.querySelector('.answer-text')!;
    const visible = answer.cloneNode(true) as HTMLElement;
    visible.querySelectorAll('.visually-hidden').forEach((n) => n.remove());
    expect(visible.textContent).toBe('I would add an index on user_id. Our p99 went from 800ms to 120ms.');
    const marks = [...answer.querySelectorAll('mark.evidence')];
    expect(marks.map((m) => m.firstChild?.textContent)).toEqual([
      'I would add an index on user_id',
      'p99 went from 800ms to 120ms',
    ]);
    expect(marks[0]).toHaveAttribute('title', 'Evidence for Coverage');
    expect(marks[1]).toHaveTextContent('(evidence for Specificity)');
    expect(screen.getByText('Mention idempotency.')).toBeInTheDocument();
  });

  it('downloads the report as Markdown', async () => {
    const created: Blob[] = [];
    const createObjectURL = vi.fn((blob: Blob) => {
      created.push(blob);
      return 'blob:report';
    });
    Object.assign(URL, { createObjectURL, revokeObjectURL: vi.fn() });
    const click = vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(function (this: HTMLAnchorElement) {
      expect(this.download).toBe('interview-report-backend-mid-2026-01-05.md');
      expect(this.href).toBe('blob:report');
    });
    renderReport();
    await userEvent.click(screen.getByRole('button', { name: 'Download Markdown' }));
    expect(click).toHaveBeenCalledTimes(1);
    const text = await new Promise<string>((resolve) => {
      const reader = new FileReader();
      reader.onload = () => resolve(String(reader.result));
      reader.readAsText(created[0]);
    });
    expect(text).toContain('**Overall score: 3.5 / 5**');
    expect(text).toContain('**I would add an index on user\\_id**');
  });

  it('prints', async () => {
    const print = vi.fn();
    vi.stubGlobal('print', print);
    window.print = print;
    renderReport();
    await userEvent.click(screen.getByRole('button', { name: 'Print / PDF' }));
    expect(print).toHaveBeenCalled();
    vi.unstubAllGlobals();
  });

  it('shows how a spoken answer was delivered, and nothing about delivery for a typed one', () => {
    const typed = finished.turns[0];
    const spoken = {
      ...typed,
      index: 1,
      kind: 'follow_up' as const,
      question: 'Why that index?',
      answer: 'Um, because the query filters on user_id, you know.',
      answer_source: 'voice' as const,
      delivery: delivery({ words_per_minute: 142.4, filler_words: 3, fillers: { um: 2, 'you know': 1 }, long_pauses: 1, longest_pause_ms: 2600, speaking_ms: 36_000, duration_ms: 42_000 }),
      scores: criteria.map((c) => ({ ...c, rubric_version: 'r1' })),
    };
    renderReport({
      ...finished,
      turns: [typed, spoken],
      delivery: { answers: 1, words_per_minute: 142.4, filler_words: 3, fillers_per_minute: 5, long_pauses: 1, speaking_ms: 36_000 },
    });
    const [typedCard, spokenCard] = screen.getAllByTestId('report-turn');
    expect(within(typedCard).queryByTestId('delivery')).toBeNull();
    expect(typedCard).not.toHaveTextContent(/spoken|words\/min/i);

    const stats = within(spokenCard).getByTestId('delivery');
    expect(within(stats).getByTestId('delivery-wpm')).toHaveTextContent('142 words/min');
    expect(within(stats).getByTestId('delivery-fillers')).toHaveTextContent('3um ×2, you know ×1');
    expect(within(stats).getByTestId('delivery-pauses')).toHaveTextContent('1longest 2.6 s');
    expect(within(stats).getByTestId('delivery-speaking')).toHaveTextContent('36 sof 42 s');
    expect(spokenCard).toHaveTextContent('spoken');

    // One chart over the spoken answers (its table is what a screen reader gets).
    const section = screen.getByTestId('delivery-section');
    expect(within(section).getByRole('heading', { name: 'How you spoke' })).toBeInTheDocument();
    const rows = within(section).getAllByRole('row').slice(1);
    expect(rows.map((r) => r.textContent)).toEqual(['Q1 follow-up1425']);
    expect(section).toHaveTextContent('5.0 a minute');
  });

  it('has no delivery section when every answer was typed', () => {
    renderReport();
    expect(screen.queryByTestId('delivery-section')).toBeNull();
    expect(screen.queryByTestId('delivery')).toBeNull();
  });

  it('explains a report that is not ready', () => {
    renderReport(detail({ status: 'live' }));
    expect(screen.getByText('This interview is still in progress.')).toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'Go to interview' })).toHaveAttribute('href', '/interviews/iv1');
    expect(screen.getByText(/no overall score/)).toBeInTheDocument();
  });
});

describe('ReportView: how the score is made', () => {
  it('counts main questions and follow-ups apart, and says how pauses were handled', async () => {
    const withParts = detail({
      ...finished,
      pauses: 2,
      paused_s: 250,
      report: {
        ...finished.report!,
        overall_score: 3.0,
        overall_rule: "The mean of the questions' scores. A question's score is the mean of its answer and its follow-ups' answers.",
        questions: [
          questionScore({ number: 1, follow_ups: 1, answered: 2, unanswered: 0, score: 4.0 }),
          questionScore({ number: 2, follow_ups: 0, answered: 0, unanswered: 1, score: 1.0 }),
          questionScore({ number: 3, follow_ups: 0, answered: 1, unanswered: 0, score: 4.0 }),
        ],
      },
    });
    renderReport(withParts);
    expect(screen.getByTestId('score-making-summary')).toHaveTextContent(
      '2 of 3 main questions answered, with 1 follow-up',
    );
    await userEvent.click(screen.getByText(/How this score is made/));
    const making = screen.getByTestId('score-making');
    expect(within(making).getByText('Question 1 (+1 follow-up)')).toBeInTheDocument();
    expect(within(making).getByText('1.0 · not answered')).toBeInTheDocument();
    expect(screen.getByTestId('pauses')).toHaveTextContent('2 pauses between questions (4 min); no answer clock ran while paused');
  });
});

describe('ReportView: question by question', () => {
  const mainTurn = finished.turns[0];
  const followUp = {
    ...mainTurn,
    index: 1,
    kind: 'follow_up' as const,
    question: 'Why an index on user_id?',
    answer: null,
    answer_source: null,
    outcome: 'skipped' as const,
    scores: [],
  };
  const second = { ...mainTurn, index: 2, question: 'How would you cache sessions?' };
  const withParts = detail({
    ...finished,
    turns: [mainTurn, followUp, second],
    report: {
      ...finished.report!,
      questions: [
        questionScore({
          number: 1,
          question: mainTurn.question,
          follow_ups: 1,
          answered: 1,
          unanswered: 1,
          score: 2.3,
          follow_up_turns: [{ question: followUp.question, outcome: 'skipped', score: null }],
          strong_answer: ['Idempotency keys', 'Retries with backoff and jitter'],
          pitfalls: ['Retrying a POST is always safe'],
          missed_points: ['Idempotency keys'],
          drills: [
            { focus: 'point', text: 'Explain "Idempotency keys" aloud in two or three sentences.' },
            { focus: 'structure', text: 'Answer question 1 again in four parts.' },
          ],
        }),
        questionScore({ number: 2, question: second.question, score: 3.5 }),
      ],
    },
  });

  it('folds each follow-up under its main question and lists none where none was asked', () => {
    renderReport(withParts);
    const [first, secondCard] = screen.getAllByTestId('report-question');
    expect(within(first).getByRole('heading', { level: 3, name: 'Question 1' })).toBeInTheDocument();
    const followUps = within(first).getByRole('list', { name: 'Follow-ups to question 1' });
    expect(within(followUps).getByText('Why an index on user_id?')).toBeInTheDocument();
    expect(within(followUps).getByText('Skipped')).toBeInTheDocument();
    expect(first).toHaveTextContent('1 follow-up · counts 2.3 in the overall score');
    expect(within(first).getByLabelText('Question 1 score: 2.3 out of 5')).toBeInTheDocument();

    expect(within(secondCard).queryByRole('list', { name: /Follow-ups/ })).toBeNull();
    expect(secondCard).toHaveTextContent('no follow-ups');
    expect(within(secondCard).queryByTestId('strong-answer')).toBeNull();
    expect(within(secondCard).queryByTestId('drills')).toBeNull();
  });

  it('shows what a strong answer covers, what was missed in words, and a drill per weakness', () => {
    renderReport(withParts);
    const first = screen.getAllByTestId('report-question')[0];
    const strong = within(first).getByTestId('strong-answer');
    expect(within(strong).getByRole('heading', { name: 'What a strong answer covers' })).toBeInTheDocument();
    const points = within(strong).getAllByRole('listitem').map((li) => li.textContent);
    expect(points).toEqual([
      'Idempotency keys (you missed this)',
      'Retries with backoff and jitter',
      'Retrying a POST is always safe',
    ]);
    expect(within(strong).getByRole('heading', { name: 'Common mistakes' })).toBeInTheDocument();

    const drills = within(first).getByTestId('drills');
    expect(within(drills).getByRole('heading', { name: 'Drills to practise' })).toBeInTheDocument();
    expect(within(drills).getAllByRole('listitem').map((li) => li.textContent)).toEqual([
      'Missed point: Explain "Idempotency keys" aloud in two or three sentences.',
      'Structure: Answer question 1 again in four parts.',
    ]);
  });

  it('shows no rubric and no drills while there is no report', () => {
    renderReport(detail({ ...withParts, status: 'live', report: null }));
    expect(screen.getAllByTestId('report-question')).toHaveLength(2);
    expect(screen.queryByTestId('strong-answer')).toBeNull();
    expect(screen.queryByTestId('drills')).toBeNull();
    expect(screen.queryByText(/Idempotency keys/)).toBeNull();
  });

  it('has no accessibility violations that block people', async () => {
    const { container } = renderReport(withParts);
    const breakdown = container.querySelector('.breakdown')!;
    const result = await axe.run(breakdown, {
      resultTypes: ['violations'],
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
      rules: { 'color-contrast': { enabled: false }, region: { enabled: false } },
    });
    const blocking = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    expect(blocking.map((v) => `${v.id}: ${v.help}`)).toEqual([]);
    // Headings go down one level at a time: the section (h2), the question (h3), its parts (h4).
    const levels = [...breakdown.querySelectorAll('h2, h3, h4, h5')].map((h) => Number(h.tagName[1]));
    levels.forEach((level, i) => {
      if (i > 0) expect(level - levels[i - 1]).toBeLessThanOrEqual(1);
    });
  });
});
