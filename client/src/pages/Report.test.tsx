import { QueryClientProvider } from '@tanstack/react-query';
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
    questions: [{ number: 1, follow_ups: 0, answered: 1, unanswered: 0, score: 3.5 }],
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
          { number: 1, follow_ups: 1, answered: 2, unanswered: 0, score: 4.0 },
          { number: 2, follow_ups: 0, answered: 0, unanswered: 1, score: 1.0 },
          { number: 3, follow_ups: 0, answered: 1, unanswered: 0, score: 4.0 },
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
