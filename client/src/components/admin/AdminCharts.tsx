/**
 * The metrics screen's charts (recharts; this module is only in the metrics chunk). Every chart
 * has its numbers in a table for screen readers, as the candidate's charts do.
 */
import type { ReactElement, ReactNode } from 'react';
import {
  Bar,
  BarChart,
  CartesianGrid,
  ComposedChart,
  LabelList,
  Legend,
  Line,
  LineChart,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from 'recharts';
import type { AdminStats, DayStats } from '../../api/admin';
import { formatScore, trackLabel } from '../../lib/format';
import { SERIES_COLORS } from '../charts';
import { formatCount, formatUsd } from './AdminUi';

const axisTick = { fill: '#5b6472', fontSize: 12 };
const grid = '#eceef2';
const tooltipStyle = { borderRadius: 10, border: '1px solid #e4e7ec', fontSize: 13 };
const COLORS = {
  created: '#8a93a1',
  started: '#4338ca',
  finished: '#15803d',
  abandoned: '#b91c1c',
  rate: '#0f766e',
  signups: '#7c3aed',
  active: '#0369a1',
  tokensIn: '#a5b4fc',
  tokensOut: '#4338ca',
  cost: '#b45309',
  p50: '#4338ca',
  p95: '#f59e0b',
  errors: '#b91c1c',
};

const dayFormat = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short', timeZone: 'UTC' });

/** "2026-01-05" (a UTC day) → "5 Jan", whatever the browser's time zone. */
export function dayLabel(day: string): string {
  const d = new Date(`${day}T00:00:00Z`);
  return Number.isNaN(d.getTime()) ? day : dayFormat.format(d);
}

/** finished / (finished + abandoned), or null on a day nothing ended. */
export function completionRate(day: Pick<DayStats, 'finished' | 'abandoned'>): number | null {
  const ended = day.finished + day.abandoned;
  return ended ? day.finished / ended : null;
}

function Figure({
  caption,
  testId,
  children,
  table,
  short,
}: {
  caption: string;
  testId: string;
  children: ReactElement;
  table: ReactNode;
  short?: boolean;
}) {
  return (
    <figure className="chart admin-chart" data-testid={testId}>
      <figcaption className="chart__caption">{caption}</figcaption>
      <div className={`chart__canvas${short ? ' chart__canvas--short' : ''}`} aria-hidden="true">
        <ResponsiveContainer width="100%" height="100%">
          {children}
        </ResponsiveContainer>
      </div>
      <div className="visually-hidden">{table}</div>
    </figure>
  );
}

function DayTable({ caption, days, columns }: { caption: string; days: DayStats[]; columns: [string, (d: DayStats) => string][] }) {
  return (
    <table>
      <caption>{caption}</caption>
      <thead>
        <tr>
          <th scope="col">Day</th>
          {columns.map(([name]) => (
            <th key={name} scope="col">
              {name}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {days.map((d) => (
          <tr key={d.day}>
            <th scope="row">{d.day}</th>
            {columns.map(([name, value]) => (
              <td key={name}>{value(d)}</td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

const NAMES: Record<string, string> = {
  created: 'Created',
  started: 'Started',
  finished: 'Finished',
  abandoned: 'Abandoned',
  rate: 'Completion rate',
  signups: 'Sign-ups',
  active: 'Active users',
  tokensIn: 'Tokens in',
  tokensOut: 'Tokens out',
  cost: 'Cost',
};

const ORDER = Object.keys(NAMES);
const legend = (
  <Legend
    formatter={(value) => NAMES[String(value)] ?? String(value)}
    wrapperStyle={{ fontSize: 12, paddingTop: 6 }}
    // In the order the series are described, not alphabetically.
    itemSorter={(item) => String(ORDER.indexOf(String(item.dataKey))).padStart(2, '0')}
  />
);

export function InterviewsPerDayChart({ days }: { days: DayStats[] }) {
  const data = days.map((d) => ({
    name: dayLabel(d.day),
    created: d.created,
    started: d.started,
    finished: d.finished,
    abandoned: d.abandoned,
  }));
  const caption = 'Interviews per day: started, finished and abandoned';
  return (
    <Figure
      caption={caption}
      testId="chart-interviews"
      table={
        <DayTable
          caption={caption}
          days={days}
          columns={[
            ['Created', (d) => String(d.created)],
            ['Started', (d) => String(d.started)],
            ['Finished', (d) => String(d.finished)],
            ['Abandoned', (d) => String(d.abandoned)],
          ]}
        />
      }
    >
      <LineChart data={data} margin={{ top: 8, right: 12, bottom: 0, left: -18 }}>
        <CartesianGrid stroke={grid} vertical={false} />
        <XAxis dataKey="name" tick={axisTick} tickLine={false} axisLine={{ stroke: '#dfe3e8' }} minTickGap={16} />
        <YAxis tick={axisTick} tickLine={false} axisLine={false} allowDecimals={false} />
        <Tooltip formatter={(v, n) => [v, NAMES[String(n)] ?? n]} contentStyle={tooltipStyle} />
        {legend}
        <Line type="monotone" dataKey="created" stroke={COLORS.created} strokeDasharray="4 3" dot={false} isAnimationActive={false} />
        <Line type="monotone" dataKey="started" stroke={COLORS.started} strokeWidth={2.5} dot={false} isAnimationActive={false} />
        <Line type="monotone" dataKey="finished" stroke={COLORS.finished} strokeWidth={2} dot={false} isAnimationActive={false} />
        <Line type="monotone" dataKey="abandoned" stroke={COLORS.abandoned} strokeWidth={2} dot={false} isAnimationActive={false} />
      </LineChart>
    </Figure>
  );
}

const percent = (v: number | null) => (v === null ? '–' : `${Math.round(v * 100)}%`);

export function CompletionChart({ days }: { days: DayStats[] }) {
  const data = days.map((d) => {
    const rate = completionRate(d);
    return { name: dayLabel(d.day), rate: rate === null ? null : Math.round(rate * 1000) / 10 };
  });
  const caption = 'Completion rate per day: finished of the interviews that ended';
  return (
    <Figure
      caption={caption}
      testId="chart-completion"
      short
      table={<DayTable caption={caption} days={days} columns={[['Completion rate', (d) => percent(completionRate(d))]]} />}
    >
      <LineChart data={data} margin={{ top: 8, right: 12, bottom: 0, left: -12 }}>
        <CartesianGrid stroke={grid} vertical={false} />
        <XAxis dataKey="name" tick={axisTick} tickLine={false} axisLine={{ stroke: '#dfe3e8' }} minTickGap={16} />
        <YAxis domain={[0, 100]} tick={axisTick} tickLine={false} axisLine={false} unit="%" />
        <Tooltip formatter={(v) => [`${v}%`, 'Completion rate']} contentStyle={tooltipStyle} />
        <Line type="monotone" dataKey="rate" stroke={COLORS.rate} strokeWidth={2.5} dot={{ r: 3, strokeWidth: 0, fill: COLORS.rate }} connectNulls isAnimationActive={false} />
      </LineChart>
    </Figure>
  );
}

export function ScoresByTrackChart({ scores }: { scores: AdminStats['scores_by_track'] }) {
  const data = scores.map((s) => ({ name: trackLabel(s.track), value: s.average_score, reports: s.reports }));
  const caption = 'Average overall score by track (reports of interviews that ended in the range)';
  return (
    <Figure
      caption={caption}
      testId="chart-scores"
      short
      table={
        <table>
          <caption>{caption}</caption>
          <thead>
            <tr>
              <th scope="col">Track</th>
              <th scope="col">Average score</th>
              <th scope="col">Reports</th>
            </tr>
          </thead>
          <tbody>
            {scores.map((s) => (
              <tr key={s.track}>
                <th scope="row">{trackLabel(s.track)}</th>
                <td>{formatScore(s.average_score, 2)}</td>
                <td>{s.reports}</td>
              </tr>
            ))}
          </tbody>
        </table>
      }
    >
      <BarChart data={data} layout="vertical" margin={{ top: 4, right: 40, bottom: 4, left: 8 }} barCategoryGap={8}>
        <CartesianGrid stroke={grid} horizontal={false} />
        <XAxis type="number" domain={[0, 5]} ticks={[0, 1, 2, 3, 4, 5]} tick={axisTick} tickLine={false} axisLine={false} />
        <YAxis type="category" dataKey="name" width={90} tick={{ ...axisTick, fill: '#1f2430' }} tickLine={false} axisLine={false} />
        <Tooltip formatter={(v, _n, item) => [`${formatScore(Number(v), 2)} (${(item.payload as { reports: number }).reports} reports)`, 'Average']} contentStyle={tooltipStyle} />
        <Bar dataKey="value" fill={SERIES_COLORS[0]} radius={[0, 6, 6, 0]} maxBarSize={24} isAnimationActive={false}>
          <LabelList dataKey="value" position="right" formatter={(v: unknown) => formatScore(Number(v))} style={{ fill: '#1f2430', fontSize: 12, fontWeight: 600 }} />
        </Bar>
      </BarChart>
    </Figure>
  );
}

export function latencyLabel(row: { model: string; kind: string }): string {
  return `${row.kind} · ${row.model}`;
}

export function LatencyChart({ latency, metric }: { latency: AdminStats['latency']; metric: 'latency' | 'ttft' }) {
  const rows = latency.filter((l) => (metric === 'ttft' ? l.ttft_ms !== null : true));
  const data = rows.map((l) => {
    const p = metric === 'ttft' ? l.ttft_ms! : l.latency_ms;
    return { name: latencyLabel(l), p50: Math.round(p.p50), p95: Math.round(p.p95) };
  });
  const caption =
    metric === 'ttft'
      ? 'Time to first token (ms), p50 and p95, per call kind and model'
      : 'Call latency (ms), p50 and p95, per call kind and model';
  const height = Math.max(160, data.length * 52 + 40);
  return (
    <figure className="chart admin-chart" data-testid={metric === 'ttft' ? 'chart-ttft' : 'chart-latency'}>
      <figcaption className="chart__caption">{caption}</figcaption>
      <div className="chart__canvas" style={{ height }} aria-hidden="true">
        <ResponsiveContainer width="100%" height="100%">
          <BarChart data={data} layout="vertical" margin={{ top: 4, right: 24, bottom: 4, left: 8 }} barGap={2}>
            <CartesianGrid stroke={grid} horizontal={false} />
            <XAxis type="number" tick={axisTick} tickLine={false} axisLine={false} unit=" ms" />
            <YAxis type="category" dataKey="name" width={150} tick={{ ...axisTick, fill: '#1f2430', fontSize: 11 }} tickLine={false} axisLine={false} />
            <Tooltip formatter={(v, n) => [`${Number(v).toLocaleString()} ms`, String(n)]} contentStyle={tooltipStyle} />
            <Legend wrapperStyle={{ fontSize: 12, paddingTop: 6 }} />
            <Bar dataKey="p50" fill={COLORS.p50} radius={[0, 4, 4, 0]} maxBarSize={14} isAnimationActive={false} />
            <Bar dataKey="p95" fill={COLORS.p95} radius={[0, 4, 4, 0]} maxBarSize={14} isAnimationActive={false} />
          </BarChart>
        </ResponsiveContainer>
      </div>
      <div className="visually-hidden">
        <table>
          <caption>{caption}</caption>
          <thead>
            <tr>
              <th scope="col">Kind and model</th>
              <th scope="col">p50</th>
              <th scope="col">p95</th>
            </tr>
          </thead>
          <tbody>
            {data.map((d) => (
              <tr key={d.name}>
                <th scope="row">{d.name}</th>
                <td>{d.p50} ms</td>
                <td>{d.p95} ms</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </figure>
  );
}

/** Provider errors by code, over every model. */
export function errorsByCode(models: AdminStats['models']): { code: string; count: number }[] {
  const counts = new Map<string, number>();
  for (const m of models) {
    for (const [code, n] of Object.entries(m.errors_by_code)) counts.set(code, (counts.get(code) ?? 0) + n);
  }
  return [...counts.entries()].map(([code, count]) => ({ code, count })).sort((a, b) => b.count - a.count || a.code.localeCompare(b.code));
}

export function ErrorsChart({ models }: { models: AdminStats['models'] }) {
  const data = errorsByCode(models);
  const caption = 'Provider errors by kind';
  return (
    <Figure
      caption={caption}
      testId="chart-errors"
      short
      table={
        <table>
          <caption>{caption}</caption>
          <tbody>
            {data.map((d) => (
              <tr key={d.code}>
                <th scope="row">{d.code}</th>
                <td>{d.count}</td>
              </tr>
            ))}
          </tbody>
        </table>
      }
    >
      <BarChart data={data} margin={{ top: 16, right: 12, bottom: 0, left: -18 }}>
        <CartesianGrid stroke={grid} vertical={false} />
        <XAxis dataKey="code" tick={{ ...axisTick, fontSize: 11 }} tickLine={false} axisLine={{ stroke: '#dfe3e8' }} interval={0} />
        <YAxis tick={axisTick} tickLine={false} axisLine={false} allowDecimals={false} />
        <Tooltip formatter={(v) => [v, 'Errors']} contentStyle={tooltipStyle} />
        <Bar dataKey="count" fill={COLORS.errors} radius={[6, 6, 0, 0]} maxBarSize={40} isAnimationActive={false}>
          <LabelList dataKey="count" position="top" style={{ fill: '#1f2430', fontSize: 12, fontWeight: 600 }} />
        </Bar>
      </BarChart>
    </Figure>
  );
}

export function UsagePerDayChart({ days }: { days: DayStats[] }) {
  const data = days.map((d) => ({ name: dayLabel(d.day), tokensIn: d.tokens_in, tokensOut: d.tokens_out, cost: d.cost_usd }));
  const caption = 'Model tokens (bars) and cost (line) per day, by the day the interview was created';
  return (
    <Figure
      caption={caption}
      testId="chart-usage"
      table={
        <DayTable
          caption={caption}
          days={days}
          columns={[
            ['Tokens in', (d) => String(d.tokens_in)],
            ['Tokens out', (d) => String(d.tokens_out)],
            ['Cost', (d) => formatUsd(d.cost_usd)],
          ]}
        />
      }
    >
      <ComposedChart data={data} margin={{ top: 8, right: 0, bottom: 0, left: -8 }}>
        <CartesianGrid stroke={grid} vertical={false} />
        <XAxis dataKey="name" tick={axisTick} tickLine={false} axisLine={{ stroke: '#dfe3e8' }} minTickGap={16} />
        <YAxis yAxisId="tokens" tick={axisTick} tickLine={false} axisLine={false} tickFormatter={(v: number) => formatCount(v)} />
        <YAxis yAxisId="cost" orientation="right" tick={{ ...axisTick, fill: COLORS.cost }} tickLine={false} axisLine={false} width={52} tickFormatter={(v: number) => formatUsd(v)} />
        <Tooltip
          formatter={(v, n) => [n === 'cost' ? formatUsd(Number(v)) : Number(v).toLocaleString(), NAMES[String(n)] ?? n]}
          contentStyle={tooltipStyle}
        />
        {legend}
        <Bar yAxisId="tokens" dataKey="tokensIn" stackId="t" fill={COLORS.tokensIn} maxBarSize={28} isAnimationActive={false} />
        <Bar yAxisId="tokens" dataKey="tokensOut" stackId="t" fill={COLORS.tokensOut} radius={[4, 4, 0, 0]} maxBarSize={28} isAnimationActive={false} />
        <Line yAxisId="cost" type="monotone" dataKey="cost" stroke={COLORS.cost} strokeWidth={2.5} dot={false} isAnimationActive={false} />
      </ComposedChart>
    </Figure>
  );
}

export function UsersPerDayChart({ days }: { days: DayStats[] }) {
  const data = days.map((d) => ({ name: dayLabel(d.day), signups: d.signups, active: d.active_users }));
  const caption = 'Sign-ups and active users per day';
  return (
    <Figure
      caption={caption}
      testId="chart-users"
      short
      table={
        <DayTable
          caption={caption}
          days={days}
          columns={[
            ['Sign-ups', (d) => String(d.signups)],
            ['Active users', (d) => String(d.active_users)],
          ]}
        />
      }
    >
      <LineChart data={data} margin={{ top: 8, right: 12, bottom: 0, left: -18 }}>
        <CartesianGrid stroke={grid} vertical={false} />
        <XAxis dataKey="name" tick={axisTick} tickLine={false} axisLine={{ stroke: '#dfe3e8' }} minTickGap={16} />
        <YAxis tick={axisTick} tickLine={false} axisLine={false} allowDecimals={false} />
        <Tooltip formatter={(v, n) => [v, NAMES[String(n)] ?? n]} contentStyle={tooltipStyle} />
        {legend}
        <Line type="monotone" dataKey="signups" stroke={COLORS.signups} strokeWidth={2.5} dot={false} isAnimationActive={false} />
        <Line type="monotone" dataKey="active" stroke={COLORS.active} strokeWidth={2.5} dot={false} isAnimationActive={false} />
      </LineChart>
    </Figure>
  );
}
