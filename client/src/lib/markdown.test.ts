import { describe, expect, it } from 'vitest';
import { questionScore } from '../test/questions';
import { delivery, detail } from '../test/frames';
import { boldEvidence, markdownFilename, reportToMarkdown } from './markdown';

const finished = detail({
  status: 'finished',
  finished_at: '2026-01-05T10:10:00Z',
  overall_score: 3.5,
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

describe('reportToMarkdown', () => {
  const md = reportToMarkdown(finished);

  it('has the title, the overall score and the offline interviewer', () => {
    expect(md).toMatch(/^# Backend interview \(Mid-level\)\n/);
    expect(md).toContain('**Overall score: 3.5 / 5**');
    expect(md).toContain('Interviewer: offline interviewer');
    expect(md).toContain('offline interviewer (a curated question bank');
  });

  it('lists criteria, strengths, weaknesses and numbered next steps', () => {
    expect(md).toContain('| Coverage | 2.0 / 5 | 1 |');
    expect(md).toContain('| Specificity | 5.0 / 5 | 1 |');
    expect(md).toContain('## Strengths\n\n- Concrete numbers.');
    expect(md).toContain('## Weaknesses\n\n- Missed idempotency.');
    expect(md).toContain('## Next steps\n\n1. Practise queues.\n2. Use first/then/finally.\n3. Add a baseline.');
  });

  it('quotes each question and answer with the evidence in bold', () => {
    expect(md).toContain('### Question 1\n\n> How do you handle retries?');
    expect(md).toContain('> **I would add an index on user\\_id**. Our **p99 went from 800ms to 120ms**.');
    expect(md).toContain('- **Coverage: 2/5.** Evidence: “I would add an index on user_id”. Suggestion: Mention idempotency.');
  });

  it('says how a spoken answer was delivered, and nothing of the kind for a typed one', () => {
    expect(md).not.toContain('_Spoken:');
    const turn = { ...finished.turns[0], answer_source: 'voice' as const, delivery: delivery() };
    expect(reportToMarkdown({ ...finished, turns: [turn] })).toContain(
      '_Spoken: 140 words/min · 3 fillers (um ×2, you know ×1) · 1 long pause (longest 2.6 s) · spoke 36 s of 42 s._',
    );
  });

  it('names the file after track, level and date', () => {
    expect(markdownFilename(finished)).toBe('interview-report-backend-mid-2026-01-05.md');
  });

  it('says so when there is no report', () => {
    expect(reportToMarkdown(detail({ report: null, turns: [] }))).toContain('_No report: no question was answered._');
  });
});

describe('boldEvidence', () => {
  it('merges overlapping quotes and escapes Markdown', () => {
    expect(boldEvidence('use *args and p99', ['use *args', '*args and'])).toBe('**use \\*args and** p99');
  });
});

describe('reportToMarkdown: question by question', () => {
  it('puts what a strong answer covers and the drills after each question', () => {
    const md = reportToMarkdown(
      detail({
        ...finished,
        report: {
          ...finished.report!,
          questions: [
            questionScore({
              number: 1,
              strong_answer: ['Idempotency keys', 'Backoff'],
              missed_points: ['Idempotency keys'],
              drills: [{ focus: 'point', text: 'Explain idempotency keys aloud.' }],
            }),
          ],
        },
      }),
    );
    const tail = md.slice(md.indexOf('### Question 1'));
    expect(tail).toContain(
      '**What a strong answer to question 1 covers:**\n\n- Idempotency keys _(you missed this)_\n- Backoff\n',
    );
    expect(tail).toContain('**Drills for question 1:**\n\n1. Explain idempotency keys aloud.\n');
  });
});
