/**
 * GET /api/v1/capacity?from&to&step — per VM NIC: traffic out/in (mean over the range and the
 * busiest window), utilization against the NIC capacity from the inventory, and the series of
 * the busiest NICs; per host pair: traffic between the hosts; and the capacity_forecast alerts
 * raised by the alerting stage (their evidence holds the forecast). A NIC's load in a window is
 * the sum over its flows in that window.
 */
import { z } from 'zod';
import type { FastifyInstance } from 'fastify';
import { parse, rangeShape, resolveRange, resolveStep, stepShape } from '../params';
import { THRESHOLDS, dataBounds, iso, level, num, type RouteContext } from './common';
import { alertJson } from './alerts';

const Query = z.object({ ...rangeShape, ...stepShape }).strict();

// $1 from, $2 to. Per VM and window: bytes/s sent and received over all its flows.
const NIC_WINDOWS = `
WITH e AS (
  SELECT window_start, window_end, vm_a AS vm, nic_capacity_a_bps AS cap, throughput_ab_bps AS out_bps, throughput_ba_bps AS in_bps,
         bytes_ab AS out_bytes, bytes_ba AS in_bytes FROM flow_metrics WHERE window_start >= $1 AND window_start < $2 AND vm_a IS NOT NULL
  UNION ALL
  SELECT window_start, window_end, vm_b, nic_capacity_b_bps, throughput_ba_bps, throughput_ab_bps, bytes_ba, bytes_ab
    FROM flow_metrics WHERE window_start >= $1 AND window_start < $2 AND vm_b IS NOT NULL),
w AS (SELECT vm, window_start, max(cap) AS cap, sum(out_bps) AS out_bps, sum(in_bps) AS in_bps,
             sum(out_bytes) AS out_bytes, sum(in_bytes) AS in_bytes FROM e GROUP BY 1, 2)`;

export const NIC_SQL = `${NIC_WINDOWS}
SELECT vm, max(cap)::float8 AS cap, sum(out_bytes)::float8 AS out_bytes, sum(in_bytes)::float8 AS in_bytes,
       max(out_bps)::float8 AS out_max, max(in_bps)::float8 AS in_max, count(*) AS windows
  FROM w GROUP BY vm ORDER BY greatest(max(out_bps), max(in_bps)) DESC LIMIT 500`;

// $3 step, $4 the VMs to chart.
const NIC_SERIES_SQL = `${NIC_WINDOWS}
SELECT vm, time_bucket(make_interval(secs => $3), window_start, $1::timestamptz) AS t,
       max(GREATEST(out_bps, in_bps) * 8 / nullif(cap, 0))::float8 AS util, max(GREATEST(out_bps, in_bps))::float8 AS bps
  FROM w WHERE vm = ANY($4::text[]) GROUP BY 1, 2 ORDER BY 2`;

const HOST_PAIR_SQL = `
WITH f AS (
  SELECT DISTINCT ON (flow_key, window_start) window_start, window_end, a_host, b_host, bytes_ab + bytes_ba AS bytes
    FROM identified_flows WHERE window_start >= $1 AND window_start < $2 AND a_host IS NOT NULL AND b_host IS NOT NULL
   ORDER BY flow_key, window_start, bytes_ab + bytes_ba DESC),
w AS (SELECT LEAST(a_host, b_host) AS x, GREATEST(a_host, b_host) AS y, window_start,
             sum(bytes)::float8 / max(extract(epoch FROM window_end - window_start))::float8 AS bps, sum(bytes)::float8 AS bytes
        FROM f GROUP BY 1, 2, 3)
SELECT x, y, sum(bytes)::float8 AS bytes, max(bps)::float8 AS max_bps, count(*) AS windows FROM w GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 200`;

export function register(app: FastifyInstance, ctx: RouteContext): void {
  app.get('/api/v1/capacity', async (req) => {
    const q = parse(Query, req.query);
    await ctx.db.require('flow_metrics');
    const range = resolveRange(q, (await dataBounds(ctx.db)).end);
    const step = resolveStep(range, q.step, 60);
    const seconds = (range.to - range.from) / 1000;
    const args = [iso(range.from), iso(range.to)];
    const nicRows = await ctx.db.rows(NIC_SQL, args);
    const nics = nicRows.map((r) => {
      const cap = num(r.cap);
      const pct = (bps: number) => (cap ? (800 * bps) / cap : null);
      const outMax = Number(r.out_max); const inMax = Number(r.in_max);
      const peakPct = cap ? Math.max(pct(outMax)!, pct(inMax)!) : null;
      return {
        vm: String(r.vm), capacityBps: cap === null ? null : cap / 8, capacityBitsPerSecond: cap,
        outAvgBps: Number(r.out_bytes) / seconds, inAvgBps: Number(r.in_bytes) / seconds, outMaxBps: outMax, inMaxBps: inMax,
        outAvgPct: cap ? pct(Number(r.out_bytes) / seconds) : null, inAvgPct: cap ? pct(Number(r.in_bytes) / seconds) : null,
        peakPct, state: level(peakPct, THRESHOLDS.utilizationPct), windows: Number(r.windows),
      };
    });
    const charted = nics.slice(0, 8).map((n) => n.vm);
    const seriesRows = charted.length ? await ctx.db.rows(NIC_SERIES_SQL, [...args, step, charted]) : [];
    const series = charted.map((vm) => ({ vm, points: seriesRows.filter((r) => r.vm === vm)
      .map((r) => ({ t: (r.t as Date).toISOString(), utilizationPct: r.util === null ? null : 100 * Number(r.util), bps: Number(r.bps) })) }));
    const hostPairs = (await ctx.db.has('identified_flows'))
      ? (await ctx.db.rows(HOST_PAIR_SQL, args)).map((r) => ({ a: r.x, b: r.y, bytes: Number(r.bytes), avgBps: Number(r.bytes) / seconds, maxBps: Number(r.max_bps), windows: Number(r.windows) }))
      : [];
    const forecasts = (await ctx.db.has('alerts'))
      ? (await ctx.db.rows(`SELECT id, dedup_key, type, detector, severity, state, first_seen, last_seen, updated, summary, tenant, vm_a, vm_b,
             host(addr_a) AS addr_a, host(addr_b) AS addr_b, host_a, host_b, observation_point, metric, value, baseline, threshold, evidence,
             acked_at, acked_by, resolved_by
           FROM alerts WHERE type = 'capacity_forecast' AND state <> 'resolved' ORDER BY severity DESC, updated DESC LIMIT 200`)).map(alertJson)
      : [];
    return { from: iso(range.from), to: iso(range.to), stepSeconds: step, thresholds: THRESHOLDS, nics, series, hostPairs, forecasts };
  });
}
