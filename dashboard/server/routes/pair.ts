/**
 * GET /api/v1/pair?a&b&from&to&step — fault diagnosis of one VM pair (`external` = the
 * collapsed non-inventory peers) on one screen: traffic per direction, RTT split at the mirror
 * into the server side (mirror -> server -> mirror) and the client side, percentiles and jitter,
 * retransmissions and loss (network vs capture), handshake failures and resets, DNS/HTTP latency
 * and the pair's alerts. Which end is the client comes from the SYN (client_is_a); for flows
 * whose handshake is outside the range the end with the higher port is taken as the client.
 */
import { z } from 'zod';
import type { FastifyInstance } from 'fastify';
import { params, parse, rangeShape, resolveRange, resolveStep, stepShape } from '../params';
import { badRequest } from '../http-error';
import { dataBounds, iso, num, type RouteContext } from './common';
import { PAIR_STAT_COLUMNS, statsFromRow } from './pair-stats';
import { diagnose } from './pair-diagnosis';

const Query = z.object({ a: params.nodeId, b: params.nodeId, ...rangeShape, ...stepShape }).strict();

// $1 from, $2 to, $3 a, $4 b, $5 step seconds. A row belongs to the pair in either orientation.
const PAIR_FLOWS = (va: string, vb: string) => `((coalesce(${va}, 'external') = $3 AND coalesce(${vb}, 'external') = $4)
   OR (coalesce(${va}, 'external') = $4 AND coalesce(${vb}, 'external') = $3))`;

export const TRAFFIC_SQL = `
SELECT time_bucket(make_interval(secs => $5), window_start, $1::timestamptz) AS t,
  sum(CASE WHEN coalesce(a_vm, 'external') = $3 THEN bytes_ab ELSE bytes_ba END)::float8 AS bytes_ab,
  sum(CASE WHEN coalesce(a_vm, 'external') = $3 THEN bytes_ba ELSE bytes_ab END)::float8 AS bytes_ba,
  sum(GREATEST(syn_count - synack_count, 0))::float8 AS unanswered_syn,
  sum(rst_count)::float8 AS resets, sum(syn_count)::float8 AS syns, count(DISTINCT flow_key) AS flows
FROM identified_flows
WHERE window_start >= $1 AND window_start < $2 AND ${PAIR_FLOWS('a_vm', 'b_vm')}
GROUP BY 1 ORDER BY 1`;

