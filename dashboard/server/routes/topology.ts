/**
 * GET /api/v1/topology?from&to — VMs as nodes (grouped by host and tenant), edges = VM pairs
 * that talked in [from, to) with bytes and health, `isNew` when the pair did not talk in the
 * previous period of the same length, and the migrations inside the range. Peers that are no
 * inventory VM are collapsed into the single node `external`.
 */
import { z } from 'zod';
import type { FastifyInstance } from 'fastify';
import { parse, rangeShape, resolveRange } from '../params';
import { dataBounds, iso, pairKey, pairSql, type Health, type RouteContext } from './common';
import { pairAlerts, pairHealth, pairStats, type PairStats } from './pair-stats';

const Query = z.object({ ...rangeShape }).strict();

export interface TopologyNode { id: string; name: string; host: string | null; tenant: string | null; external: boolean; migrated: boolean; bytes: number }
export interface TopologyEdge {
  source: string; target: string; bytes: number; packets: number; flows: number; isNew: boolean;
  firstSeen: string; health: Health; alert: Health | null; alerts: number;
  rttMs: number | null; lossPct: number | null;
}

const { x, y } = pairSql('a_vm', 'b_vm');
// One flow seen at several observation points is counted once (its largest count per window).
export const EDGES_SQL = `
WITH f AS (
  SELECT window_start, flow_key, ${x} AS x, ${y} AS y,
         max(bytes_ab + bytes_ba) AS bytes, max(packets_ab + packets_ba) AS packets
    FROM identified_flows
   WHERE window_start >= $1 AND window_start < $3 AND NOT (a_vm IS NULL AND b_vm IS NULL)
   GROUP BY window_start, flow_key, 3, 4)
SELECT x, y,
       sum(bytes) FILTER (WHERE window_start >= $2)::float8 AS bytes,
       sum(packets) FILTER (WHERE window_start >= $2)::float8 AS packets,
       count(DISTINCT flow_key) FILTER (WHERE window_start >= $2) AS flows,
       bool_or(window_start < $2) AS in_previous,
       min(window_start) FILTER (WHERE window_start >= $2) AS first_seen
  FROM f WHERE x <> y
 GROUP BY x, y
HAVING bool_or(window_start >= $2)`;

// Where each VM was (host at its latest flow in the range: after a migration, the new host).
const PLACES_SQL = `
SELECT DISTINCT ON (vm) vm, name, host, tenant FROM (
  SELECT a_vm AS vm, a_name AS name, a_host AS host, a_tenant AS tenant, window_start FROM identified_flows
   WHERE window_start >= $1 AND window_start < $2 AND a_vm IS NOT NULL
  UNION ALL
  SELECT b_vm, b_name, b_host, b_tenant, window_start FROM identified_flows
   WHERE window_start >= $1 AND window_start < $2 AND b_vm IS NOT NULL) t
ORDER BY vm, window_start DESC`;

// Inventory VMs known by the end of the range, idle ones included: the version valid at `to`.
const INVENTORY_SQL = `
SELECT DISTINCT ON (vm_id) vm_id AS vm, name, host, tenant FROM vm_inventory
 WHERE valid_from < $1
 ORDER BY vm_id, valid_from DESC`;

const MIGRATIONS_SQL = `
SELECT vm, vm_name, from_host, to_host, at, source FROM vm_events
 WHERE type = 'migration' AND at >= $1 AND at < $2 ORDER BY at LIMIT 500`;

export function register(app: FastifyInstance, ctx: RouteContext): void {
  app.get('/api/v1/topology', async (req) => {
    const q = parse(Query, req.query);
    await ctx.db.require('identified_flows');
    const range = resolveRange(q, (await dataBounds(ctx.db)).end);
    const span = range.to - range.from;
    const [edgeRows, places, stats, alerts] = [
      await ctx.db.rows<Record<string, unknown>>(EDGES_SQL, [iso(range.from - span), iso(range.from), iso(range.to)]),
      await ctx.db.rows<{ vm: string; name: string | null; host: string | null; tenant: string | null }>(PLACES_SQL, [iso(range.from), iso(range.to)]),
      await pairStats(ctx.db, range.from, range.to),
      await pairAlerts(ctx.db, range.from, range.to),
    ];
    const inventory = (await ctx.db.has('vm_inventory'))
      ? await ctx.db.rows<{ vm: string; name: string | null; host: string | null; tenant: string | null }>(INVENTORY_SQL, [iso(range.to)])
      : [];
    const migrations = (await ctx.db.has('vm_events'))
      ? (await ctx.db.rows<{ vm: string; vm_name: string | null; from_host: string; to_host: string; at: Date; source: string }>(
        MIGRATIONS_SQL, [iso(range.from), iso(range.to)])).map((m) => ({
        vm: m.vm, name: m.vm_name, fromHost: m.from_host, toHost: m.to_host, at: m.at.toISOString(), source: m.source }))
      : [];

    const nodes = new Map<string, TopologyNode>();
    const node = (id: string, p?: { name: string | null; host: string | null; tenant: string | null }): TopologyNode => {
      let n = nodes.get(id);
      if (!n) {
        n = { id, name: id === 'external' ? 'external peers' : (p?.name ?? id), host: p?.host ?? null, tenant: p?.tenant ?? null,
          external: id === 'external', migrated: false, bytes: 0 };
        nodes.set(id, n);
      }
      return n;
    };
    for (const p of inventory) node(p.vm, p);
    for (const p of places) Object.assign(node(p.vm, p), { name: p.name ?? p.vm, host: p.host, tenant: p.tenant });
    for (const m of migrations) if (nodes.has(m.vm)) node(m.vm).migrated = true;

    const edges: TopologyEdge[] = edgeRows.map((r) => {
      const a = String(r.x);
      const b = String(r.y);
      const s: PairStats | undefined = stats.get(pairKey(a, b));
      const al = alerts.get(pairKey(a, b));
      const bytes = Number(r.bytes);
      node(a).bytes += bytes;
      node(b).bytes += bytes;
      return {
        source: a, target: b, bytes, packets: Number(r.packets), flows: Number(r.flows), isNew: r.in_previous !== true,
        firstSeen: (r.first_seen as Date).toISOString(), health: pairHealth(s, al?.severity ?? 'unknown'),
        alert: al?.severity ?? null, alerts: al?.count ?? 0, rttMs: s?.rttMs ?? null, lossPct: s?.lossPct ?? null,
      };
    }).sort((p, q) => q.bytes - p.bytes);

    return {
      from: iso(range.from), to: iso(range.to), previousFrom: iso(range.from - span),
      nodes: [...nodes.values()].sort((p, q) => p.id.localeCompare(q.id)), edges, migrations,
    };
  });
}
