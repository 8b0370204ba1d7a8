/**
 * The evidence chart of an alert: the measured series of its subject (the pair vm_a/vm_b, or
 * the one VM) around the occurrence, next to the alert's baseline and threshold. The metric name
 * chooses the series; a metric the dashboard does not know shows the alert's own states only.
 */
import type { Db } from '../db';
import type { Range } from '../params';
import { iso } from './common';
import type { alertJson } from './alerts';

type Alert = ReturnType<typeof alertJson>;
export interface Evidence {
  metric: string | null; unit: string | null; source: string | null; from: string; to: string; stepSeconds: number;
  points: { t: string; value: number | null }[];
  /** Multiply the alert's value/baseline/threshold by this to get the series' unit (ns -> ms, ratio -> %). */
  alertScale: number;
}

export function alertScale(metric: string | null, unit: string | null): number {
  if (!metric || !unit) return 1;
  if (unit === 'ms' && /_ns$/.test(metric)) return 1e-6;
  if (unit === 'ms' && /_us$/.test(metric)) return 1e-3;
  if (unit === '%' && !/pct|percent/i.test(metric)) return 100;
  return 1;
}

// $1 from, $2 to, $3 step seconds, $4 vm a, $5 vm b (null = any peer of a)
const SUBJECT = (va: string, vb: string) => `(($5::text IS NULL AND (coalesce(${va}, 'external') = $4 OR coalesce(${vb}, 'external') = $4))
  OR (coalesce(${va}, 'external') = $4 AND coalesce(${vb}, 'external') = $5) OR (coalesce(${va}, 'external') = $5 AND coalesce(${vb}, 'external') = $4))`;
const BUCKET = (col: string) => `time_bucket(make_interval(secs => $3), ${col}, $1::timestamptz)`;

const SERIES: { match: RegExp; unit: string; table: string; source: string; scale: number; sql: string }[] = [
  { match: /byte|throughput|traffic|bps/i, unit: 'bytes/s', table: 'identified_flows', source: 'identified_flows bytes per second', scale: 1,
    sql: `SELECT ${BUCKET('window_start')} AS t, sum(bytes_ab + bytes_ba)::float8 / $3 AS v FROM identified_flows
           WHERE window_start >= $1 AND window_start < $2 AND ${SUBJECT('a_vm', 'b_vm')} GROUP BY 1 ORDER BY 1` },
  { match: /jitter/i, unit: 'ms', table: 'flow_metrics', source: 'flow_metrics data RTT jitter', scale: 1e-6,
    sql: `SELECT ${BUCKET('window_start')} AS t, (sum(coalesce(rtt_data_ab_jitter_ns * rtt_data_ab_count, 0) + coalesce(rtt_data_ba_jitter_ns * rtt_data_ba_count, 0))
           / nullif(sum(coalesce(rtt_data_ab_count, 0) + coalesce(rtt_data_ba_count, 0)), 0))::float8 AS v FROM flow_metrics
           WHERE window_start >= $1 AND window_start < $2 AND ${SUBJECT('vm_a', 'vm_b')} GROUP BY 1 ORDER BY 1` },
  { match: /rtt|latency|handshake/i, unit: 'ms', table: 'flow_metrics', source: 'flow_metrics p95 RTT (both sides)', scale: 1e-6,
    sql: `SELECT ${BUCKET('window_start')} AS t, max(coalesce(rtt_data_ab_p95_ns, 0) + coalesce(rtt_data_ba_p95_ns, 0))::float8 AS v FROM flow_metrics
           WHERE window_start >= $1 AND window_start < $2 AND ${SUBJECT('vm_a', 'vm_b')} GROUP BY 1 ORDER BY 1` },
  { match: /loss|retrans/i, unit: '%', table: 'flow_metrics', source: 'flow_metrics retransmitted + lost before mirror / data segments', scale: 100,
    sql: `SELECT ${BUCKET('window_start')} AS t, (sum(coalesce(tcp_ab_retransmitted_segments, 0) + coalesce(tcp_ba_retransmitted_segments, 0)
             + coalesce(tcp_ab_lost_before_mirror_segments, 0) + coalesce(tcp_ba_lost_before_mirror_segments, 0))::float8
           / nullif(sum(coalesce(tcp_ab_data_segments, 0) + coalesce(tcp_ba_data_segments, 0)), 0))::float8 AS v FROM flow_metrics
           WHERE window_start >= $1 AND window_start < $2 AND ${SUBJECT('vm_a', 'vm_b')} GROUP BY 1 ORDER BY 1` },
  { match: /util/i, unit: '%', table: 'flow_metrics', source: 'flow_metrics NIC utilization (window mean, highest end)', scale: 100,
    sql: `SELECT ${BUCKET('window_start')} AS t, max(GREATEST(utilization_a_out, utilization_a_in, utilization_b_out, utilization_b_in))::float8 AS v FROM flow_metrics
           WHERE window_start >= $1 AND window_start < $2 AND ${SUBJECT('vm_a', 'vm_b')} GROUP BY 1 ORDER BY 1` },
];

export async function evidenceSeries(db: Db, alert: Alert, range: Range, step: number): Promise<Evidence> {
  const metric = typeof alert.metric === 'string' ? alert.metric : null;
  const vmA = (alert.vmA as string | null) ?? null;
  const vmB = (alert.vmB as string | null) ?? null;
  const spec = metric ? SERIES.find((s) => s.match.test(metric)) : undefined;
  if (!spec || (vmA === null && vmB === null) || !(await db.has(spec.table))) return { metric, unit: null, source: null, from: iso(range.from), to: iso(range.to), stepSeconds: step, points: [], alertScale: 1 };
  const a = vmA ?? 'external';
  const b = vmA === null ? null : vmB;
  const rows = await db.rows<{ t: Date; v: number | null }>(spec.sql, [iso(range.from), iso(range.to), step, a, b]);
  return { metric, unit: spec.unit, source: spec.source, from: iso(range.from), to: iso(range.to), stepSeconds: step, alertScale: alertScale(metric, spec.unit), points: rows.map((r) => ({ t: r.t.toISOString(), value: r.v === null ? null : Number(r.v) * spec.scale })) };
}