// Server side = RTT of segments sent by the client (acked by the server).
const RTT_SQL = `
WITH m AS (
  SELECT *, coalesce(bool_or(client_is_a) OVER (PARTITION BY flow_key), port_a > port_b) AS cia
    FROM flow_metrics
   WHERE window_start >= $1 AND window_start < $2 AND ${PAIR_FLOWS('vm_a', 'vm_b')})
SELECT time_bucket(make_interval(secs => $5), window_start, $1::timestamptz) AS t,
  sum(CASE WHEN cia THEN rtt_data_ab_count ELSE rtt_data_ba_count END)::float8 AS srv_n,
  sum(CASE WHEN cia THEN rtt_data_ab_count * rtt_data_ab_mean_ns ELSE rtt_data_ba_count * rtt_data_ba_mean_ns END)::float8 AS srv_sum,
  max(CASE WHEN cia THEN rtt_data_ab_p95_ns ELSE rtt_data_ba_p95_ns END)::float8 AS srv_p95,
  max(CASE WHEN cia THEN rtt_data_ab_max_ns ELSE rtt_data_ba_max_ns END)::float8 AS srv_max,
  sum(CASE WHEN cia THEN rtt_data_ba_count ELSE rtt_data_ab_count END)::float8 AS cli_n,
  sum(CASE WHEN cia THEN rtt_data_ba_count * rtt_data_ba_mean_ns ELSE rtt_data_ab_count * rtt_data_ab_mean_ns END)::float8 AS cli_sum,
  max(CASE WHEN cia THEN rtt_data_ba_p95_ns ELSE rtt_data_ab_p95_ns END)::float8 AS cli_p95,
  avg(handshake_server_ns)::float8 AS hs_srv, avg(handshake_client_ns)::float8 AS hs_cli,
  percentile_cont(0.5) WITHIN GROUP (ORDER BY coalesce(rtt_data_ab_p50_ns, 0) + coalesce(rtt_data_ba_p50_ns, 0))
    FILTER (WHERE rtt_data_ab_count > 0 OR rtt_data_ba_count > 0)::float8 AS e2e_p50,
  max(coalesce(rtt_data_ab_p95_ns, 0) + coalesce(rtt_data_ba_p95_ns, 0))::float8 AS e2e_p95,
  max(coalesce(rtt_data_ab_p99_ns, 0) + coalesce(rtt_data_ba_p99_ns, 0))::float8 AS e2e_p99,
  (sum(coalesce(rtt_data_ab_jitter_ns * rtt_data_ab_count, 0) + coalesce(rtt_data_ba_jitter_ns * rtt_data_ba_count, 0))
     / nullif(sum(coalesce(rtt_data_ab_count, 0) + coalesce(rtt_data_ba_count, 0)), 0))::float8 AS jitter,
  sum(coalesce(tcp_ab_retransmitted_segments, 0) + coalesce(tcp_ba_retransmitted_segments, 0))::float8 AS retrans,
  sum(coalesce(tcp_ab_lost_before_mirror_segments, 0) + coalesce(tcp_ba_lost_before_mirror_segments, 0))::float8 AS lost_before,
  sum(coalesce(tcp_ab_acked_unseen_gaps, 0) + coalesce(tcp_ba_acked_unseen_gaps, 0))::float8 AS capture_loss,
  sum(coalesce(tcp_ab_out_of_order_segments, 0) + coalesce(tcp_ba_out_of_order_segments, 0))::float8 AS out_of_order,
  sum(coalesce(tcp_ab_data_segments, 0) + coalesce(tcp_ba_data_segments, 0))::float8 AS segs
FROM m GROUP BY 1 ORDER BY 1`;

// The same sums as the performance view, over the whole range, for the header.
const SUMMARY_SQL = `
SELECT $3::text AS a, $4::text AS b,
${PAIR_STAT_COLUMNS}
FROM flow_metrics WHERE window_start >= $1 AND window_start < $2 AND ${PAIR_FLOWS('vm_a', 'vm_b')}`;

// DNS / HTTP answers of the pair's flows (by flow key), with their latency.
const L7_SQL = `
SELECT time_bucket(make_interval(secs => $5), ts, $1::timestamptz) AS t, kind,
  count(*) AS n, avg(latency_ns)::float8 AS avg_ns, max(latency_ns)::float8 AS max_ns,
  count(*) FILTER (WHERE dns_rcode > 0 OR http_status >= 500 OR kind IN ('DNS_UNANSWERED', 'HTTP_UNANSWERED')) AS errors
FROM l7_events
WHERE ts >= $1 AND ts < $2 AND kind IN ('DNS_RESPONSE', 'HTTP_RESPONSE', 'DNS_UNANSWERED', 'HTTP_UNANSWERED')
  AND flow_key IN (SELECT DISTINCT flow_key FROM identified_flows
                    WHERE window_start >= $1 - interval '1 hour' AND window_start < $2 AND ${PAIR_FLOWS('a_vm', 'b_vm')})
GROUP BY 1, 2 ORDER BY 1`;

const ALERTS_SQL = `
SELECT id, type, severity, state, first_seen, last_seen, summary, metric, value, baseline, threshold, acked_at
  FROM alerts
 WHERE first_seen < $2 AND last_seen >= $1 AND ${PAIR_FLOWS('vm_a', 'vm_b')}
 ORDER BY first_seen DESC LIMIT 200`;

