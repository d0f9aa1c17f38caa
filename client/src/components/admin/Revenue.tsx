/**
 * The metrics screen's revenue block: captured payments and refunds per UTC day, for the
 * screen's date range (recharts; only in the metrics chunk).
 */
import { Bar, CartesianGrid, ComposedChart, Legend, Line, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { useAdminRevenue, type Revenue } from '../../api/admin';
import { formatPaise, formatPaiseExact } from '../../lib/money';
import { ErrorState, LoadingBlock } from '../ui';
import { dayLabel } from './AdminCharts';
import { TableScroll } from './AdminUi';

const axisTick = { fill: '#5b6472', fontSize: 12 };
const tooltipStyle = { borderRadius: 10, border: '1px solid #e4e7ec', fontSize: 13 };
const COLORS = { gross: '#15803d', refunded: '#b91c1c', net: '#4338ca' };
const NAMES: Record<string, string> = { gross: 'Gross', refunded: 'Refunds', net: 'Net' };
const ORDER = Object.keys(NAMES);

const compactRupees = new Intl.NumberFormat('en-IN', {
  style: 'currency',
  currency: 'INR',
  notation: 'compact',
  maximumFractionDigits: 1,
});

function Amount({ label, paise, hint, testId }: { label: string; paise: number; hint?: string; testId: string }) {
  return (
    <div className="stat">
      <span className="stat__label">{label}</span>
      <span className="stat__value" data-testid={testId}>
        {formatPaiseExact(paise)}
      </span>
      {hint && <span className="stat__hint">{hint}</span>}
    </div>
  );
}

function RevenueChart({ revenue }: { revenue: Revenue }) {
  const data = revenue.days.map((d) => ({
    name: dayLabel(d.day),
    gross: d.gross_paise / 100,
    refunded: d.refunded_paise / 100,
    net: d.net_paise / 100,
  }));
  return (
    <figure className="chart admin-chart" data-testid="chart-revenue">
      <figcaption className="chart__caption">Gross and refunds (bars) and net (line) per day, in rupees</figcaption>
      <div className="chart__canvas" aria-hidden="true">
        <ResponsiveContainer width="100%" height="100%">
          <ComposedChart data={data} margin={{ top: 8, right: 12, bottom: 0, left: 0 }}>
            <CartesianGrid stroke="#eceef2" vertical={false} />
            <XAxis dataKey="name" tick={axisTick} tickLine={false} axisLine={{ stroke: '#dfe3e8' }} minTickGap={16} />
            <YAxis tick={axisTick} tickLine={false} axisLine={false} width={56} tickFormatter={(v: number) => compactRupees.format(v)} />
            <Tooltip
              formatter={(v, n) => [formatPaise(Math.round(Number(v) * 100)), NAMES[String(n)] ?? n]}
              contentStyle={tooltipStyle}
            />
            <Legend
              formatter={(value) => NAMES[String(value)] ?? String(value)}
              wrapperStyle={{ fontSize: 12, paddingTop: 6 }}
              itemSorter={(item) => String(ORDER.indexOf(String(item.dataKey)))}
            />
            <Bar dataKey="gross" fill={COLORS.gross} radius={[4, 4, 0, 0]} maxBarSize={24} isAnimationActive={false} />
            <Bar dataKey="refunded" fill={COLORS.refunded} radius={[4, 4, 0, 0]} maxBarSize={24} isAnimationActive={false} />
            <Line type="monotone" dataKey="net" stroke={COLORS.net} strokeWidth={2.5} dot={false} isAnimationActive={false} />
          </ComposedChart>
        </ResponsiveContainer>
      </div>
    </figure>
  );
}

function DaysTable({ revenue }: { revenue: Revenue }) {
  // Only the days something happened: a month of zero rows says nothing.
  const days = revenue.days.filter((d) => d.payments > 0 || d.refunded_paise > 0).reverse();
  if (days.length === 0) return <p className="muted card__body">No payments or refunds in this range.</p>;
  return (
    <TableScroll label="Revenue per day">
      <table className="table" data-testid="revenue-days">
        <thead>
          <tr>
            <th scope="col">Day (UTC)</th>
            <th scope="col" className="num">Payments</th>
            <th scope="col" className="num">Gross</th>
            <th scope="col" className="num">Refunds</th>
            <th scope="col" className="num">Net</th>
          </tr>
        </thead>
        <tbody>
          {days.map((d) => (
            <tr key={d.day}>
              <th scope="row" className="cell-main nowrap">
                {dayLabel(d.day)}
              </th>
              <td className="num">{d.payments}</td>
              <td className="num">{formatPaiseExact(d.gross_paise)}</td>
              <td className="num">{formatPaiseExact(d.refunded_paise)}</td>
              <td className="num">{formatPaiseExact(d.net_paise)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </TableScroll>
  );
}

/** Revenue for the metrics screen's range. */
export function RevenueBlock({ from, to }: { from: string; to: string }) {
  const query = useAdminRevenue(from, to);
  const revenue = query.data;
  return (
    <section className="card card--flush revenue" aria-labelledby="metrics-revenue-title" data-testid="metrics-revenue">
      <h2 id="metrics-revenue-title" className="card__title card__head--padded">
        Revenue
      </h2>
      {query.isPending ? (
        <div className="card__body">
          <LoadingBlock label="Loading the revenue" lines={4} />
        </div>
      ) : query.isError ? (
        <ErrorState title="Could not load the revenue" error={query.error} onRetry={() => void query.refetch()} />
      ) : revenue ? (
        <div aria-busy={query.isFetching}>
          <div className="stats admin-stats revenue__totals" aria-label="Revenue for the range">
            <div className="stat">
              <span className="stat__label">Payments</span>
              <span className="stat__value" data-testid="revenue-payments">
                {revenue.payments.toLocaleString('en-IN')}
              </span>
              <span className="stat__hint">captured</span>
            </div>
            <Amount label="Gross" paise={revenue.gross_paise} testId="revenue-gross" />
            <Amount label="Refunds" paise={revenue.refunded_paise} testId="revenue-refunds" />
            <Amount label="Net" paise={revenue.net_paise} hint="gross less refunds" testId="revenue-net" />
          </div>
          <div className="card__body">
            <RevenueChart revenue={revenue} />
          </div>
          <DaysTable revenue={revenue} />
        </div>
      ) : null}
    </section>
  );
}
