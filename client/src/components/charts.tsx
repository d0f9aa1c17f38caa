import { useState } from 'react';
import {
  Bar,
  BarChart,
  CartesianGrid,
  Cell,
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
import type { DeliveryPoint } from '../lib/delivery';
import type { CriterionAverage, ProgressPoint } from '../lib/progress';
import { criterionLabel, seriesCriteria } from '../lib/progress';
import { formatScore, scoreBand } from '../lib/format';

export const SERIES_COLORS = ['#0f766e', '#b45309', '#7c3aed', '#be185d', '#0369a1', '#4d7c0f', '#9f1239'];
const ACCENT = '#4338ca';
const BAND_COLORS: Record<ReturnType<typeof scoreBand>, string> = {
  strong: '#15803d',
  solid: '#4338ca',
  developing: '#b45309',
  weak: '#b91c1c',
};

const axisTick = { fill: '#5b6472', fontSize: 12 };
// Each chart is drawn for the eye only (aria-hidden, with Recharts' keyboard layer off so
// nothing inside it takes focus); a visually hidden table beside it carries the same numbers.
// The tables sit in a clipped box: a table ignores the 1px width of .visually-hidden, and a
// wide one would widen the page on a phone.

/**
 * Two lines under each point of the interview axis: its number in the series ("#3", distinct
 * even for two interviews on one day) and the day.
 */
function interviewTick(days: string[]) {
  return function InterviewTick(props: { x?: number | string; y?: number | string; payload?: { value?: unknown; index?: number } }) {
    const day = days[props.payload?.index ?? -1];
    return (
      <g transform={`translate(${props.x ?? 0},${props.y ?? 0})`}>
        <text textAnchor="middle" fill={axisTick.fill} fontSize={12} fontWeight={600} dy={12}>
          {String(props.payload?.value ?? '')}
        </text>
        {day && (
          <text textAnchor="middle" fill={axisTick.fill} fontSize={11} dy={26}>
            {day}
          </text>
        )}
      </g>
    );
  };
}

const dayFormat = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short' });

/**
 * One track's overall score per interview, oldest first, with one thinner line per criterion
 * that can be switched on.
 */
export function ProgressChart({ points, caption }: { points: ProgressPoint[]; caption: string }) {
  const criteria = seriesCriteria(points);
  const [showCriteria, setShowCriteria] = useState(true);
  const data = points.map((p) => ({
    label: p.label,
    when: p.when,
    overall: p.overall,
    ...Object.fromEntries(criteria.map((c) => [c, p.criteria[c] ?? null])),
  }));
  const days = points.map((p) => dayFormat.format(p.at));
  return (
    <figure className="chart" data-testid="progress-chart">
      <div className="chart__toolbar">
        <figcaption className="chart__caption">{caption}</figcaption>
        {criteria.length > 0 && (
          <label className="switch">
            <input type="checkbox" checked={showCriteria} onChange={(e) => setShowCriteria(e.target.checked)} />
            <span>Show criteria</span>
          </label>
        )}
      </div>
      {/* The picture is for the eye; the table below says the same to a screen reader. */}
      <div className="chart__canvas chart__canvas--tall" aria-hidden="true">
        <ResponsiveContainer width="100%" height="100%">
          <LineChart data={data} margin={{ top: 8, right: 12, bottom: 0, left: -18 }} accessibilityLayer={false}>
            <CartesianGrid stroke="#eceef2" vertical={false} />
            <XAxis
              dataKey="label"
              tick={interviewTick(days)}
              height={36}
              // Room at both ends for the day under the first and the last point.
              padding={{ left: 24, right: 24 }}
              tickLine={false}
              axisLine={{ stroke: '#dfe3e8' }}
              interval="preserveStartEnd"
              minTickGap={16}
            />
            <YAxis domain={[0, 5]} ticks={[1, 2, 3, 4, 5]} tick={axisTick} tickLine={false} axisLine={false} />
            <Tooltip
              formatter={(value, name) => [formatScore(Number(value)), name === 'overall' ? 'Overall' : criterionLabel(String(name))]}
              labelFormatter={(_, payload) => {
                const row = payload?.[0]?.payload as { label?: string; when?: string } | undefined;
                return row ? `Interview ${row.label} · ${row.when}` : '';
              }}
              contentStyle={{ borderRadius: 10, border: '1px solid #e4e7ec', fontSize: 13 }}
            />
            {showCriteria && criteria.length > 0 && (
              <Legend
                formatter={(value) => (value === 'overall' ? 'Overall' : criterionLabel(String(value)))}
                wrapperStyle={{ fontSize: 12, paddingTop: 6 }}
                iconType="plainline"
                itemSorter={(item) => (item.dataKey === 'overall' ? '' : String(item.dataKey))}
              />
            )}
            {showCriteria &&
              criteria.map((c, i) => (
                <Line
                  key={c}
                  type="monotone"
                  dataKey={c}
                  stroke={SERIES_COLORS[i % SERIES_COLORS.length]}
                  strokeWidth={1.5}
                  strokeOpacity={0.75}
                  dot={{ r: 2.5, strokeWidth: 0, fill: SERIES_COLORS[i % SERIES_COLORS.length] }}
                  activeDot={{ r: 4 }}
                  connectNulls
                  isAnimationActive={false}
                />
              ))}
            <Line
              type="monotone"
              dataKey="overall"
              stroke={ACCENT}
              strokeWidth={3}
              dot={{ r: 4, fill: ACCENT, strokeWidth: 0 }}
              activeDot={{ r: 6 }}
              connectNulls
              isAnimationActive={false}
            />
          </LineChart>
        </ResponsiveContainer>
      </div>
      <div className="visually-hidden">
        <table>
          <caption>{caption}</caption>
          <thead>
            <tr>
              <th scope="col">Interview</th>
              <th scope="col">Overall</th>
              {criteria.map((c) => (
                <th scope="col" key={c}>
                  {criterionLabel(c)}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {points.map((p) => (
              <tr key={p.id}>
                <th scope="row">
                  {p.label}, {p.when}
                </th>
                <td>{formatScore(p.overall)}</td>
                {criteria.map((c) => (
                  <td key={c}>{formatScore(p.criteria[c])}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </figure>
  );
}

/** Average per criterion as horizontal bars, coloured by band. */
export function CriteriaChart({ averages }: { averages: CriterionAverage[] }) {
  const data = averages.map((a) => ({ name: criterionLabel(a.criterion), value: a.average }));
  const height = Math.max(140, data.length * 44 + 24);
  return (
    <figure className="chart">
      <div className="chart__canvas" style={{ height }} aria-hidden="true">
        <ResponsiveContainer width="100%" height="100%">
          <BarChart data={data} layout="vertical" accessibilityLayer={false} margin={{ top: 4, right: 40, bottom: 4, left: 8 }} barCategoryGap={10}>
            <CartesianGrid stroke="#eceef2" horizontal={false} />
            <XAxis type="number" domain={[0, 5]} ticks={[0, 1, 2, 3, 4, 5]} tick={axisTick} tickLine={false} axisLine={false} />
            <YAxis type="category" dataKey="name" width={96} tick={{ ...axisTick, fill: '#1f2430' }} tickLine={false} axisLine={false} />
            <Bar dataKey="value" radius={[0, 6, 6, 0]} isAnimationActive={false} maxBarSize={26}>
              {data.map((d) => (
                <Cell key={d.name} fill={BAND_COLORS[scoreBand(d.value)]} />
              ))}
              <LabelList dataKey="value" position="right" formatter={(v: unknown) => formatScore(Number(v))} style={{ fill: '#1f2430', fontSize: 12, fontWeight: 600 }} />
            </Bar>
          </BarChart>
        </ResponsiveContainer>
      </div>
      <div className="visually-hidden">
        <table>
          <caption>Average score per criterion, out of 5</caption>
          <tbody>
            {averages.map((a) => (
              <tr key={a.criterion}>
                <th scope="row">{criterionLabel(a.criterion)}</th>
                <td>{formatScore(a.average)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </figure>
  );
}

const PACE_COLOR = '#0f766e';
const FILLER_COLOR = '#b45309';
const round1 = (n: number) => Math.round(n * 10) / 10;

/** Words per minute (bars, left axis) and fillers per minute (line, right axis) per spoken answer. */
export function DeliveryChart({ points, caption }: { points: DeliveryPoint[]; caption: string }) {
  const data = points.map((p) => ({ name: p.label, wpm: Math.round(p.wordsPerMinute), fillers: round1(p.fillersPerMinute) }));
  return (
    <figure className="chart" data-testid="delivery-chart">
      <figcaption className="chart__caption">{caption}</figcaption>
      <div className="chart__canvas chart__canvas--short" aria-hidden="true">
        <ResponsiveContainer width="100%" height="100%">
          <ComposedChart data={data} margin={{ top: 8, right: 0, bottom: 0, left: -18 }} accessibilityLayer={false}>
            <CartesianGrid stroke="#eceef2" vertical={false} />
            <XAxis dataKey="name" tick={axisTick} tickLine={false} axisLine={{ stroke: '#dfe3e8' }} />
            <YAxis yAxisId="wpm" tick={{ ...axisTick, fill: PACE_COLOR }} tickLine={false} axisLine={false} allowDecimals={false} />
            <YAxis yAxisId="fillers" orientation="right" tick={{ ...axisTick, fill: FILLER_COLOR }} tickLine={false} axisLine={false} width={36} />
            <Tooltip
              formatter={(value, name) => (name === 'wpm' ? [`${value} words/min`, 'Pace'] : [`${value} a minute`, 'Fillers'])}
              contentStyle={{ borderRadius: 10, border: '1px solid #e4e7ec', fontSize: 13 }}
            />
            <Legend
              formatter={(value) => (value === 'wpm' ? 'Words per minute' : 'Fillers per minute')}
              wrapperStyle={{ fontSize: 12, paddingTop: 6 }}
              itemSorter={(item) => (item.dataKey === 'wpm' ? 'a' : 'b')}
            />
            <Bar yAxisId="wpm" dataKey="wpm" fill={PACE_COLOR} radius={[6, 6, 0, 0]} maxBarSize={36} isAnimationActive={false} />
            <Line
              yAxisId="fillers"
              type="monotone"
              dataKey="fillers"
              stroke={FILLER_COLOR}
              strokeWidth={2.5}
              dot={{ r: 4, fill: FILLER_COLOR, strokeWidth: 0 }}
              isAnimationActive={false}
            />
          </ComposedChart>
        </ResponsiveContainer>
      </div>
      <DeliveryTable points={points} caption={caption} rowHeader="Answer" />
    </figure>
  );
}

/** Pace and fillers over interviews (the dashboard), oldest first. */
export function DeliveryTrendChart({ points }: { points: DeliveryPoint[] }) {
  const data = points.map((p) => ({ name: p.label, wpm: Math.round(p.wordsPerMinute), fillers: round1(p.fillersPerMinute) }));
  const caption = 'Words and fillers per minute of speaking, per interview, oldest first';
  return (
    <figure className="chart" data-testid="delivery-trend">
      <figcaption className="chart__caption">{caption}</figcaption>
      <div className="chart__canvas chart__canvas--short" aria-hidden="true">
        <ResponsiveContainer width="100%" height="100%">
          <LineChart data={data} margin={{ top: 8, right: 0, bottom: 0, left: -18 }} accessibilityLayer={false}>
            <CartesianGrid stroke="#eceef2" vertical={false} />
            <XAxis dataKey="name" tick={axisTick} tickLine={false} axisLine={{ stroke: '#dfe3e8' }} minTickGap={12} />
            <YAxis yAxisId="wpm" tick={{ ...axisTick, fill: PACE_COLOR }} tickLine={false} axisLine={false} allowDecimals={false} />
            <YAxis yAxisId="fillers" orientation="right" tick={{ ...axisTick, fill: FILLER_COLOR }} tickLine={false} axisLine={false} width={36} />
            <Tooltip
              formatter={(value, name) => (name === 'wpm' ? [`${value} words/min`, 'Pace'] : [`${value} a minute`, 'Fillers'])}
              contentStyle={{ borderRadius: 10, border: '1px solid #e4e7ec', fontSize: 13 }}
            />
            <Legend
              formatter={(value) => (value === 'wpm' ? 'Words per minute' : 'Fillers per minute')}
              wrapperStyle={{ fontSize: 12, paddingTop: 6 }}
              iconType="plainline"
              itemSorter={(item) => (item.dataKey === 'wpm' ? 'a' : 'b')}
            />
            <Line
              yAxisId="wpm"
              type="monotone"
              dataKey="wpm"
              stroke={PACE_COLOR}
              strokeWidth={3}
              dot={{ r: 4, fill: PACE_COLOR, strokeWidth: 0 }}
              isAnimationActive={false}
            />
            <Line
              yAxisId="fillers"
              type="monotone"
              dataKey="fillers"
              stroke={FILLER_COLOR}
              strokeWidth={2}
              dot={{ r: 3, fill: FILLER_COLOR, strokeWidth: 0 }}
              isAnimationActive={false}
            />
          </LineChart>
        </ResponsiveContainer>
      </div>
      <DeliveryTable points={points} caption={caption} rowHeader="Interview" />
    </figure>
  );
}

function DeliveryTable({ points, caption, rowHeader }: { points: DeliveryPoint[]; caption: string; rowHeader: string }) {
  return (
    <div className="visually-hidden">
      <table>
        <caption>{caption}</caption>
        <thead>
          <tr>
            <th scope="col">{rowHeader}</th>
            <th scope="col">Words per minute</th>
            <th scope="col">Fillers per minute</th>
          </tr>
        </thead>
        <tbody>
          {points.map((p) => (
            <tr key={p.id}>
              <th scope="row">{p.label}</th>
              <td>{Math.round(p.wordsPerMinute)}</td>
              <td>{round1(p.fillersPerMinute)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
