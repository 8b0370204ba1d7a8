/**
 * GET /api/v1/performance?from&to&sort&order&limit — the performance dashboard: RTT
 * (avg / max / ΔRTT against the previous period), throughput (avg / max / utilization) and
 * loss (avg / max against the threshold) as cards with their threshold state, and the per-pair
 * table (sortable by any numeric column).
 */
import { z } from 'zod';
import type { FastifyInstance } from 'fastify';
import { params, parse, rangeShape, resolveRange } from '../params';
import { THRESHOLDS, dataBounds, iso, level, type RouteContext } from './common';
import { pairAlerts, pairHealth, pairStats, type PairStats } from './pair-stats';

const SORTS = ['bytes', 'avgBps', 'maxBps', 'rttMs', 'rttMaxMs', 'rttP95Ms', 'jitterMs', 'lossPct', 'retransmitted', 'utilizationPct'] as const;
const Query = z.object({
  ...rangeShape,
  sort: z.enum(SORTS, { errorMap: () => ({ message: `must be one of ${SORTS.join(', ')}` }) }).default('bytes'),
  order: z.enum(['asc', 'desc'], { errorMap: () => ({ message: 'must be asc or desc' }) }).default('desc'),
  limit: params.int(1, 1000).optional(),
}).strict();

function aggregate(stats: PairStats[], seconds: number) {
  const withRtt = stats.filter((s) => s.rttMs !== null);
  const segs = stats.reduce((a, s) => a + s.dataSegments, 0);
  const lost = stats.reduce((a, s) => a + s.retransmitted + s.lostBeforeMirror, 0);
  const bytes = stats.reduce((a, s) => a + s.bytes, 0);
  const max = (xs: (number | null)[]) => { const v = xs.filter((x): x is number => x !== null); return v.length ? Math.max(...v) : null; };
  return {
    rttAvgMs: withRtt.length ? withRtt.reduce((a, s) => a + s.rttMs!, 0) / withRtt.length : null,
    rttMaxMs: max(stats.map((s) => s.rttMaxMs ?? s.rttMs)),
    avgBps: bytes / seconds,
    maxBps: max(stats.map((s) => s.maxBps)),
    utilizationMaxPct: max(stats.map((s) => s.utilizationPct)),
    lossAvgPct: segs > 0 ? (100 * lost) / segs : null,
    lossMaxPct: max(stats.map((s) => s.lossPct)),
  };
}

export function register(app: FastifyInstance, ctx: RouteContext): void {
  app.get('/api/v1/performance', async (req) => {
    const q = parse(Query, req.query);
    await ctx.db.require('flow_metrics');
    const range = resolveRange(q, (await dataBounds(ctx.db)).end);
    const span = range.to - range.from;
    const cur = [...(await pairStats(ctx.db, range.from, range.to)).values()];
    const prev = [...(await pairStats(ctx.db, range.from - span, range.from)).values()];
    const alerts = await pairAlerts(ctx.db, range.from, range.to);
    const now = aggregate(cur, span / 1000);
    const before = aggregate(prev, span / 1000);
    const deltaRtt = now.rttAvgMs !== null && before.rttAvgMs !== null ? now.rttAvgMs - before.rttAvgMs : null;
    const rows = cur.map((s) => {
      const al = alerts.get(`${s.a}|${s.b}`);
      return { ...s, alerts: al?.count ?? 0, health: pairHealth(s, al?.severity ?? 'unknown') };
    });
    const dir = q.order === 'asc' ? 1 : -1;
    rows.sort((p, r) => {
      const x = p[q.sort]; const y = r[q.sort];
      if (x === null && y === null) return 0;
      if (x === null) return 1; // unknown values last in both orders
      if (y === null) return -1;
      return dir * (x - y) || p.a.localeCompare(r.a) || p.b.localeCompare(r.b);
    });
    return {
      from: iso(range.from), to: iso(range.to), thresholds: THRESHOLDS,
      cards: {
        rtt: { avgMs: now.rttAvgMs, maxMs: now.rttMaxMs, deltaMs: deltaRtt, previousAvgMs: before.rttAvgMs,
          state: level(now.rttMaxMs, THRESHOLDS.rttMs), threshold: THRESHOLDS.rttMs },
        throughput: { avgBps: now.avgBps, maxBps: now.maxBps, utilizationMaxPct: now.utilizationMaxPct,
          state: level(now.utilizationMaxPct, THRESHOLDS.utilizationPct), threshold: THRESHOLDS.utilizationPct },
        loss: { avgPct: now.lossAvgPct, maxPct: now.lossMaxPct, state: level(now.lossMaxPct, THRESHOLDS.lossPct), threshold: THRESHOLDS.lossPct },
      },
      pairs: rows.slice(0, q.limit ?? 200), totalPairs: rows.length,
    };
  });
}
