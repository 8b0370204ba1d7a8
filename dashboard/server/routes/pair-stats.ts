/**
 * Per-pair network performance over a range, from flow_metrics (one row per flow, observation
 * point and window). Shared by the topology (edge colour), the performance view and the pair
 * drill-down header so that all three agree.
 *
 * RTT: an 'ab' data RTT covers mirror -> B -> mirror and a 'ba' one mirror -> A -> mirror, so
 * the end-to-end RTT of a pair is the sum of the two sides' means (when only one side has
 * samples, the TCP handshake total or the ICMP echo stands in). Loss = (retransmitted + lost
 * before the mirror) / data segments; capture loss (acked_unseen_gaps) is reported apart
 * because it is the sensor's, not the network's.
 */
import type { Db } from '../db';
import { THRESHOLDS, level, pairKey, pairSql, worst, type Health, iso } from './common';

export interface PairStats {
  a: string; b: string;
  bytes: number; avgBps: number; maxBps: number;
  rttMs: number | null; rttMaxMs: number | null; rttP95Ms: number | null; jitterMs: number | null;
  lossPct: number | null; retransmitted: number; lostBeforeMirror: number; captureLoss: number; dataSegments: number;
  utilizationPct: number | null;
  rttState: Health; lossState: Health; utilizationState: Health;
}

const { x, y } = pairSql('vm_a', 'vm_b');

// Sums per pair; ns columns become ms in JS. The weighted means need count * mean summed.
// Shared by the performance table (per pair) and the pair view's header (one pair, whole range).
export const PAIR_STAT_COLUMNS = `
  sum(bytes_ab + bytes_ba)::float8 AS bytes,
  max(throughput_ab_bps + throughput_ba_bps)::float8 AS max_bps,
  sum(rtt_data_ab_count)::float8 AS ab_n, sum(rtt_data_ab_count * rtt_data_ab_mean_ns)::float8 AS ab_sum,
  sum(rtt_data_ba_count)::float8 AS ba_n, sum(rtt_data_ba_count * rtt_data_ba_mean_ns)::float8 AS ba_sum,
  max(coalesce(rtt_data_ab_max_ns, 0) + coalesce(rtt_data_ba_max_ns, 0))::float8 AS max_ns,
  max(coalesce(rtt_data_ab_p95_ns, 0) + coalesce(rtt_data_ba_p95_ns, 0))::float8 AS p95_ns,
  avg(handshake_total_ns)::float8 AS hs_ns,
  sum(rtt_icmp_echo_count)::float8 AS icmp_n, sum(rtt_icmp_echo_count * rtt_icmp_echo_mean_ns)::float8 AS icmp_sum,
  (sum(coalesce(rtt_data_ab_jitter_ns * rtt_data_ab_count, 0) + coalesce(rtt_data_ba_jitter_ns * rtt_data_ba_count, 0))
     / nullif(sum(coalesce(rtt_data_ab_count, 0) + coalesce(rtt_data_ba_count, 0)), 0))::float8 AS jitter_ns,
  sum(coalesce(tcp_ab_data_segments, 0) + coalesce(tcp_ba_data_segments, 0))::float8 AS segs,
  sum(coalesce(tcp_ab_retransmitted_segments, 0) + coalesce(tcp_ba_retransmitted_segments, 0))::float8 AS retrans,
  sum(coalesce(tcp_ab_lost_before_mirror_segments, 0) + coalesce(tcp_ba_lost_before_mirror_segments, 0))::float8 AS lost_before,
  sum(coalesce(tcp_ab_acked_unseen_gaps, 0) + coalesce(tcp_ba_acked_unseen_gaps, 0))::float8 AS capture_loss,
  max(GREATEST(utilization_a_out, utilization_a_in, utilization_b_out, utilization_b_in))::float8 AS util`;

