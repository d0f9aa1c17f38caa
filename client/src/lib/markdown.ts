import type { SharedInterview } from '../api/client';
import { deliverySummary } from './delivery';
import { findEvidence } from './highlight';
import { criterionAverages, criterionLabel } from './progress';
import { formatDateTime, formatScore, levelLabel, trackLabel } from './format';

const OUTCOME: Record<string, string> = {
  answered: 'Answered',
  skipped: 'Skipped',
  timed_out: 'Time ran out',
};

/** Markdown has no highlight; evidence quoted from the answer is set in bold. */
export function boldEvidence(answer: string, evidence: string[]): string {
  const ranges = evidence
    .flatMap((e) => findEvidence(answer, e))
    .sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [];
  for (const r of ranges) {
    const last = merged[merged.length - 1];
    if (last && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]);
    else merged.push([r[0], r[1]]);
  }
  let out = '';
  let at = 0;
  for (const [start, end] of merged) {
    out += escapeMd(answer.slice(at, start));
    const inner = answer.slice(start, end).trim();
    const lead = answer.slice(start, end).match(/^\s*/)?.[0] ?? '';
    const tail = answer.slice(start, end).match(/\s*$/)?.[0] ?? '';
    out += `${lead}**${escapeMd(inner)}**${tail}`;
    at = end;
  }
  return out + escapeMd(answer.slice(at));
}

function escapeMd(text: string): string {
  return text.replace(/([\\*_`[\]<>])/g, '\\$1');
}

function quoteBlock(text: string): string {
  return text
    .split(/\r?\n/)
    .map((line) => (line.trim() ? `> ${line}` : '>'))
    .join('\n');
}

export function providerLabel(provider: string): string {
  return provider === 'offline' ? 'offline interviewer' : provider;
}

/** The whole report as a Markdown document. */
export function reportToMarkdown(detail: SharedInterview): string {
  const lines: string[] = [];
  const title = `${trackLabel(detail.track)} interview (${levelLabel(detail.level)})`;
  lines.push(`# ${title}`, '');
  const meta = [
    `Date: ${formatDateTime(detail.finished_at ?? detail.started_at ?? detail.created_at)}`,
    `Questions: ${detail.question_count}`,
    `Interviewer: ${providerLabel(detail.report?.provider ?? detail.provider)}`,
  ];
  if (detail.report) meta.push(`Rubric: ${detail.report.rubric_version}`);
  lines.push(meta.join(' · '), '');
  if (detail.report?.provider === 'offline' || detail.provider === 'offline') {
    lines.push(
      '_Scored by the offline interviewer (a curated question bank and rule-based rubric, no AI model)._',
      '',
    );
  }
  if (detail.report) {
    lines.push(`**Overall score: ${formatScore(detail.report.overall_score)} / 5**`, '');
  } else {
    lines.push('_No report: no question was answered._', '');
  }

  const averages = criterionAverages(detail.turns);
  if (averages.length) {
    lines.push('## Scores by criterion', '', '| Criterion | Average | Answers |', '| --- | --- | --- |');
    for (const c of averages) {
      lines.push(`| ${criterionLabel(c.criterion)} | ${formatScore(c.average)} / 5 | ${c.count} |`);
    }
    lines.push('');
  }

  if (detail.report) {
    const section = (heading: string, items: string[], ordered = false) => {
      if (!items.length) return;
      lines.push(`## ${heading}`, '');
      items.forEach((item, i) => lines.push(`${ordered ? `${i + 1}.` : '-'} ${item}`));
      lines.push('');
    };
    section('Strengths', detail.report.strengths);
    section('Weaknesses', detail.report.weaknesses);
    section('Next steps', detail.report.next_steps, true);
  }

  if (detail.turns.length) {
    lines.push('## Question by question', '');
    let number = 0;
    // After a question's last turn: what a strong answer covers and its drills (report only).
    const parts = (n: number) => {
      const part = detail.report?.questions.find((q) => q.number === n);
      if (!part) return;
      if (part.strong_answer.length) {
        lines.push(`**What a strong answer to question ${n} covers:**`, '');
        const missed = new Set(part.missed_points);
        part.strong_answer.forEach((p) => lines.push(`- ${p}${missed.has(p) ? ' _(you missed this)_' : ''}`));
        lines.push('');
      }
      if (part.drills.length) {
        lines.push(`**Drills for question ${n}:**`, '');
        part.drills.forEach((d, i) => lines.push(`${i + 1}. ${d.text}`));
        lines.push('');
      }
    };
    for (const turn of [...detail.turns].sort((a, b) => a.index - b.index)) {
      if (turn.kind === 'question') {
        if (number > 0) parts(number);
        number += 1;
      }
      const label = turn.kind === 'question' ? `Question ${number}` : `Follow-up to question ${Math.max(number, 1)}`;
      lines.push(`### ${label}`, '', quoteBlock(turn.question), '');
      const outcome = turn.outcome ? OUTCOME[turn.outcome] ?? turn.outcome : 'Not answered';
      if (turn.answer) {
        lines.push(`**Your answer** (${outcome.toLowerCase()}; evidence the scorer quoted is in bold):`, '');
        lines.push(quoteBlock(boldEvidence(turn.answer, turn.scores.map((s) => s.evidence))), '');
        if (turn.answer_source === 'voice' && turn.delivery) {
          lines.push(`_Spoken: ${deliverySummary(turn.delivery)}._`, '');
        }
      } else {
        lines.push(`_${outcome}._`, '');
      }
      for (const s of turn.scores) {
        lines.push(`- **${criterionLabel(s.criterion)}: ${s.value}/5.** Evidence: “${s.evidence}”. Suggestion: ${s.suggestion}`);
      }
      if (turn.scores.length) lines.push('');
    }
    parts(Math.max(number, 1));
  }
  return lines.join('\n').replace(/\n{3,}/g, '\n\n').trimEnd() + '\n';
}

export function markdownFilename(detail: SharedInterview): string {
  const date = (detail.finished_at ?? detail.created_at).slice(0, 10);
  return `interview-report-${detail.track}-${detail.level}-${date}.md`;
}

/** Starts a download of `text` as a file. */
export function downloadText(filename: string, text: string, type = 'text/markdown'): void {
  const blob = new Blob([text], { type: `${type};charset=utf-8` });
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
