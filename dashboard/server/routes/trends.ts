/**
 * GET /api/v1/trends?dimension&from&to&top&step — bytes over time by one dimension: the top N
 * keys of the range as series (the rest summed as "(other)"), and the previous period of the
 * same length, shifted onto the same buckets, for comparison. A flow seen at several
 * observation points counts once (its busiest one per window).
 */
import { z } from 'zod';
import type { FastifyInstance } from 'fastify';
import { params, parse, rangeShape, resolveRange, resolveStep, stepShape } from '../params';
import { dataBounds, iso, type RouteContext } from './common';

export const DIMENSIONS = ['src_ip', 'dst_ip', 'protocol', 'service_port', 'vm', 'pair', 'host', 'tenant'] as const;
type Dimension = (typeof DIMENSIONS)[number];

const Query = z.object({
  dimension: z.enum(DIMENSIONS, { errorMap: () => ({ message: `must be one of ${DIMENSIONS.join(', ')}` }) }).default('vm'),
  top: params.int(1, 50).optional(), ...rangeShape, ...stepShape,
}).strict();

// Per dimension: the key of the sender side and the bytes it sent, for one or both ends of a
// row of f. Constant SQL fragments: the user's choice picks one, it is never interpolated.
const PORTED = '(ip_proto IN (6, 17, 132))';
const BRANCHES: Record<Dimension, [key: string, bytes: string][]> = {
  src_ip: [['host(addr_a)', 'bytes_ab'], ['host(addr_b)', 'bytes_ba']],
  dst_ip: [['host(addr_b)', 'bytes_ab'], ['host(addr_a)', 'bytes_ba']],
  protocol: [[`CASE ip_proto WHEN 6 THEN 'tcp' WHEN 17 THEN 'udp' WHEN 1 THEN 'icmp' WHEN 58 THEN 'icmpv6' WHEN 132 THEN 'sctp' ELSE 'ip/' || ip_proto END`, 'bytes_ab + bytes_ba']],
  service_port: [[`CASE WHEN ${PORTED} THEN (CASE ip_proto WHEN 6 THEN 'tcp/' WHEN 17 THEN 'udp/' ELSE 'sctp/' END) || LEAST(port_a, port_b) ELSE 'no port' END`, 'bytes_ab + bytes_ba']],
  vm: [[`coalesce(a_vm, 'external')`, 'bytes_ab'], [`coalesce(b_vm, 'external')`, 'bytes_ba']],
  pair: [[`LEAST(coalesce(a_vm, 'external'), coalesce(b_vm, 'external')) || ' ↔ ' || GREATEST(coalesce(a_vm, 'external'), coalesce(b_vm, 'external'))`, 'bytes_ab + bytes_ba']],
  host: [[`coalesce(a_host, 'external')`, 'bytes_ab'], [`coalesce(b_host, 'external')`, 'bytes_ba']],
  tenant: [[`coalesce(a_tenant, CASE WHEN a_vm IS NULL THEN 'external' ELSE 'no tenant' END)`, 'bytes_ab'],
    [`coalesce(b_tenant, CASE WHEN b_vm IS NULL THEN 'external' ELSE 'no tenant' END)`, 'bytes_ba']],
};

// $1 previous-period start, $2 from, $3 to, $4 top, $5 step seconds.
export function trendsSql(d: Dimension): string {
  const branches = BRANCHES[d].map(([k, b]) => `SELECT window_start, ${k} AS k, ${b} AS bytes FROM f`).join(' UNION ALL ');
  return `
WITH f AS (
  SELECT DISTINCT ON (flow_key, window_start) * FROM identified_flows
   WHERE window_start >= $1 AND window_start < $3
   ORDER BY flow_key, window_start, bytes_ab + bytes_ba DESC),
s AS (${branches}),
top AS (SELECT k FROM s WHERE window_start >= $2 GROUP BY k ORDER BY sum(bytes) DESC, k LIMIT $4)
SELECT time_bucket(make_interval(secs => $5), CASE WHEN window_start < $2 THEN window_start + ($2::timestamptz - $1::timestamptz) ELSE window_start END, $2::timestamptz) AS t,
       CASE WHEN window_start < $2 THEN '(previous period)' WHEN k IN (SELECT k FROM top) THEN k ELSE '(other)' END AS key,
       sum(bytes)::float8 AS bytes
  FROM s GROUP BY 1, 2 ORDER BY 1, 2`;
}

export function register(app: FastifyInstance, ctx: RouteContext): void {
  app.get('/api/v1/trends', async (req) => {
    const q = parse(Query, req.query);
    await ctx.db.require('identified_flows');
    const range = resolveRange(q, (await dataBounds(ctx.db)).end);
    const step = resolveStep(range, q.step);
    const top = q.top ?? 8;
    const span = range.to - range.from;
    const rows = await ctx.db.rows<{ t: Date; key: string; bytes: number }>(trendsSql(q.dimension),
      [iso(range.from - span), iso(range.from), iso(range.to), top, step]);
    const buckets: string[] = [];
    for (let t = range.from; t < range.to; t += step * 1000) buckets.push(iso(t)); // time_bucket's origin is `from`
    const series = new Map<string, number[]>();
    const index = new Map(buckets.map((b, i) => [b, i]));
    for (const r of rows) {
      const i = index.get(r.t.toISOString());
      if (i === undefined) continue;
      let s = series.get(r.key);
      if (!s) { s = new Array(buckets.length).fill(0); series.set(r.key, s); }
      s[i] += Number(r.bytes) / step;
    }
    const previous = series.get('(previous period)') ?? new Array(buckets.length).fill(0);
    series.delete('(previous period)');
    const totals = [...series.entries()].map(([key, v]) => ({ key, bytes: v.reduce((a, b) => a + b, 0) * step }));
    totals.sort((p, q2) => (p.key === '(other)' ? 1 : q2.key === '(other)' ? -1 : q2.bytes - p.bytes));
    return {
      dimension: q.dimension, from: iso(range.from), to: iso(range.to), stepSeconds: step, unit: 'bytes/s', buckets,
      series: totals.map((t) => ({ key: t.key, totalBytes: t.bytes, bytesPerSecond: series.get(t.key)! })),
      previous: { from: iso(range.from - span), to: iso(range.from), totalBytes: previous.reduce((a, b) => a + b, 0) * step, bytesPerSecond: previous },
    };
  });
}
