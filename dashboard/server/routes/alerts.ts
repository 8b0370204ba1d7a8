/**
 * Anomaly events.
 *   GET  /api/v1/alerts?state&severity&type&vm&from&to&sort&order&limit&offset  list (viewer)
 *   GET  /api/v1/alerts/:id?step                                              detail + evidence (viewer)
 *   POST /api/v1/alerts/:id/ack | /resolve                                    operator only
 * Ack and resolve write only the dashboard's columns (acked_at, acked_by, resolved_by) and the
 * state; the sink never overwrites the first three, and a later detector state for the same
 * occurrence may re-open it (the condition is back), which is what an operator wants to see.
 */
import { z } from 'zod';
import type { FastifyInstance } from 'fastify';
import { params, parse, rangeShape, resolveRange, resolveStep, stepShape } from '../params';
import { notFound } from '../http-error';
import { dataBounds, iso, num, type RouteContext } from './common';
import { evidenceSeries } from './alert-evidence';

export const ALERT_TYPES = ['traffic_burst', 'new_pair', 'port_scan', 'host_sweep', 'syn_flood', 'icmp_flood', 'connection_failures',
  'dns_nxdomain_burst', 'dns_tunnel_suspect', 'rtt_threshold', 'jitter_threshold', 'loss_threshold', 'utilization_threshold',
  'capture_drops', 'capacity_forecast'] as const;
const oneOf = <T extends [string, ...string[]]>(v: T) => z.enum(v, { errorMap: () => ({ message: `must be one of ${v.join(', ')}` }) });

const SORT_SQL = {
  first_seen: 'first_seen', last_seen: 'last_seen', updated: 'updated', type: 'type', state: 'state',
  severity: "CASE severity WHEN 'critical' THEN 3 WHEN 'warning' THEN 2 ELSE 1 END",
} as const;

const ListQuery = z.object({
  state: oneOf(['open', 'updated', 'resolved', 'active']).optional(),
  severity: oneOf(['info', 'warning', 'critical']).optional(),
  type: oneOf([...ALERT_TYPES]).optional(),
  vm: params.nodeId.optional(),
  ...rangeShape,
  sort: oneOf(Object.keys(SORT_SQL) as [keyof typeof SORT_SQL, ...(keyof typeof SORT_SQL)[]]).default('last_seen'),
  order: oneOf(['asc', 'desc']).default('desc'),
  limit: params.int(1, 1000).optional(),
  offset: params.int(0, 1_000_000).optional(),
}).strict();

const IdParams = z.object({ id: z.string().min(1, 'is empty').max(500, 'is too long') }).strict();
const DetailQuery = z.object({ ...stepShape }).strict();
const NoQuery = z.object({}).strict();

const COLUMNS = `id, dedup_key, type, detector, severity, state, first_seen, last_seen, updated, summary, tenant, vm_a, vm_b,
  host(addr_a) AS addr_a, host(addr_b) AS addr_b, host_a, host_b, observation_point, metric, value, baseline, threshold, evidence,
  acked_at, acked_by, resolved_by`;

// Filters are bound parameters; a NULL parameter disables its filter.
const FILTER = `first_seen < $2 AND last_seen >= $1
  AND ($3::text IS NULL OR ($3 = 'active' AND state <> 'resolved') OR state = $3)
  AND ($4::text IS NULL OR severity = $4) AND ($5::text IS NULL OR type = $5)
  AND ($6::text IS NULL OR vm_a = $6 OR vm_b = $6 OR ($6 = 'external' AND (vm_a IS NULL OR vm_b IS NULL)))`;

export function alertJson(r: Record<string, unknown>) {
  const t = (v: unknown) => (v instanceof Date ? v.toISOString() : null);
  return {
    id: r.id, dedupKey: r.dedup_key, type: r.type, detector: r.detector, severity: r.severity, state: r.state,
    firstSeen: t(r.first_seen), lastSeen: t(r.last_seen), updated: t(r.updated), summary: r.summary, tenant: r.tenant,
    vmA: r.vm_a, vmB: r.vm_b, addrA: r.addr_a, addrB: r.addr_b, hostA: r.host_a, hostB: r.host_b, observationPoint: r.observation_point,
    metric: r.metric, value: num(r.value), baseline: num(r.baseline), threshold: num(r.threshold), evidence: r.evidence ?? {},
    ackedAt: t(r.acked_at), ackedBy: r.acked_by ?? null, resolvedBy: r.resolved_by ?? null,
  };
}