export const PAIR_STATS_SQL = `
SELECT ${x} AS a, ${y} AS b,
${PAIR_STAT_COLUMNS}
FROM flow_metrics
WHERE window_start >= $1 AND window_start < $2 AND NOT (vm_a IS NULL AND vm_b IS NULL)
GROUP BY 1, 2`;

type Row = Record<string, number | string | null>;
const n = (v: number | string | null): number => (v === null ? 0 : Number(v));

export function statsFromRow(r: Row, rangeSeconds: number): PairStats {
  const side = (s: number | string | null, c: number | string | null) => (n(c) > 0 ? n(s) / n(c) / 1e6 : null);
  const ab = side(r.ab_sum, r.ab_n);
  const ba = side(r.ba_sum, r.ba_n);
  const icmp = side(r.icmp_sum, r.icmp_n);
  const hs = r.hs_ns === null ? null : n(r.hs_ns) / 1e6;
  const rttMs = ab !== null && ba !== null ? ab + ba : (hs ?? icmp ?? ab ?? ba);
  const segs = n(r.segs);
  const lossPct = segs > 0 ? (100 * (n(r.retrans) + n(r.lost_before))) / segs : null;
  const utilizationPct = r.util === null ? null : 100 * n(r.util);
  const bytes = n(r.bytes);
  return {
    a: String(r.a), b: String(r.b), bytes, avgBps: bytes / rangeSeconds, maxBps: n(r.max_bps),
    rttMs, rttMaxMs: n(r.max_ns) > 0 ? n(r.max_ns) / 1e6 : null, rttP95Ms: n(r.p95_ns) > 0 ? n(r.p95_ns) / 1e6 : null,
    jitterMs: r.jitter_ns === null ? null : n(r.jitter_ns) / 1e6,
    lossPct, retransmitted: n(r.retrans), lostBeforeMirror: n(r.lost_before), captureLoss: n(r.capture_loss), dataSegments: segs,
    utilizationPct,
    rttState: level(rttMs, THRESHOLDS.rttMs), lossState: level(lossPct, THRESHOLDS.lossPct),
    utilizationState: level(utilizationPct, THRESHOLDS.utilizationPct),
  };
}

export async function pairStats(db: Db, from: number, to: number): Promise<Map<string, PairStats>> {
  const out = new Map<string, PairStats>();
  if (!(await db.has('flow_metrics'))) return out;
  const rows = await db.rows<Row>(PAIR_STATS_SQL, [iso(from), iso(to)]);
  for (const r of rows) {
    const s = statsFromRow(r, (to - from) / 1000);
    out.set(pairKey(s.a, s.b), s);
  }
  return out;
}

export function pairHealth(s: PairStats | undefined, alert: Health): Health {
  return worst(s?.rttState ?? 'unknown', s?.lossState ?? 'unknown', alert);
}

/** Worst open alert per pair (by vm_a/vm_b) whose activity overlaps the range. */
export async function pairAlerts(db: Db, from: number, to: number): Promise<Map<string, { severity: Health; count: number }>> {
  const out = new Map<string, { severity: Health; count: number }>();
  if (!(await db.has('alerts'))) return out;
  const p = pairSql('vm_a', 'vm_b');
  const rows = await db.rows<{ a: string; b: string; sev: number; n: string }>(
    `SELECT ${p.x} AS a, ${p.y} AS b, max(CASE severity WHEN 'critical' THEN 3 WHEN 'warning' THEN 2 ELSE 1 END) AS sev, count(*) AS n
       FROM alerts
      WHERE state <> 'resolved' AND first_seen < $2 AND last_seen >= $1 AND (vm_a IS NOT NULL OR vm_b IS NOT NULL)
      GROUP BY 1, 2`, [iso(from), iso(to)]);
  for (const r of rows) {
    // an info alert marks the edge (ok) without colouring it as a problem
    out.set(pairKey(r.a, r.b), { severity: r.sev >= 3 ? 'critical' : r.sev === 2 ? 'warning' : 'ok', count: Number(r.n) });
  }
  return out;
}