type Row = Record<string, unknown>;
const ms = (sum: unknown, n: unknown): number | null => (Number(n) > 0 ? Number(sum) / Number(n) / 1e6 : null);
const nsMs = (v: unknown): number | null => (v === null || v === undefined || Number(v) === 0 ? null : Number(v) / 1e6);

export function register(app: FastifyInstance, ctx: RouteContext): void {
  app.get('/api/v1/pair', async (req) => {
    const q = parse(Query, req.query);
    if (q.a === q.b) throw badRequest('a and b must be two different nodes');
    await ctx.db.require('identified_flows');
    const range = resolveRange(q, (await dataBounds(ctx.db)).end);
    const step = resolveStep(range, q.step);
    const args = [iso(range.from), iso(range.to), q.a, q.b, step];
    const traffic = await ctx.db.rows<Row>(TRAFFIC_SQL, args);
    const hasMetrics = await ctx.db.has('flow_metrics');
    const rtt = hasMetrics ? await ctx.db.rows<Row>(RTT_SQL, args) : [];
    const summaryRow = hasMetrics ? await ctx.db.one<Row>(SUMMARY_SQL, args.slice(0, 4)) : undefined;
    const l7 = (await ctx.db.has('l7_events')) ? await ctx.db.rows<Row>(L7_SQL, args) : [];
    const alerts = (await ctx.db.has('alerts')) ? await ctx.db.rows<Row>(ALERTS_SQL, args.slice(0, 4)) : [];

    const summary = summaryRow && summaryRow.segs !== null
      ? statsFromRow(summaryRow as Record<string, number | string | null>, (range.to - range.from) / 1000) : null;
    const t = (r: Row) => (r.t as Date).toISOString();
    const result = {
      a: q.a, b: q.b, from: iso(range.from), to: iso(range.to), stepSeconds: step, summary,
      traffic: traffic.map((r) => ({
        t: t(r), bytesAB: Number(r.bytes_ab), bytesBA: Number(r.bytes_ba), bpsAB: Number(r.bytes_ab) / step, bpsBA: Number(r.bytes_ba) / step,
        unansweredSyn: Number(r.unanswered_syn), resets: Number(r.resets), syns: Number(r.syns), flows: Number(r.flows),
      })),
      rtt: rtt.map((r) => ({
        t: t(r), serverMs: ms(r.srv_sum, r.srv_n), clientMs: ms(r.cli_sum, r.cli_n), serverP95Ms: nsMs(r.srv_p95), serverMaxMs: nsMs(r.srv_max),
        clientP95Ms: nsMs(r.cli_p95), handshakeServerMs: nsMs(r.hs_srv), handshakeClientMs: nsMs(r.hs_cli),
        p50Ms: nsMs(r.e2e_p50), p95Ms: nsMs(r.e2e_p95), p99Ms: nsMs(r.e2e_p99), jitterMs: nsMs(r.jitter),
        samplesServer: Number(r.srv_n ?? 0), samplesClient: Number(r.cli_n ?? 0),
        retransmitted: Number(r.retrans), lostBeforeMirror: Number(r.lost_before), captureLoss: Number(r.capture_loss),
        outOfOrder: Number(r.out_of_order), dataSegments: Number(r.segs),
      })),
      l7: l7.map((r) => ({ t: t(r), kind: String(r.kind), count: Number(r.n), avgMs: nsMs(r.avg_ns), maxMs: nsMs(r.max_ns), errors: Number(r.errors) })),
      alerts: alerts.map((r) => ({
        id: r.id, type: r.type, severity: r.severity, state: r.state, firstSeen: (r.first_seen as Date).toISOString(),
        lastSeen: (r.last_seen as Date).toISOString(), summary: r.summary, metric: r.metric,
        value: num(r.value), baseline: num(r.baseline), threshold: num(r.threshold), acked: r.acked_at !== null,
      })),
    };
    return { ...result, diagnosis: diagnose(result) };
  });
}