export function register(app: FastifyInstance, ctx: RouteContext): void {
  app.get('/api/v1/alerts', async (req) => {
    const q = parse(ListQuery, req.query);
    await ctx.db.require('alerts');
    const range = resolveRange(q, (await dataBounds(ctx.db)).end, 31 * 24 * 3600_000 - 1);
    const args = [iso(range.from), iso(range.to), q.state ?? null, q.severity ?? null, q.type ?? null, q.vm ?? null];
    const limit = q.limit ?? 200;
    const rows = await ctx.db.rows(
      `SELECT ${COLUMNS}, count(*) OVER () AS total FROM alerts WHERE ${FILTER}
        ORDER BY ${SORT_SQL[q.sort]} ${q.order === 'asc' ? 'ASC' : 'DESC'}, id LIMIT $7 OFFSET $8`,
      [...args, limit, q.offset ?? 0]);
    // past the last page the window count has no row to ride on: count on its own
    const total = rows.length ? Number(rows[0].total)
      : (q.offset ?? 0) > 0 ? Number((await ctx.db.rows(`SELECT count(*) AS total FROM alerts WHERE ${FILTER}`, args))[0].total) : 0;
    return { from: iso(range.from), to: iso(range.to), total, alerts: rows.map(alertJson) };
  });

  app.get('/api/v1/alerts/:id', async (req) => {
    const { id } = parse(IdParams, req.params);
    const q = parse(DetailQuery, req.query);
    await ctx.db.require('alerts');
    const row = await ctx.db.one(`SELECT ${COLUMNS} FROM alerts WHERE id = $1 ORDER BY updated DESC LIMIT 1`, [id]);
    if (!row) throw notFound(`no alert ${id}`);
    const alert = alertJson(row);
    const states = (await ctx.db.has('alert_states'))
      ? (await ctx.db.rows(`SELECT state, severity, updated, value, baseline, threshold, summary FROM alert_states WHERE id = $1 ORDER BY updated LIMIT 1000`, [id]))
        .map((s) => ({ state: s.state, severity: s.severity, updated: (s.updated as Date).toISOString(), value: num(s.value),
          baseline: num(s.baseline), threshold: num(s.threshold), summary: s.summary }))
      : [];
    // The evidence window: the occurrence with a margin of its own length (at least 10 min) on each side.
    const first = Date.parse(alert.firstSeen!); const last = Date.parse(alert.lastSeen!);
    const margin = Math.max(last - first, 600_000);
    const range = { from: first - margin, to: Math.min(last + margin, first + 30 * 86_400_000) };
    const evidence = await evidenceSeries(ctx.db, alert, range, resolveStep(range, q.step, 150));
    return { alert, states, evidence };
  });

  for (const action of ['ack', 'resolve'] as const) {
    app.post(`/api/v1/alerts/:id/${action}`, { config: { role: 'operator' } }, async (req) => {
      const { id } = parse(IdParams, req.params);
      parse(NoQuery, req.query);
      await ctx.db.require('alerts');
      const who = req.principal!.name;
      const sql = action === 'ack'
        ? `UPDATE alerts SET acked_at = coalesce(acked_at, now()), acked_by = coalesce(acked_by, $2) WHERE id = $1 RETURNING ${COLUMNS}`
        : `UPDATE alerts SET state = 'resolved', resolved_by = $2, acked_at = coalesce(acked_at, now()), acked_by = coalesce(acked_by, $2)
            WHERE id = $1 RETURNING ${COLUMNS}`;
      const rows = await ctx.db.rows(sql, [id, who]);
      if (rows.length === 0) throw notFound(`no alert ${id}`);
      const alert = alertJson(rows[0]);
      ctx.live.publish({ event: 'alert', data: { id: alert.id, state: alert.state, severity: alert.severity, ackedAt: alert.ackedAt, ackedBy: alert.ackedBy, resolvedBy: alert.resolvedBy } });
      return { alert };
    });
  }
}
