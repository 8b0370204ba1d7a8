/**
 * GET /api/v1/health (public: liveness only, no data) and GET /api/v1/meta (who am I, the data's
 * time range, which storage tables exist, the health thresholds) for the page's header.
 */
import { z } from 'zod';
import type { FastifyInstance } from 'fastify';
import { parse } from '../params';
import { THRESHOLDS, dataBounds, iso, type RouteContext } from './common';

const NoQuery = z.object({}).strict();
const TABLES = ['flow_windows', 'identified_flows', 'flow_metrics', 'l7_events', 'alerts', 'alert_states', 'vm_inventory', 'vm_events', 'rollups', 'path_loss'];

export function register(app: FastifyInstance, ctx: RouteContext): void {
  app.get('/api/v1/health', { config: { role: 'public' } }, async () => ({ ok: true }));

  app.get('/api/v1/meta', async (req) => {
    parse(NoQuery, req.query);
    const b = await dataBounds(ctx.db);
    const tables: Record<string, boolean> = {};
    for (const t of TABLES) tables[t] = await ctx.db.has(t);
    return {
      role: req.principal!.role, principal: req.principal!.name,
      data: { start: b.start === null ? null : iso(b.start), end: b.end === null ? null : iso(b.end) },
      tables, thresholds: THRESHOLDS,
    };
  });
}
